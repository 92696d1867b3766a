"""Query logs: a ~1 GB Prometheus query log (≈3M runs, realistic repetition) read into usage.

A generated ``query_log_file`` (JSON lines exactly as Prometheus 2.42 writes them) with
``--distinct`` queries run with a Zipf-like popularity (a few dashboards' queries run all day, a long
tail of ad-hoc ones), ``--lines`` runs in all, over 30 days by 200 queriers. Measured, in a fresh
process each (peak RSS is that process's):

1. ``costscope``: ``read_query_log`` (chunks folded into one row per distinct query) then every
   distinct query parsed once into usage rows (``refs_frame``). Target: ≤ 60 s, bounded memory.
2. the baseline, a plain loop: ``json.loads`` per line and a dict of counts, queriers and last run
   per query (what a script written to answer "what is queried" does), then the same parsing.

The ratio baseline / costscope is printed; the distinct queries parsed equal the distinct queries.

Usage: python benchmarks/query_log.py [--lines N] [--distinct N] [--runs R]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"

_METRICS = [f"svc{i}_requests_total" for i in range(300)] + [
    f"svc{i}_latency_seconds_bucket" for i in range(100)
]
_SHAPES = (
    "sum by (route) (rate({m}[5m]))",
    'sum by (status, instance) (rate({m}{{job="{j}"}}[1m]))',
    "histogram_quantile(0.99, sum by (le) (rate({m}[5m])))",
    "topk(10, sum by (pod) (rate({m}[5m])))",
    '{m}{{job="{j}", route=~"/api/.*"}}',
)


def _queries(n: int) -> list[str]:
    rng = random.Random(11)
    out = []
    for i in range(n):
        shape = _SHAPES[i % len(_SHAPES)]
        out.append(
            shape.format(m=rng.choice(_METRICS), j=f"job{rng.randrange(40)}") + f" > {i % 97}" * (i % 3 == 0)
        )
    return out


def generate(path: Path, lines: int, distinct: int) -> None:
    """The query log: runs drawn with popularity ~ 1/rank, timestamps over 30 days."""
    rng = random.Random(5)
    queries = _queries(distinct)
    weights = [1.0 / (r + 1) for r in range(distinct)]
    start = 1_792_195_200.0  # 2026-10-17
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        batch = 100_000
        for base in range(0, lines, batch):
            n = min(batch, lines - base)
            picks = rng.choices(queries, weights, k=n)
            rows = []
            for k, q in enumerate(picks):
                at = start + (base + k) * (30 * 86_400 / lines)
                ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int(at * 1000) % 1000:03d}Z"
                doc = {
                    "httpRequest": {"clientIP": f"10.1.0.{rng.randrange(200)}",
                                    "method": "GET", "path": "/api/v1/query_range"},
                    "params": {"end": ts, "query": q, "start": ts, "step": 15},
                    "spanID": "0000000000000000",
                    "stats": {"timings": {"evalTotalTime": 0.0123, "resultSortTime": 0, "queryPreparationTime": 0.0004,
                                          "innerEvalTime": 0.011, "execQueueTime": 0.00002, "execTotalTime": 0.0125},
                              "samples": {"totalQueryableSamples": 12000, "peakSamples": 480}},
                    "ts": ts,
                }  # fmt: skip
                rows.append(json.dumps(doc, separators=(",", ":")))
            out.write("\n".join(rows) + "\n")


def _ours(path: Path) -> dict[str, float]:
    from costscope.sources.query_logs import read_query_log
    from costscope.sources.usage import Query, refs_frame

    t0 = time.perf_counter()
    log = read_query_log(path)
    t1 = time.perf_counter()
    queries = [
        Query("query", r["query"], None, str(path), r["query"], uses=r["uses"], clients=tuple(r["clients"]))
        for r in log.queries.iter_rows(named=True)
    ]
    refs, problems = refs_frame("bench", queries, [])
    t2 = time.perf_counter()
    return {"read_s": t1 - t0, "parse_s": t2 - t1, "entries": log.entries, "distinct": log.queries.height,
            "parsed": len(queries), "refs": refs.height, "problems": problems.height}  # fmt: skip


def _baseline(path: Path) -> dict[str, float]:
    from costscope.sources.usage import Query, refs_frame

    t0 = time.perf_counter()
    runs: dict[str, int] = {}
    clients: dict[str, set[str]] = {}
    last: dict[str, str] = {}
    entries = 0
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            q = doc.get("params", {}).get("query")
            if not q:
                continue
            entries += 1
            runs[q] = runs.get(q, 0) + 1
            clients.setdefault(q, set()).add((doc.get("httpRequest") or {}).get("clientIP", ""))
            last[q] = max(last.get(q, ""), doc.get("ts", ""))
    t1 = time.perf_counter()
    queries = [Query("query", q, None, str(path), q, uses=n) for q, n in runs.items()]
    refs_frame("bench", queries, [])
    t2 = time.perf_counter()
    return {
        "read_s": t1 - t0,
        "parse_s": t2 - t1,
        "entries": entries,
        "distinct": len(runs),
        "parsed": len(queries),
    }


def _child(which: str, path: str) -> None:
    result = (_ours if which == "ours" else _baseline)(Path(path))
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def _run(which: str, path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", which, str(path)], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=3_000_000)
    ap.add_argument("--distinct", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(*args.child)
        return
    path = CACHE / f"query-{args.lines}-{args.distinct}.log"
    if not path.exists():
        t = time.perf_counter()
        generate(path, args.lines, args.distinct)
        print(f"generated {path.name}: {path.stat().st_size / 1e9:.2f} GB in {time.perf_counter() - t:.0f} s")
    print(
        f"== {args.lines:,} runs of {args.distinct:,} queries, {path.stat().st_size / 1e9:.2f} GB; median of {args.runs}"
    )
    ours = [_run("ours", path) for _ in range(args.runs)]
    base = [_run("baseline", path) for _ in range(args.runs)]
    total = [r["read_s"] + r["parse_s"] for r in ours]
    btotal = [r["read_s"] + r["parse_s"] for r in base]
    o = ours[0]
    assert o["entries"] == base[0]["entries"] and o["distinct"] == base[0]["distinct"] == o["parsed"]
    print(f"  costscope: {statistics.median(total):.1f} s (read {statistics.median(r['read_s'] for r in ours):.1f} s,"
          f" parse {statistics.median(r['parse_s'] for r in ours):.1f} s), peak RSS"
          f" {statistics.median(r['peak_rss_mib'] for r in ours):.0f} MiB; target <= 60 s")  # fmt: skip
    print(
        f"  plain loop: {statistics.median(btotal):.1f} s, peak RSS {statistics.median(r['peak_rss_mib'] for r in base):.0f} MiB"
    )
    print(f"  ratio {statistics.median(btotal) / statistics.median(total):.1f}x; {o['entries']:,} runs,"
          f" {o['distinct']:,} distinct queries each parsed once ({o['refs']:,} usage rows, {o['problems']} problems)")  # fmt: skip


if __name__ == "__main__":
    main()
