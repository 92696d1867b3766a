"""Exposition parse throughput: costscope's parser vs prometheus_client's, in the same process.

Inputs: the kube-apiserver and node_exporter scrapes from ../shared/fixtures (skipped when
absent) and a synthetic file of N series (default
1,000,000) with high-cardinality labels, generated once into benchmarks/.cache/.

Prints per input: samples, median seconds of each parser over the runs (after one untimed run,
and at least enough runs to take 0.3 s for a small input), samples/s, and the ratio (prometheus_client time / costscope
time). Target: ratio >= 10.

Usage: python benchmarks/parse_exposition.py [--series N] [--runs R]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from costscope.sources.exposition import ExpositionParser

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "fixtures" / "prometheus_exposition"


def synthetic(path: Path, series: int) -> Path:
    """A /metrics-like file of ``series`` series: user_id, path and pod explode cardinality."""
    if path.exists():
        return path
    rng = random.Random(7)
    path.parent.mkdir(parents=True, exist_ok=True)
    per_metric = 10_000
    with path.open("w", encoding="utf-8") as fh:
        for m in range((series + per_metric - 1) // per_metric):
            name = f"app_requests_{m:03d}_total"
            fh.write(f"# HELP {name} Requests.\n# TYPE {name} counter\n")
            for i in range(min(per_metric, series - m * per_metric)):
                fh.write(
                    f'{name}{{method="GET",path="/api/v1/items/{i % 500}",status="{200 + i % 5}",'
                    f'pod="app-{i % 97:02d}-{rng.getrandbits(24):06x}",user_id="u{i:06d}"}} {i}\n'
                )
    return path


def ours(text: str) -> int:
    return sum(c.samples.height for c in ExpositionParser("bench").chunks(text.split("\n")))


def reference(text: str) -> int:
    return sum(len(f.samples) for f in text_string_to_metric_families(text))


MIN_TIMED_S = 0.3  # a parse of a few milliseconds is timed this long, so that noise averages out


def median_seconds(fn: Callable[[str], int], text: str, runs: int) -> tuple[int, float]:
    times, n = [], 0
    if runs > 1:
        # one untimed run: first-call costs (caches, lazy imports) are no parse rate; it also
        # says how many runs make MIN_TIMED_S (timeit's autorange, at most 200 runs)
        started = time.perf_counter()
        fn(text)
        once = time.perf_counter() - started
        runs = max(runs, min(200, int(MIN_TIMED_S / max(once, 1e-6))))
    for _ in range(runs):
        started = time.perf_counter()
        n = fn(text)
        times.append(time.perf_counter() - started)
    return n, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    inputs = [
        SHARED / "k8s_v1.35_minikube_nri-kubernetes" / "kube-apiserver.prom",
        SHARED / "node_exporter" / "e2e-output.txt",
        SHARED / "k8s_v1.35_minikube_nri-kubernetes" / "kube-state-metrics.prom",
        synthetic(HERE / ".cache" / f"synthetic-{args.series}.prom", args.series),
    ]
    print(
        f"{'input':32} {'samples':>9} {'costscope s':>12} {'client s':>10} {'costscope/s':>12} {'ratio':>6}"
    )
    for path in inputs:
        if not path.exists():
            print(f"{path.name:32} skipped (not found)")
            continue
        text = path.read_text(encoding="utf-8")
        runs = args.runs if len(text) < 50_000_000 else max(1, args.runs // 2)
        n, ours_s = median_seconds(ours, text, runs)
        n_ref, ref_s = median_seconds(reference, text, max(1, runs if n < 200_000 else 1))
        assert n == n_ref, (path, n, n_ref)
        print(
            f"{path.name:32} {n:>9,} {ours_s:>12.3f} {ref_s:>10.3f} {n / ours_s:>12,.0f} {ref_s / ours_s:>6.1f}"
        )


if __name__ == "__main__":
    main()
