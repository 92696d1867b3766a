"""The sampling simulator: each policy applied to real traffic, its cost and what it does to RED.

For each policy, on the same spans: which traces it keeps (spans of a trace share its fate: the
variance unit is the trace), what that costs per month and saves, the share of error traces and
of slow traces (over the SLO threshold, else over the traces' p99) that survive, and how wrong
the RED metrics derived from the kept data would be — request rate, error rate, p50/p95/p99
latency per service × operation — estimated with Horvitz–Thompson weights (1/p per kept trace)
and compared with the truth computed from all spans.

Counts come with 95% confidence intervals from the HT variance at the trace level
(``Σ n_t² (1-p_t)/p_t²``); error rates with the linearised variance of the ratio. Where a policy
keeps no probability with the data (tail rules, rate limits), the estimates are the naive ones a
backend would show (weights 1) and are flagged ``estimable = false``; their bias is reported,
no interval. The spans are indexed once (``span_index``) and every policy is measured on the
same arrays (``red``); vectorised, deterministic given the trace ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from costscope.pricing import MONTH_S, CostModel
from costscope.simulate.policies import Policy, Traffic, decide
from costscope.simulate.red import estimates, truth
from costscope.simulate.span_index import SpanIndex, index_spans, timed_window

MIN_SPANS_FOR_P99 = 100  # operations with fewer spans say nothing about a p99


@dataclass(frozen=True)
class Constraints:
    """What a policy must keep to be recommended."""

    min_error_traces_kept: float = 0.99
    max_p99_error: float = 0.05
    slo_ms: float | None = None


@dataclass(frozen=True)
class Simulation:
    """Policies side by side: ``summary`` (one row per policy) and ``red`` (per policy × operation)."""

    summary: pl.DataFrame
    red: pl.DataFrame
    period_s: float
    slow_ms: float
    recommended: str | None
    constraints: Constraints
    policies: tuple[Policy, ...] = ()

    def policy(self, name: str) -> Policy:
        """The compared policy called ``name``."""
        return next(p for p in self.policies if p.name == name)


def traffic_of(spans: pl.DataFrame, index: SpanIndex | None = None) -> Traffic:
    """The traces and spans a policy decides on."""
    index = index or index_spans(spans)
    return Traffic(index.traces, spans, index.ops, index.tix, index.roots)


def simulate(
    spans: pl.DataFrame,
    policies: list[Policy],
    model: CostModel,
    constraints: Constraints | None = None,
    period_s: float | None = None,
) -> Simulation:
    """Every policy on ``spans`` → the side-by-side summary, the RED errors and the recommendation."""
    constraints = constraints or Constraints()
    index = index_spans(spans)
    traffic = traffic_of(spans, index)
    traces = traffic.traces
    if period_s is None:
        window = timed_window(spans)
        period_s = max(60.0, (window[1] - window[0]) / 1e9 if window else 0.0)
    scale = MONTH_S / period_s
    weight = traces["input_weight"].fill_null(1.0).to_numpy()
    span_count = traces["spans"].to_numpy() * weight
    byte_count = traces["bytes"].to_numpy() * weight
    error = traces["error"].to_numpy()
    all_spans, all_bytes = float(span_count.sum()), float(byte_count.sum())
    full_cost = model.trace_cost(all_spans * scale, all_bytes * scale)
    slow_ms = constraints.slo_ms or float(traces["duration_ms"].quantile(0.99) or 0.0)
    slow = traces["duration_ms"].to_numpy() > slow_ms
    true_red = truth(index, period_s)
    rows, reds = [], []
    for policy in policies:
        decision = decide(policy, traffic)  # a row per trace, in trace order
        estimable = decision["p"].null_count() == 0
        keep = decision["keep"].fill_null(False).to_numpy()
        p = decision["p"].cast(pl.Float64).fill_null(1.0).to_numpy()
        p_kept = np.where(keep, np.clip(p, 1e-12, None), np.nan)
        kept_spans = float(span_count[keep].sum())
        cost = model.trace_cost(kept_spans * scale, float(byte_count[keep].sum()) * scale)
        red = true_red.join(estimates(index, p_kept, period_s, estimable), on="oix", how="left")
        red = (
            red.join(index.ops, on="oix")
            .drop("oix")
            .with_columns(
                policy=pl.lit(policy.name),
                estimable=pl.lit(estimable),
                rate_error=(pl.col("rate_est").fill_null(0.0) - pl.col("rate_true")) / pl.col("rate_true"),
                p99_error=((pl.col("p99_est") - pl.col("p99_true")) / pl.col("p99_true")).abs(),
            )
        )
        reds.append(red)
        judged = red.filter(pl.col("n") >= MIN_SPANS_FOR_P99)
        worst_p99 = judged["p99_error"].fill_null(1.0).max() if judged.height else None
        errors, slows = int(error.sum()), int(slow.sum())
        rows.append(
            {
                "policy": policy.name, "type": policy.type, "estimable": estimable,
                "kept_traces": int(keep.sum()), "kept_spans": kept_spans, "kept_share": kept_spans / all_spans if all_spans else 0.0,
                "monthly_cost": cost, "monthly_savings": full_cost - cost,
                # a share of nothing is no share: null where the traffic has no error (slow) traces
                "error_traces_kept": int((keep & error).sum()) / errors if errors else None,
                "slow_traces_kept": int((keep & slow).sum()) / slows if slows else None,
                "worst_p99_error": worst_p99,
                "worst_rate_error": judged.select(pl.col("rate_error").abs().max()).item() if judged.height else None,
            }
        )  # fmt: skip
    summary = pl.DataFrame(
        rows,
        schema_overrides={
            "worst_p99_error": pl.Float64,
            "worst_rate_error": pl.Float64,
            "error_traces_kept": pl.Float64,
            "slow_traces_kept": pl.Float64,
        },
    )
    if summary.height:
        ok = (pl.col("error_traces_kept").fill_null(1.0) >= constraints.min_error_traces_kept) & (
            pl.col("worst_p99_error").fill_null(0.0) <= constraints.max_p99_error
        )
        summary = summary.with_columns(meets_constraints=ok).sort("monthly_cost")
        fits = summary.filter(pl.col("meets_constraints"))
        recommended = str(fits["policy"][0]) if fits.height else None
    else:
        recommended = None
    red_all = pl.concat(reds, how="diagonal_relaxed") if reds else pl.DataFrame()
    return Simulation(summary, red_all, period_s, slow_ms, recommended, constraints, tuple(policies))
