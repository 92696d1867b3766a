"""Sampling simulation: N spans (default 10,000,000; ~1M traces) × 6 policies, against a per-trace loop.

The traffic: traces of 4 to 16 spans (mean 10) across 12 services, 2% errors, 1% slow. The six
policies: head 10% and 1% (consistent), tail sampling (errors + slow + 5%), Refinery rules (errors
+ slow, 1 in 20), Refinery dynamic (goal 1 in 10), Jaeger per-operation strategies.

costscope: ``simulate`` — decisions, kept volume and money, error/slow traces kept, and RED
(rate, error rate, p50/p95/p99 per service × operation with HT intervals) for every policy.
Baseline: ``sampling_reference.py``, a straightforward per-trace Python loop computing the same
results (tests/simulate/test_reference.py checks that they are equal): traces grouped with a dict,
each trace's facts once, then per policy the decisions, kept volume and RED with HT variances.
It is timed on a slice (``--loop-traces``) and scaled linearly, which flatters it (its sorts grow
faster than linearly); converting the spans to Python rows is not counted. Targets: <= 30 s for
all six, >= 20× the loop. Prints wall time, peak RSS and the ratio.

Also printed: the cost of one more policy (the six-policy run minus the one-policy run, per
policy) against the loop's per-policy time, since preparing the spans is paid once per comparison.

Usage: python benchmarks/sampling.py [--spans N] [--loop-traces N]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
from sampling_reference import reference

from costscope.pricing import cost_model
from costscope.simulate.engine import simulate
from costscope.simulate.policies import Policy

SERVICES = [f"svc-{i:02d}" for i in range(12)]
OPS = [f"op-{i}" for i in range(8)]

POLICIES = [
    Policy("head-10%", "probabilistic", {"sampling_percentage": 10}),
    Policy("head-1%", "probabilistic", {"sampling_percentage": 1}),
    Policy("tail", "tail_sampling", {"policies": [
        {"name": "e", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}},
        {"name": "s", "type": "latency", "latency": {"threshold_ms": 1000}},
        {"name": "p", "type": "probabilistic", "probabilistic": {"sampling_percentage": 5}}]}),
    Policy("rules", "refinery_rules", {"rules": [
        {"name": "e", "sample_rate": 1, "conditions": [{"field": "error", "operator": "=", "value": True}]},
        {"name": "s", "sample_rate": 1, "conditions": [{"field": "duration_ms", "operator": ">=", "value": 1000}]},
        {"name": "rest", "sample_rate": 20}]}),
    Policy("dynamic", "refinery_dynamic", {"goal_sample_rate": 10, "field_list": ["service.name", "name"]}),
    Policy("jaeger", "jaeger", {"default_strategy": {"type": "probabilistic", "param": 0.05},
                                "service_strategies": [{"service": "svc-00", "type": "probabilistic", "param": 0.2}]}),
]  # fmt: skip


def generate(n_spans: int, seed: int = 11) -> pl.DataFrame:
    """Spans of ~n_spans / 10 traces, columnar (numpy → polars), in seconds."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(4, 17, n_spans // 10 + 1)
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), n_spans) + 1]
    n_traces = len(sizes)
    trace_idx = np.repeat(np.arange(n_traces), sizes)[:n_spans]
    pos = np.arange(len(trace_idx)) - np.repeat(np.cumsum(sizes) - sizes, sizes)[:n_spans]
    ids = np.array(
        [
            f"{a:016x}{b:016x}"
            for a, b in zip(
                rng.integers(0, 2**63, n_traces).tolist(),
                rng.integers(0, 2**63, n_traces).tolist(),
                strict=True,
            )
        ]
    )
    err = rng.random(n_traces) < 0.02
    slow = rng.random(n_traces) < 0.01
    start = 1_764_064_800 * 10**9 + rng.integers(0, 3600 * 10**9, n_traces)
    dur = rng.gamma(2.0, 20.0, len(trace_idx)) + np.where(slow[trace_idx] & (pos == 0), 1500.0, 0.0)
    df = pl.DataFrame(
        {
            "t": trace_idx, "pos": pos, "trace_id": ids[trace_idx],
            "service": np.array(SERVICES)[rng.integers(0, 12, len(trace_idx))],
            "operation": np.array(OPS)[rng.integers(0, 8, len(trace_idx))],
            "err": err[trace_idx] & (pos == 0), "start": start[trace_idx] + pos * 1000, "dur_ms": dur,
        }
    )  # fmt: skip
    return df.select(
        "trace_id",
        (pl.col("t").cast(pl.String) + "-" + pl.col("pos").cast(pl.String)).alias("span_id"),
        pl.when(pl.col("pos") > 0).then(pl.col("t").cast(pl.String) + "-0").otherwise(None).alias("parent_span_id"),
        "service", "operation", pl.lit("SERVER").alias("kind"),
        pl.when("err").then(pl.lit("ERROR")).otherwise(pl.lit("UNSET")).alias("status"),
        pl.col("start").cast(pl.Int64).alias("start_unix_ns"), (pl.col("dur_ms") * 1e6).cast(pl.Int64).alias("duration_ns"),
        pl.lit(3, pl.Int32).alias("attributes"), pl.lit(250, pl.Int32).alias("approx_bytes"),
        pl.lit("{}").alias("attrs"), pl.lit(1.0).alias("sample_weight"),
    )  # fmt: skip


