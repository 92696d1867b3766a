"""Full metric analysis vs ``promtool tsdb analyze`` on the same series, and its scaling.

For N series (default: 1,000,000, then 10,000,000 with --scale) of the synthetic fleet
(tests/synthetic.py: user_id, path, pod and status labels):

1. ingest: ``costscope scrape`` of the exposition into a fresh database (time and peak RSS);
2. analysis: ``costscope.run.analyze_snapshot`` — ranking, every metric × label drop saving
   (exact), risky-label detection, histograms, recommendations — in a fresh process, R times:
   median wall time and peak RSS;
3. baseline (at 1M, when the cached TSDB block of collect_prometheus.py exists or can be built):
   ``promtool tsdb analyze`` on a TSDB block of the same series, R times, median.

Targets: analysis faster than promtool at 1M; at 10M peak RSS <= 4 GiB and time growing no
worse than linearly (10M time <= 10 x 1M time).

Usage: python benchmarks/analyze_metrics.py [--series N ...] [--runs R]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.collect_prometheus import build_block  # noqa: E402
from tests.synthetic import write_fleet  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".cache"
ANALYZE = """
import sys
from costscope.pricing import cost_model
from costscope.store import Store
from costscope.run import analyze_snapshot
with Store.open(sys.argv[1], read_only=True) as store:
    a = analyze_snapshot(store, 1, cost_model())
    print(a.total_series, a.label_drops.height, a.recommendations.height)
"""


def timed(argv: list[str]) -> tuple[float, int, str]:
    started = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    return wall, int(proc.stderr.strip().splitlines()[-1]), proc.stdout


def bench(series: int, runs: int, workdir: Path) -> dict[str, float]:
    exposition = write_fleet(CACHE / f"fleet-{series}.prom", series)
    db = workdir / f"a-{series}.duckdb"
    wall, rss, _ = timed(
        [sys.executable, "-m", "costscope", "scrape", str(exposition), "--db", str(db), "-q"]
    )
    print(f"[{series:,}] ingest (parse + store): {wall:.1f}s, peak RSS {rss / 1024:.0f} MiB")
    walls, peaks = [], []
    for _ in range(runs):
        wall, rss, out = timed([sys.executable, "-c", ANALYZE, str(db)])
        walls.append(wall)
        peaks.append(rss)
    total, drops, recs = out.split()
    assert int(total) == series, (total, series)
    result = {"analyze": statistics.median(walls), "rss_mib": max(peaks) / 1024}
    print(
        f"[{series:,}] analysis: median {result['analyze']:.1f}s (runs {', '.join(f'{w:.1f}' for w in walls)}),"
        f" peak RSS {result['rss_mib']:.0f} MiB; {drops} metric x label savings, {recs} recommendations"
    )
    return result


def promtool_baseline(series: int, runs: int) -> float | None:
    data = build_block(series, CACHE)
    walls = []
    for _ in range(runs):
        wall, _, _ = timed(["promtool", "tsdb", "analyze", str(data)])
        walls.append(wall)
    median = statistics.median(walls)
    print(
        f"[{series:,}] promtool tsdb analyze: median {median:.1f}s (runs {', '.join(f'{w:.1f}' for w in walls)})"
    )
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(dir=CACHE.parent if CACHE.exists() else None) as tmp:
        for n in args.series:
            results[n] = bench(n, args.runs, Path(tmp))
    base = min(args.series)
    promtool = promtool_baseline(base, args.runs)
    if promtool:
        print(f"ratio promtool/costscope at {base:,}: {promtool / results[base]['analyze']:.2f} (target > 1)")
    for n in args.series:
        if n != base:
            growth = results[n]["analyze"] / results[base]["analyze"]
            print(
                f"time {n:,} / {base:,}: {growth:.1f}x for {n / base:.0f}x the series (target <= {n / base:.0f})"
            )


if __name__ == "__main__":
    main()
