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
no interval. Everything is polars, vectorised; deterministic given the trace ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from costscope.pricing import MONTH_S, CostModel
from costscope.simulate.policies import Policy, Traffic, decide, trace_table

TRACE_KEY_SEED = 0x7472

Z95 = 1.959964
QUANTILES = (0.5, 0.95, 0.99)
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


def traffic_of(spans: pl.DataFrame) -> Traffic:
    """The traces and spans a policy decides on."""
    return Traffic(trace_table(spans), spans)


@dataclass(frozen=True)
class _Prepared:
    """Spans as integers, sorted once: (trace index, operation index, error, duration)."""

    spans: pl.DataFrame  # tix, oix, err, duration_ms
    pairs: pl.DataFrame  # tix, oix, nt (spans of the operation in the trace), et (their errors)
    ops: pl.DataFrame  # oix, service, operation


def _op_key() -> pl.Expr:
    return pl.col("service").hash(1) ^ pl.col("operation").hash(2)


def _prepare(spans: pl.DataFrame, traces: pl.DataFrame) -> _Prepared:
    ops = spans.select("service", "operation").unique().sort("service", "operation").with_row_index("oix")
    # joins on u64 hashes, not strings: a 64-bit collision among a snapshot's ids is not a concern
    s = (
        spans.lazy()
        .select(
            pl.col("trace_id").hash(TRACE_KEY_SEED).alias("tkey"),
            _op_key().alias("okey"),
            (pl.col("status") == "ERROR").alias("err"),
            (pl.col("duration_ns") / 1e6).alias("duration_ms"),
        )
        .join(traces.lazy().select(pl.col("trace_id").hash(TRACE_KEY_SEED).alias("tkey"), "tix"), on="tkey")
        .join(ops.lazy().select("oix", _op_key().alias("okey")), on="okey")
        .select("tix", "oix", "err", "duration_ms")
        .collect()
    )
    pairs = s.group_by("tix", "oix").agg(pl.len().alias("nt"), pl.col("err").sum().alias("et"))
    return _Prepared(s, pairs, ops)


def _quantiles(spans: pl.DataFrame, weight: pl.Expr | None) -> pl.DataFrame:
    """Per operation, the smallest duration whose cumulative weight reaches q of the total."""
    if weight is None:  # every weight 1: the ceil(q·n)-th smallest, each group sorted on its own
        return spans.group_by("oix").agg(
            *(pl.col("duration_ms").sort().gather(((pl.len() * q).ceil() - 1).cast(pl.Int64)).first()
              .alias(f"p{round(q * 100)}") for q in QUANTILES)
        )  # fmt: skip
    ranked = (
        spans.with_columns(w=weight)
        .sort("oix", "duration_ms")
        .with_columns(cw=pl.col("w").cum_sum().over("oix"), tw=pl.col("w").sum().over("oix"))
    )
    return ranked.group_by("oix").agg(
        *(pl.col("duration_ms").filter(pl.col("cw") >= q * pl.col("tw") * (1 - 1e-12)).first().alias(f"p{round(q * 100)}")
          for q in QUANTILES)
    )  # fmt: skip


def _truth(prep: _Prepared, period_s: float) -> pl.DataFrame:
    counts = prep.pairs.group_by("oix").agg(pl.col("nt").sum().alias("n"), pl.col("et").sum().alias("e"))
    return (
        counts.join(_quantiles(prep.spans, None), on="oix")
        .with_columns(rate_true=pl.col("n") / period_s, error_rate_true=pl.col("e") / pl.col("n"))
        .rename({"p50": "p50_true", "p95": "p95_true", "p99": "p99_true"})
    )


def _estimates(prep: _Prepared, p_kept: pl.Series, period_s: float, estimable: bool) -> pl.DataFrame:
    """RED from the kept traces; ``p_kept[tix]`` is a kept trace's probability (null: dropped)."""
    p_span = p_kept.gather(prep.spans["tix"])
    kept = prep.spans.with_columns(p=p_span).filter(pl.col("p").is_not_null())
    pairs = prep.pairs.with_columns(p=p_kept.gather(prep.pairs["tix"])).filter(pl.col("p").is_not_null())
    est = pairs.group_by("oix").agg(
        (pl.col("nt") / pl.col("p")).sum().alias("n_hat"),
        (pl.col("et") / pl.col("p")).sum().alias("e_hat"),
        (pl.col("nt") ** 2 * (1 - pl.col("p")) / pl.col("p") ** 2).sum().alias("var_n"),
    )
    var_r = (
        pairs.join(est, on="oix")
        .with_columns(r_hat=pl.col("e_hat") / pl.col("n_hat"))
        .group_by("oix")
        .agg(
            ((1 - pl.col("p")) / pl.col("p") ** 2 * (pl.col("et") - pl.col("r_hat") * pl.col("nt")) ** 2).sum()
            .truediv(pl.col("n_hat").first() ** 2)
            .alias("var_r")
        )
    )  # fmt: skip
    out = (
        est.join(var_r, on="oix")
        .join(_quantiles(kept, 1.0 / pl.col("p")), on="oix")
        .with_columns(rate_est=pl.col("n_hat") / period_s, error_rate_est=pl.col("e_hat") / pl.col("n_hat"))
    )
    half_n = Z95 * pl.col("var_n").sqrt() / period_s
    half_r = Z95 * pl.col("var_r").sqrt()
    if estimable:
        out = out.with_columns(
            rate_ci_low=pl.col("rate_est") - half_n, rate_ci_high=pl.col("rate_est") + half_n,
            error_rate_ci_low=(pl.col("error_rate_est") - half_r).clip(lower_bound=0),
            error_rate_ci_high=(pl.col("error_rate_est") + half_r).clip(upper_bound=1),
        )  # fmt: skip
    else:
        out = out.with_columns(
            [pl.lit(None, pl.Float64).alias(c) for c in ("rate_ci_low", "rate_ci_high", "error_rate_ci_low", "error_rate_ci_high")]
        )  # fmt: skip
    return out.rename({"p50": "p50_est", "p95": "p95_est", "p99": "p99_est"}).drop(
        "n_hat", "e_hat", "var_n", "var_r"
    )