def loop_baseline(spans: pl.DataFrame, n_traces: int) -> float:
    """Seconds for the per-trace loop (``sampling_reference``) doing the six policies on the first n_traces."""
    rows = spans.head(n_traces * 10).rows(named=True)  # converting to Python rows is not timed
    start = time.perf_counter()
    reference(rows, POLICIES, cost_model("honeycomb"), 3600.0)
    return time.perf_counter() - start


def _reset_peak_rss() -> bool:
    """Start the kernel's high-water mark of this process afresh (Linux); False where it can't."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _median_seconds(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spans", type=int, default=10_000_000)
    parser.add_argument("--loop-traces", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement (medians are quoted)")
    args = parser.parse_args()
    t = time.perf_counter()
    spans = generate(args.spans)
    n_traces = spans["trace_id"].n_unique()
    print(f"generated {spans.height:,} spans, {n_traces:,} traces in {time.perf_counter() - t:.1f}s")
    print(f"input: {spans.estimated_size('mb'):,.0f} MiB as a polars DataFrame")
    model = cost_model("honeycomb")
    one = _median_seconds(lambda: simulate(spans, POLICIES[:1], model), args.repeat)
    isolated = _reset_peak_rss()
    ours = _median_seconds(lambda: simulate(spans, POLICIES, model), args.repeat)
    rss = _peak_rss_mib()
    marginal = (ours - one) / (len(POLICIES) - 1)
    print(
        f"costscope: {len(POLICIES)} policies in {ours:.2f}s (median of {args.repeat}; target <= 30s),"
        f" peak RSS {rss:,.0f} MiB {'while simulating (input included)' if isolated else '(whole process)'}"
    )
    sim = simulate(spans, POLICIES, model)
    print(sim.summary.select("policy", "kept_share", "error_traces_kept", "worst_p99_error", "estimable"))
    loops = [loop_baseline(spans, args.loop_traces) for _ in range(args.repeat)]
    per_trace = statistics.median(loops) / args.loop_traces
    loop_total = per_trace * n_traces
    print(
        f"python loop: {statistics.median(loops):.2f}s for {args.loop_traces:,} traces (median of {args.repeat})"
        f" → {loop_total:,.0f}s for all"
    )
    print(f"ratio {loop_total / ours:.1f}x (target >= 20x)")
    print(
        f"one policy: costscope {one:.2f}s; each extra policy: {marginal:.2f}s"
        f" (the loop: {loop_total / len(POLICIES):.1f}s per policy, preparation included)"
    )


if __name__ == "__main__":
    main()
