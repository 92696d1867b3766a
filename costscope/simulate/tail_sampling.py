"""The OpenTelemetry Collector's ``tail_sampling`` processor, decided for every trace at once.

Any ``drop`` policy wins; otherwise any sampling policy keeps. The kept data carries no
probability (``p`` null): tail rules are not re-weightable.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from costscope.errors import ConfigError
from costscope.simulate.traffic import Traffic, attr, decided, hash_keep, pct

TAIL_TYPES = (
    "always_sample", "latency", "status_code", "string_attribute", "numeric_attribute", "boolean_attribute",
    "probabilistic", "rate_limiting", "span_count", "and", "composite", "drop",
)  # fmt: skip


def _any_span(traffic: Traffic, condition: pl.Expr) -> pl.Expr:
    """Per trace (in trace order): whether any of its spans meets ``condition``."""
    matched = np.zeros(traffic.traces.height, dtype=bool)
    matched[traffic.span_tix[traffic.spans.select(condition.fill_null(False)).to_series().to_numpy()]] = True
    return pl.lit(pl.Series(matched))


def _tail_one(traffic: Traffic, sub: dict[str, Any]) -> pl.Expr:
    """Whether one tail policy would sample each trace (True/False per trace)."""
    kind = sub.get("type")
    conf = sub.get(kind, {}) if isinstance(kind, str) else {}
    conf = conf or {}
    if kind == "always_sample":
        return pl.lit(True)
    if kind == "latency":
        low = float(conf.get("threshold_ms", 0))
        high = conf.get("upper_threshold_ms")
        cond = pl.col("duration_ms") >= low
        return cond & (pl.col("duration_ms") <= float(high)) if high else cond
    if kind == "status_code":
        codes = [str(c).upper() for c in conf.get("status_codes", ["ERROR"])]
        return _any_span(traffic, pl.col("status").is_in(codes))
    if kind == "string_attribute":
        value = attr(str(conf["key"]))
        values = [str(v) for v in conf.get("values", [])]
        if conf.get("enabled_regex_matching"):
            cond = (
                pl.any_horizontal([value.str.contains(f"^(?:{v})$") for v in values])
                if values
                else pl.lit(False)
            )
        else:
            cond = value.is_in(values)
        hit = _any_span(traffic, cond.fill_null(False))
        return ~hit if conf.get("invert_match") else hit
    if kind == "numeric_attribute":
        value = attr(str(conf["key"])).cast(pl.Float64, strict=False)
        cond = value.is_not_null()
        if conf.get("min_value") is not None:
            cond &= value >= float(conf["min_value"])
        if conf.get("max_value") is not None:
            cond &= value <= float(conf["max_value"])
        hit = _any_span(traffic, cond.fill_null(False))
        return ~hit if conf.get("invert_match") else hit
    if kind == "boolean_attribute":
        value = attr(str(conf["key"])).str.to_lowercase()
        return _any_span(traffic, (value == str(bool(conf.get("value", True))).lower()).fill_null(False))
    if kind == "probabilistic":
        return hash_keep(pl.col("r"), pct(conf))
    if kind == "span_count":
        cond = pl.col("spans") >= int(conf.get("min_spans", 0))
        return cond & (pl.col("spans") <= int(conf["max_spans"])) if conf.get("max_spans") else cond
    if kind == "rate_limiting":
        per_second = float(conf.get("spans_per_second", 0))
        spent = pl.col("spans").cum_sum().over("start_s", order_by="start_ns")
        return spent <= per_second
    if kind == "and":
        parts = [_tail_one(traffic, s) for s in conf.get("and_sub_policy", [])]
        return pl.all_horizontal(parts) if parts else pl.lit(False)
    if kind == "drop":
        parts = [_tail_one(traffic, s) for s in conf.get("drop_sub_policy", [])]
        return pl.all_horizontal(parts) if parts else pl.lit(False)
    if kind == "composite":
        return _composite(traffic, conf)
    raise ConfigError(
        f"unknown tail_sampling policy type {kind!r} (allowed: {', '.join(TAIL_TYPES)})", field="type"
    )


def _composite(traffic: Traffic, conf: dict[str, Any]) -> pl.Expr:
    """Sub-policies in ``policy_order``, each within its share of ``max_total_spans_per_second``."""
    total = float(conf.get("max_total_spans_per_second", 0))
    shares = {a.get("policy"): float(a.get("percent", 0)) / 100 for a in conf.get("rate_allocation", [])}
    subs = {s.get("name"): s for s in conf.get("composite_sub_policy", [])}
    order = conf.get("policy_order") or list(subs)
    keep = pl.lit(False)
    frame = traffic.traces
    for name in order:
        sub = subs.get(name)
        if sub is None:
            continue
        match = frame.select(_tail_one(traffic, sub).alias("m"))["m"]
        budget = total * shares.get(name, 1.0 if not shares else 0.0)
        candidate = frame.with_columns(m=match & ~frame.select(keep.alias("k"))["k"])
        spent = (
            pl.when(pl.col("m"))
            .then(pl.col("spans"))
            .otherwise(0)
            .cum_sum()
            .over("start_s", order_by="start_ns")
        )
        within = candidate.select((pl.col("m") & (spent <= budget)).alias("w"))["w"]
        keep = keep | pl.lit(within)
    return keep


def tail_sampling(traffic: Traffic, spec: dict[str, Any]) -> pl.DataFrame:
    """The collector's tail_sampling decision: any drop policy wins, otherwise any sampling policy keeps."""
    subs = spec.get("policies") or []
    if not subs:
        raise ConfigError("tail_sampling needs policies", field="policies")
    drops = [_tail_one(traffic, s) for s in subs if s.get("type") == "drop"]
    samples = [_tail_one(traffic, s) for s in subs if s.get("type") != "drop"]
    dropped = pl.any_horizontal(drops) if drops else pl.lit(False)
    sampled = pl.any_horizontal(samples) if samples else pl.lit(False)
    return decided(traffic, ~dropped & sampled, pl.lit(None, pl.Float64))