def simulate(
    spans: pl.DataFrame,
    policies: list[Policy],
    model: CostModel,
    constraints: Constraints | None = None,
    period_s: float | None = None,
) -> Simulation:
    """Every policy on ``spans`` → the side-by-side summary, the RED errors and the recommendation."""
    constraints = constraints or Constraints()
    traffic = traffic_of(spans)
    traces = traffic.traces
    if period_s is None:
        bounds = spans.select(
            (pl.col("start_unix_ns") + pl.col("duration_ns")).max().alias("hi"),
            pl.col("start_unix_ns").min().alias("lo"),
        ).row(0)
        period_s = max(60.0, ((bounds[0] or 0) - (bounds[1] or 0)) / 1e9)
    scale = MONTH_S / period_s
    weight = traces["input_weight"].fill_null(1.0)
    all_spans = float((traces["spans"] * weight).sum())
    all_bytes = float((traces["bytes"] * weight).sum())
    full_cost = model.trace_cost(all_spans * scale, all_bytes * scale)
    slow_ms = constraints.slo_ms or float(traces["duration_ms"].quantile(0.99) or 0.0)
    prep = _prepare(spans, traces)
    truth = _truth(prep, period_s)
    errors = traces.filter(pl.col("error")).height
    slow = traces.filter(pl.col("duration_ms") > slow_ms).height
    rows, reds = [], []
    for policy in policies:
        decision = decide(policy, traffic)
        if not decision["trace_id"].equals(traces["trace_id"]):  # decisions come in trace order
            decision = traces.select("trace_id").join(
                decision, on="trace_id", how="left", maintain_order="left"
            )
        estimable = decision["p"].null_count() == 0
        keep = decision["keep"].fill_null(False)
        p_kept = decision.select(
            pl.when(keep).then(pl.col("p").fill_null(1.0).clip(lower_bound=1e-12)).otherwise(None)
        ).to_series()
        kept = traces.filter(keep)
        kept_spans = float((kept["spans"] * kept["input_weight"].fill_null(1.0)).sum())
        kept_bytes = float((kept["bytes"] * kept["input_weight"].fill_null(1.0)).sum())
        cost = model.trace_cost(kept_spans * scale, kept_bytes * scale)
        red = truth.join(_estimates(prep, p_kept, period_s, estimable), on="oix", how="left")
        red = (
            red.join(prep.ops, on="oix")
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
        rows.append(
            {
                "policy": policy.name, "type": policy.type, "estimable": estimable,
                "kept_traces": kept.height, "kept_spans": kept_spans, "kept_share": kept_spans / all_spans if all_spans else 0.0,
                "monthly_cost": cost, "monthly_savings": full_cost - cost,
                "error_traces_kept": kept.filter(pl.col("error")).height / errors if errors else 1.0,
                "slow_traces_kept": kept.filter(pl.col("duration_ms") > slow_ms).height / slow if slow else 1.0,
                "worst_p99_error": worst_p99,
                "worst_rate_error": judged.select(pl.col("rate_error").abs().max()).item() if judged.height else None,
            }
        )  # fmt: skip
    summary = pl.DataFrame(
        rows, schema_overrides={"worst_p99_error": pl.Float64, "worst_rate_error": pl.Float64}
    )
    if summary.height:
        ok = (pl.col("error_traces_kept") >= constraints.min_error_traces_kept) & (
            pl.col("worst_p99_error").fill_null(0.0) <= constraints.max_p99_error
        )
        summary = summary.with_columns(meets_constraints=ok).sort("monthly_cost")
        fits = summary.filter(pl.col("meets_constraints"))
        recommended = str(fits["policy"][0]) if fits.height else None
    else:
        recommended = None
    red_all = pl.concat(reds, how="diagonal_relaxed") if reds else pl.DataFrame()
    return Simulation(summary, red_all, period_s, slow_ms, recommended, constraints, tuple(policies))
