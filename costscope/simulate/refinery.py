"""Refinery's samplers: deterministic, rules-based and the EMA dynamic/throughput samplers.

Every draw is Refinery's own: the first four bytes of SHA-1(trace id + salt), big-endian, kept when
at most ``2**32-1 // sample_rate`` (``Traffic.refinery_chance``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from costscope.errors import ConfigError
from costscope.simulate.traffic import MAX_UINT32, Traffic, attr, decided


def root_field(traffic: Traffic, name: str) -> pl.Expr:
    """A Refinery field per trace: a built-in (error, duration_ms, service.name, name) or a root span attribute."""
    builtins = {
        "error": pl.col("error"), "duration_ms": pl.col("duration_ms"), "service.name": pl.col("root_service"),
        "name": pl.col("root_operation"), "trace.span_count": pl.col("spans"),
    }  # fmt: skip
    if name in builtins:
        return builtins[name]
    return pl.lit(traffic.spans["attrs"].gather(traffic.roots).to_frame().select(attr(name)).to_series())


def _condition(traffic: Traffic, cond: dict[str, Any]) -> pl.Expr:
    value = root_field(traffic, str(cond.get("field")))
    op = str(cond.get("operator", "="))
    target = cond.get("value")
    if op == "exists":
        return value.is_not_null()
    if op == "not-exists":
        return value.is_null()
    if op in ("contains", "starts-with", "does-not-contain"):
        text = value.cast(pl.String)
        hit = (
            text.str.starts_with(str(target))
            if op == "starts-with"
            else text.str.contains(str(target), literal=True)
        )
        return (~hit if op == "does-not-contain" else hit).fill_null(False)
    dtype = traffic.traces.lazy().select(value).collect_schema().dtypes()[0]
    if isinstance(target, bool) and dtype == pl.Boolean:
        pass  # a boolean field (error): compared as is, not as text
    elif isinstance(target, bool):
        value, target = value.cast(pl.String).str.to_lowercase(), str(target).lower()
    elif isinstance(target, int | float) and dtype.is_numeric():
        pass
    elif isinstance(target, int | float):
        value = value.cast(pl.Float64, strict=False)
    else:
        value = value.cast(pl.String)
    result = {
        "=": value == target, "!=": value != target, ">": value > target, ">=": value >= target,
        "<": value < target, "<=": value <= target,
    }.get(op)  # fmt: skip
    if result is None:
        raise ConfigError(f"unknown Refinery operator {op!r}", field="operator")
    return result.fill_null(False)


def refinery_rules(traffic: Traffic, spec: dict[str, Any]) -> pl.DataFrame:
    """Refinery's rules-based sampler: the first matching rule's sample rate, or its drop."""
    rate = pl.lit(None, pl.Float64)
    drop = pl.lit(None, pl.Boolean)
    for rule in reversed(spec.get("rules") or []):  # first match wins: apply the last first
        conds = [_condition(traffic, c) for c in rule.get("conditions") or []]
        match = pl.all_horizontal(conds) if conds else pl.lit(True)
        rate = pl.when(match).then(float(rule.get("sample_rate", 1))).otherwise(rate)
        drop = pl.when(match).then(bool(rule.get("drop", False))).otherwise(drop)
    rate = rate.fill_null(1.0).clip(lower_bound=1.0)
    keep = ~drop.fill_null(False) & rate_keep(traffic, rate)
    return decided(traffic, keep, pl.when(drop.fill_null(False)).then(None).otherwise(1.0 / rate))


def rate_keep(traffic: Traffic, rate: pl.Expr) -> pl.Expr:
    """Refinery keeps a trace of sample rate N when its draw is at most ``2**32-1 // N`` (N whole)."""
    chance = pl.lit(pl.Series("chance", traffic.refinery_chance, dtype=pl.UInt32)).cast(pl.Int64)
    bound = (pl.lit(MAX_UINT32, pl.Float64) / rate.floor().clip(lower_bound=1.0)).floor().cast(pl.Int64)
    return chance <= bound


def refinery_deterministic(traffic: Traffic, spec: dict[str, Any]) -> pl.DataFrame:
    """Refinery's deterministic sampler: one sample rate for every trace."""
    rate = spec.get("sample_rate", 1)
    if not isinstance(rate, int | float) or rate < 1:
        raise ConfigError("sample_rate must be a number >= 1", field="sample_rate")
    if rate <= 1:
        return decided(traffic, pl.lit(True), pl.lit(1.0))
    return decided(traffic, rate_keep(traffic, pl.lit(float(int(rate)))), pl.lit(1.0 / int(rate)))


def refinery_dynamic(traffic: Traffic, spec: dict[str, Any], throughput: bool) -> pl.DataFrame:
    """Refinery's EMA dynamic (or throughput) sampler: a rate per key, adjusted every interval."""
    fields = spec.get("field_list") or ["service.name", "name"]
    interval = float(spec.get("adjustment_interval_s", 15))
    weight = float(spec.get("weight", 0.5))
    goal_rate = max(1.0, float(spec.get("goal_sample_rate", 10)))
    goal_per_interval = float(spec.get("goal_throughput_per_sec", 100)) * interval
    keys = (
        traffic.traces.select(
            pl.struct(
                [
                    root_field(traffic, f).cast(pl.String).fill_null("").alias(str(i))
                    for i, f in enumerate(fields)
                ]
            )
            .hash()
            .rank("dense")
            .cast(pl.Int64)
            .sub(1)
        )
        .to_series()
        .to_numpy()
    )
    n_keys = int(keys.max()) + 1 if keys.size else 0
    bucket = (traffic.traces["start_s"].to_numpy() // interval).astype(np.int64)
    # one group per (interval, key) with traffic, sorted by interval
    groups, group_of = np.unique(
        (bucket - bucket.min(initial=0)) * max(n_keys, 1) + keys, return_inverse=True
    )
    counts = np.bincount(group_of, minlength=groups.size).astype(np.float64)
    group_bucket, group_key = groups // max(n_keys, 1), groups % max(n_keys, 1)
    rate = np.ones(groups.size)
    # EMA of each key's count across intervals, as Refinery's EMADynamicSampler keeps it
    state, started = np.zeros(n_keys), np.zeros(n_keys, dtype=bool)
    edges = np.flatnonzero(np.diff(group_bucket, prepend=-1, append=-1))
    for a, b in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        now = np.zeros(n_keys)
        now[group_key[a:b]] = counts[a:b]
        new = np.zeros(n_keys, dtype=bool)
        new[group_key[a:b]] = ~started[group_key[a:b]]
        state = np.where(new, now, weight * now + (1 - weight) * state)
        started[group_key[a:b]] = True
        live = started & (state >= 1)
        goal = goal_per_interval if throughput else state[live].sum() / goal_rate
        log_sum = np.log10(state[live & (state > 1)]).sum() or 1.0
        seen = state[group_key[a:b]]
        with np.errstate(divide="ignore"):
            target = np.where(seen > 1, np.maximum(1.0, np.log10(seen) * (goal / log_sum)), 1.0)
        rate[a:b] = np.where(live[group_key[a:b]], np.maximum(1.0, seen / target), 1.0)
    per_trace = pl.Series(rate[group_of])
    return traffic.traces.select(
        "trace_id", rate_keep(traffic, pl.lit(per_trace)).alias("keep"), (1.0 / pl.lit(per_trace)).alias("p")
    )
