"""Counting inside the backend vs pulling every series, on a real VictoriaMetrics 1.79 (or Prometheus 2.42).

Loads N generated series (default 1,000,000: ``tests.synthetic.fleet_lines``, 100 metrics of
10,000 series with ``path``, ``status``, ``pod`` and a unique ``user_id``) into Debian's
VictoriaMetrics on 127.0.0.1, then R times each, alternating, ``costscope scrape URL`` with
``--collect series`` and ``--collect counts``: wall time and costscope's peak RSS (GNU time %M),
and the backend's CPU seconds (its /proc stat). One more run of each through a counting loopback
proxy gives the bytes received and the requests sent. Both modes' label economics are compared
row by row afterwards: the 50 largest metrics and every label drop of them must be equal.

Targets (docs/scale.md): counts peak RSS <= 300 MiB, >= 50x fewer bytes, wall time no worse than
series mode, top-50 metrics and their drops identical.

``--backend prometheus``: Debian's Prometheus 2.42 on a TSDB block of the same series written by
``promtool`` (cached in benchmarks/.cache/ as by collect_prometheus.py; one sample per series at a
fixed time, so both modes read with a lookback reaching it). Prometheus has no cardinality API:
PromQL counts every figure there.

Usage: python benchmarks/counts.py [--series N] [--runs R] [--backend victoriametrics|prometheus] [--lookback 10m]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from costscope.store import Store  # noqa: E402
from tests import servers  # noqa: E402
from tests.faults import fault_proxy  # noqa: E402
from tests.synthetic import fleet_lines  # noqa: E402

CHUNK = 200_000


def load(vm: servers.Server, series: int) -> None:
    ts = int((time.time() - 300) * 1000)  # older than -search.latencyOffset
    batch: list[str] = []
    for line in fleet_lines(series):
        if line.startswith("#"):
            continue
        batch.append(f"{line} {ts}")
        if len(batch) >= CHUNK:
            httpx.post(vm.url + "/api/v1/import/prometheus", content="\n".join(batch).encode(), timeout=600)
            batch = []
    if batch:
        httpx.post(vm.url + "/api/v1/import/prometheus", content="\n".join(batch).encode(), timeout=600)
    httpx.get(vm.url + "/internal/force_flush", timeout=600)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def scrape(url: str, mode: str, db: Path, workdir: Path, lookback: str = "1h") -> tuple[float, int]:
    cfg = workdir / f"{mode}.yaml"
    cfg.write_text(
        f"sources:\n  - name: vm\n    url: {url}\n    collect: {mode}\n    concurrency: 4\n    lookback: {lookback}\n"
    )
    db.unlink(missing_ok=True)
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", sys.executable, "-m", "costscope", "scrape", "-q", "-c", str(cfg),
         "--db", str(db)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"costscope scrape --collect {mode} failed:\n{done.stderr[-2000:]}")
    return wall, int(done.stderr.strip().splitlines()[-1])


def economics(db: Path) -> tuple[list[tuple[str, int]], set[tuple[str, str, int | None]]]:
    from costscope.analyze.metrics import label_drops, top_metrics
    from costscope.pricing import cost_model

    model = cost_model("grafana-cloud")
    with Store.open(db, read_only=True) as store:
        top = top_metrics(store, 1, model).sort(["series", "metric"], descending=[True, False]).head(50)
        drops = label_drops(store, 1, model).filter(pl_in(top["metric"].to_list()))
        return list(top.select("metric", "series").iter_rows()), set(
            drops.select("metric", "label", "series_after").iter_rows()
        )


def pl_in(metrics: list[str]):  # type: ignore[no-untyped-def]
    import polars as pl

    return pl.col("metric").is_in(metrics)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", choices=("victoriametrics", "prometheus"), default="victoriametrics")
    # the samples are 5 minutes old when the runs start; a window within one UTC day lets VM's TSDB
    # status answer. Runs over 10M series take longer than 10 minutes: give them a longer window.
    parser.add_argument("--lookback", default="10m")
    args = parser.parse_args()
    lookback = args.lookback
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        work = Path(tmp)
        if args.backend == "prometheus":
            from benchmarks.collect_prometheus import LOOKBACK, build_block

            data = build_block(args.series, Path(__file__).resolve().parent / ".cache")
            prom_dir = work / "prom"
            prom_dir.mkdir()
            vm = stack.enter_context(servers.prometheus(prom_dir, data_dir=data))
            lookback = LOOKBACK
            print(f"Prometheus 2.42 on a promtool block of {args.series:,} series")
        else:
            vm = stack.enter_context(servers.victoria_metrics(work, cache=True))  # as deployed: cache on
            started = time.perf_counter()
            load(vm, args.series)
            print(
                f"loaded {args.series:,} series into VictoriaMetrics in {time.perf_counter() - started:.1f}s"
            )
        figures: dict[str, dict[str, list[float]]] = {
            m: {"wall": [], "rss": [], "cpu": []} for m in ("series", "counts")
        }
        for _ in range(args.runs):
            for mode in ("series", "counts"):
                before = cpu_seconds(vm.process.pid)
                wall, rss = scrape(vm.url, mode, work / f"{mode}.duckdb", work, lookback)
                figures[mode]["wall"].append(wall)
                figures[mode]["rss"].append(rss / 1024)
                figures[mode]["cpu"].append(cpu_seconds(vm.process.pid) - before)
        wire: dict[str, tuple[int, int]] = {}
        for mode in ("series", "counts"):
            with fault_proxy(vm.url) as (proxied, proxy):
                scrape(proxied, mode, work / f"wire-{mode}.duckdb", work, lookback)
                wire[mode] = (proxy.bytes_sent, len(proxy.requests))
        queries = Store.open(work / "counts.duckdb", read_only=True)
        with queries as s:
            run = s.query("SELECT queries, seconds, slowest::VARCHAR AS slowest FROM count_runs").row(
                0, named=True
            )
        med = {m: {k: statistics.median(v) for k, v in f.items()} for m, f in figures.items()}
        for mode in ("series", "counts"):
            m = med[mode]
            print(
                f"{mode:>6}: wall {m['wall']:.1f}s, costscope peak RSS {m['rss']:.0f} MiB,"
                f" backend CPU {m['cpu']:.1f}s, {wire[mode][0] / 1e6:.1f} MB received in {wire[mode][1]:,} requests"
                f" (medians of {args.runs})"
            )
        print(
            f"counts: {run['queries']:,} queries (PromQL and cardinality API), {run['seconds']:.1f}s of query time in all"
        )
        for q in json.loads(run["slowest"]):
            print(f"  slowest {q['seconds']:.2f}s {q['query'][:110]}")
        print(
            f"ratios counts/series: wall {med['counts']['wall'] / med['series']['wall']:.2f}"
            f" (target <= 1), bytes 1/{wire['series'][0] / max(wire['counts'][0], 1):.0f} (target >= 50),"
            f" peak RSS {med['counts']['rss']:.0f} MiB (target <= 300)"
        )
        top_s, drops_s = economics(work / "series.duckdb")
        top_c, drops_c = economics(work / "counts.duckdb")
        same = top_s == top_c and drops_s == drops_c
        print(f"top-50 metrics and their {len(drops_s)} label drops identical: {same}")


if __name__ == "__main__":
    main()
