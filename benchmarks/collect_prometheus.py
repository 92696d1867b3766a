"""Live collection from a real Prometheus: costscope vs curl fetching the same API responses.

Builds (once, cached in benchmarks/.cache/) a TSDB block of N series (default 1,000,000) with
``promtool tsdb create-blocks-from openmetrics``, starts Debian's Prometheus on it on 127.0.0.1,
then, R times each, alternating:

- ``costscope scrape URL`` (concurrency 4): wall time and peak RSS (GNU time's %M);
- the baseline: ``curl`` fetching exactly the requests costscope makes (metric names, metadata,
  one ``/api/v1/series`` per metric, the scrape-stat queries), 4 at a time with ``xargs -P 4``,
  bodies to /dev/null, with ``--compressed`` because costscope (httpx) asks for gzip too, so
  both receive the same bytes; plain curl (uncompressed, less work for the server) is printed
  beside it.

Prints the medians and the ratio costscope/curl. Targets: ratio <= 2, peak RSS <= 1 GiB.

Then, being a good citizen: one more collection through a loopback proxy (tests/faults.py, no
faults) that counts requests in flight and per second, while a probe times another client's
``up`` query every 100 ms — against the same probe with the server idle. Targets: in flight <=
the configured concurrency; the probe's p99 stays bounded.

Usage: python benchmarks/collect_prometheus.py [--series N] [--runs R]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import servers  # noqa: E402
from tests.faults import fault_proxy  # noqa: E402
from tests.synthetic import fleet_lines, ground_truth  # noqa: E402

T0 = 1_762_000_000  # the block's one sample per series: a fixed time, so the cache stays valid
LOOKBACK = "4000d"
CONCURRENCY = 4


def build_block(series: int, cache: Path) -> Path:
    data = cache / f"tsdb-{series}"
    if (data / ".complete").exists():
        return data
    data.mkdir(parents=True, exist_ok=True)
    om = cache / f"fleet-{series}.om"
    with om.open("w", encoding="utf-8") as fh:
        for line in fleet_lines(series):
            if not line.startswith("#"):  # OpenMetrics would want counters named x_total_total
                fh.write(f"{line} {T0}\n")
        fh.write("# EOF\n")
    started = time.perf_counter()
    subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(om), str(data)],
        check=True,
        capture_output=True,
    )
    print(f"promtool backfill of {series:,} series: {time.perf_counter() - started:.1f}s")
    om.unlink()
    (data / ".complete").touch()
    return data


def run_costscope(url: str, workdir: Path) -> tuple[float, int, int]:
    cfg = workdir / "costscope.yaml"
    cfg.write_text(
        f"sources:\n  - name: bench\n    url: {url}\n    lookback: {LOOKBACK}\n    concurrency: {CONCURRENCY}\n"
    )
    db = workdir / "bench.duckdb"
    db.unlink(missing_ok=True)
    started = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "%M", sys.executable, "-m", "costscope", "scrape", "--config", str(cfg),
         "--db", str(db), "-q"],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    rss_kib = int(proc.stderr.strip().splitlines()[-1])
    import duckdb

    conn = duckdb.connect(str(db), read_only=True)
    (series,) = conn.execute(
        "SELECT sum(series) FROM metric_meta WHERE metric LIKE 'app_requests_%'"
    ).fetchall()[0]
    conn.close()
    return wall, rss_kib, int(series)


def curl_urls(url: str, names: list[str]) -> list[str]:
    end = time.time()
    window = f"start={end - 4000 * 86400:.3f}&end={end:.3f}"
    urls = [f"{url}/api/v1/status/buildinfo", f"{url}/api/v1/status/tsdb",
            f"{url}/api/v1/label/__name__/values?{window}", f"{url}/api/v1/metadata"]  # fmt: skip
    for name in names:
        selector = quote('{__name__="' + name + '"}')
        urls.append(f"{url}/api/v1/series?match[]={selector}&{window}")
    for q in ("scrape_samples_scraped", "scrape_series_added"):
        urls.append(f"{url}/api/v1/query?query={q}&time={end:.3f}")
    urls.append(f"{url}/api/v1/targets?state=active")
    return urls


def run_curl(urls: list[str], workdir: Path, compressed: bool = True) -> float:
    listing = workdir / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")
    flag = "--compressed" if compressed else ""
    started = time.perf_counter()
    subprocess.run(
        f"xargs -P {CONCURRENCY} -n 1 curl -s -g -o /dev/null --fail {flag} < {listing}",
        shell=True,
        check=True,
    )
    return time.perf_counter() - started


def _probe(url: str, stop: threading.Event, out: list[float]) -> None:
    with httpx.Client(timeout=30) as client:
        while not stop.is_set():
            t = time.perf_counter()
            client.get(url + "/api/v1/query", params={"query": "up"})
            out.append((time.perf_counter() - t) * 1000)
            stop.wait(0.1)


def good_citizen(url: str, workdir: Path) -> str:
    """Concurrency and request rate seen by the server, and another client's latency meanwhile."""
    idle: list[float] = []
    stop = threading.Event()
    probe = threading.Thread(target=_probe, args=(url, stop, idle))
    probe.start()
    time.sleep(3)
    stop.set()
    probe.join()
    busy: list[float] = []
    with fault_proxy(url) as (proxied, proxy):
        stop = threading.Event()
        probe = threading.Thread(target=_probe, args=(url, stop, busy))
        probe.start()
        wall, peak, _ = run_costscope(proxied, workdir)
        stop.set()
        probe.join()
    times = sorted(t for t, _ in proxy.requests)
    per_second = max(
        (sum(1 for u in times if t <= u < t + 1) for t in times), default=0
    )  # the busiest one-second window

    def pct(xs: list[float], q: float) -> float:
        return sorted(xs)[min(len(xs) - 1, int(q * len(xs)))] if xs else 0.0

    return (
        f"good citizen: {len(times):,} requests in {wall:.1f}s, at most {proxy.max_in_flight} in flight"
        f" (configured {CONCURRENCY}), busiest second {per_second} requests; another client's query:"
        f" p50 {pct(idle, 0.5):.1f} ms / p99 {pct(idle, 0.99):.1f} ms idle, p50 {pct(busy, 0.5):.1f} ms /"
        f" p99 {pct(busy, 0.99):.1f} ms during collection; peak RSS through the proxy {peak / 1024:.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cache = Path(__file__).resolve().parent / ".cache"
    data = build_block(args.series, cache)
    expected = sum(ground_truth(args.series).values())
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        prom_dir = workdir / "prom"
        prom_dir.mkdir()
        with servers.prometheus(prom_dir, data_dir=data) as prom:
            names = httpx.get(prom.url + "/api/v1/label/__name__/values", timeout=120).json()["data"]
            urls = curl_urls(prom.url, names)
            run_curl(urls, workdir)  # warm the server's caches once for both
            ours, rss, curls, plain = [], [], [], []
            for _ in range(args.runs):
                wall, peak, series = run_costscope(prom.url, workdir)
                assert series == expected, (series, expected)
                ours.append(wall)
                rss.append(peak)
                curls.append(run_curl(urls, workdir))
                plain.append(run_curl(urls, workdir, compressed=False))
            citizen = good_citizen(prom.url, workdir)
    o, c, p = statistics.median(ours), statistics.median(curls), statistics.median(plain)
    print(f"series: {expected:,} in {len(names)} metrics; runs: {args.runs}")
    print(f"costscope scrape:        median {o:.2f}s (runs {', '.join(f'{x:.2f}' for x in ours)})")
    print(f"curl --compressed:       median {c:.2f}s (runs {', '.join(f'{x:.2f}' for x in curls)})")
    print(f"curl (no compression):   median {p:.2f}s (runs {', '.join(f'{x:.2f}' for x in plain)})")
    print(f"ratio costscope/curl --compressed: {o / c:.2f} (target <= 2); vs uncompressed curl: {o / p:.2f}")
    print(f"costscope peak RSS: {max(rss) / 1024:.0f} MiB (target <= 1024)")
    print(citizen)


if __name__ == "__main__":
    main()
