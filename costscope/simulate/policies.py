"""Sampling policies, written as people run them, each decided for every trace at once.

A policies file (YAML) lists named policies; each ``type`` takes the keys of the system it
mirrors, so a policy can be pasted in from a collector or sampler config:

- ``probabilistic``: head sampling with OpenTelemetry consistent probability sampling
  (``sampling_percentage``): threshold on the trace id's 56 random bits; adjusted count 1/p.
- ``jaeger``: a Jaeger sampling-strategies document (``default_strategy``,
  ``service_strategies`` with ``operation_strategies``; ``probabilistic`` or ``ratelimiting``)
  decided at the root span.
- ``tail_sampling``: the OpenTelemetry Collector's ``tail_sampling`` processor ``policies``:
  ``always_sample``, ``latency``, ``status_code``, ``string_attribute``, ``numeric_attribute``,
  ``boolean_attribute``, ``probabilistic``, ``rate_limiting``, ``span_count``, ``and``,
  ``composite``, ``drop``. Decision: any ``drop`` wins; otherwise any sampling policy keeps.
- ``refinery_deterministic``: Refinery's deterministic sampler (``sample_rate``): as Refinery's own
  code decides, the first four bytes of SHA-1(trace id + Refinery's salt), big-endian, kept when at
  most ``2**32-1 // sample_rate`` — not the raw id bits, which sequential ids would bias.
- ``refinery_rules``: Refinery's rules-based sampler (first matching rule's ``sample_rate``, or
  ``drop``), conditions on ``error``, ``duration_ms``, ``service.name``, ``name`` or attributes.
- ``refinery_dynamic`` / ``refinery_throughput``: Refinery's EMA dynamic samplers per key
  (``field_list``), aiming at ``goal_sample_rate`` or ``goal_throughput_per_sec``.

``decide`` returns, per trace, ``keep`` and ``p``: the probability the kept data can carry for
re-weighting (head sampling's ``th``, Refinery's ``SampleRate``). Where the kept data carries none
(tail rules, rate limits), ``p`` is null: those counts are not estimable from what is stored.
Decisions are deterministic: randomness comes from the trace id (and ``seed`` where a sampler
hashes it), never from a clock. Where Refinery draws at random (a rule's or a dynamic sampler's
``rand.Intn(rate) == 0``), the draw is the same SHA-1 value: uniform whatever the ids look like.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import duckdb
import numpy as np
import polars as pl

from costscope.errors import ConfigError
from costscope.simulate.consistent import MAX_THRESHOLD, probability, threshold

POLICY_TYPES = (
    "probabilistic", "jaeger", "tail_sampling", "refinery_deterministic", "refinery_rules", "refinery_dynamic",
    "refinery_throughput",
)  # fmt: skip
REFINERY_SALT = "5VQ8l2jE5aJLPVqk"  # Refinery's shardingSalt, appended to the trace id before SHA-1
MAX_UINT32 = 2**32 - 1
TAIL_TYPES = (
    "always_sample", "latency", "status_code", "string_attribute", "numeric_attribute", "boolean_attribute",
    "probabilistic", "rate_limiting", "span_count", "and", "composite", "drop",
)  # fmt: skip


@dataclass(frozen=True)
class Policy:
    """One named policy from a policies file."""

    name: str
    type: str
    spec: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Traffic:
    """What a policy decides on: one row per trace, and the spans (for attribute conditions)."""

    traces: pl.DataFrame  # trace_id, r, root_service, root_operation, root_oix, start_s, duration_ms, ...
    spans: pl.DataFrame  # trace_id, service, operation, status, duration_ns, attrs, ...
    ops: pl.DataFrame  # oix, service, operation: what ``root_oix`` numbers
    span_tix: np.ndarray  # per span, the row of its trace in ``traces``
    roots: np.ndarray  # per trace, the row of its root span in ``spans``

    @cached_property
    def refinery_chance(self) -> np.ndarray:
        """Per trace, Refinery's draw: the first four bytes of SHA-1(trace id + salt), big-endian.

        DuckDB's sha1 (C++, every core) does it for a million traces in a fifth of the time a
        Python loop over hashlib takes; rows keep their order (insertion order is preserved).
        """
        con = duckdb.connect()
        try:
            con.register("_cs_ids", self.traces.select("trace_id").to_arrow())
            draw = con.execute(
                "SELECT ('0x' || left(sha1(trace_id || $salt), 8))::UBIGINT AS v FROM _cs_ids",
                {"salt": REFINERY_SALT},
            ).fetchnumpy()["v"]
        finally:
            con.close()
        return np.asarray(draw, dtype=np.uint64).astype(np.uint32)


def _pct(spec: dict[str, Any], key: str = "sampling_percentage") -> float:
    value = spec.get(key)
    if not isinstance(value, int | float) or not 0 < value <= 100:
        raise ConfigError(f"{key} must be a number in (0, 100]", field=key)
    return float(value) / 100.0


def _hash_keep(r: pl.Expr, p: float) -> pl.Expr:
    return r >= threshold(p) if p < 1 else pl.lit(True)


def _decided(traffic: Traffic, keep: pl.Expr, p: pl.Expr) -> pl.DataFrame:
    return traffic.traces.select("trace_id", keep.alias("keep"), p.cast(pl.Float64).alias("p"))


# --- head: consistent probability ------------------------------------------------------------


def _probabilistic(traffic: Traffic, spec: dict[str, Any]) -> pl.DataFrame:
    p = _pct(spec)
    exact = probability(threshold(p)) if p < 1 else 1.0
    return _decided(traffic, _hash_keep(pl.col("r"), p), pl.lit(exact))


# --- Jaeger sampling strategies ----------------------------------------------------------------


def _rate_limited(group: list[str], per_second: pl.Expr) -> pl.Expr:
    """Keep the first ``per_second`` traces of each group in each second (a token bucket of 1 s)."""
    rank = pl.col("start_ns").rank("ordinal").over([*group, "start_s"])
    return rank <= per_second


def _jaeger(traffic: Traffic, spec: dict[str, Any]) -> pl.DataFrame:
    default = spec.get("default_strategy") or {"type": "probabilistic", "param": 0.001}
    rows = []  # (service, operation or None, type, param)
    for s in [*(spec.get("service_strategies") or []), {**default, "service": None}]:
        for op in s.get("operation_strategies") or []:
            strategy = op.get("probabilistic_sampling") or {}
            param = strategy.get("sampling_rate", op.get("param"))
            rows.append((s.get("service"), op.get("operation"), "probabilistic", float(param)))
        rows.append(
            (s.get("service"), None, str(s.get("type", "probabilistic")), float(s.get("param", 0.001)))
        )
    table = pl.DataFrame(rows, schema={"service": pl.String, "operation": pl.String, "type": pl.String,
                                       "param": pl.Float64}, orient="row")  # fmt: skip
    # resolved once per operation, not per trace: service and operation, then operation, then service
    ops = traffic.ops
    named_op, named_service = pl.col("operation").is_not_null(), pl.col("service").is_not_null()
    levels = [
        ops.join(
            rules.unique(keys, keep="first", maintain_order=True), on=keys, how="left", maintain_order="left"
        )
        for rules, keys in (
            (table.filter(named_service & named_op), ["service", "operation"]),
            (table.filter(~named_service & named_op).drop("service"), ["operation"]),
            (table.filter(named_service & ~named_op).drop("operation"), ["service"]),
        )
    ]
    dflt = table.filter(~named_service & ~named_op).row(0, named=True)
    per_op = ops.select(
        kind=pl.coalesce(*(level["type"] for level in levels), pl.lit(dflt["type"])),
        param=pl.coalesce(*(level["param"] for level in levels), pl.lit(dflt["param"])),
    )
    merged = traffic.traces.with_columns(
        kind=per_op["kind"].gather(traffic.traces["root_oix"]),
        param=per_op["param"].gather(traffic.traces["root_oix"]),
    )
    keep_prob = pl.col("r") >= ((1 - pl.col("param").clip(0, 1)) * MAX_THRESHOLD).cast(pl.UInt64)
    limited = _rate_limited(["root_service"], pl.col("param"))
    merged = merged.with_columns(
        keep=pl.when(pl.col("kind") == "ratelimiting").then(limited).otherwise(keep_prob),
        p=pl.when(pl.col("kind") == "ratelimiting").then(None).otherwise(pl.col("param").clip(0, 1)),
    )
    return merged.select("trace_id", "keep", pl.col("p").cast(pl.Float64))


# --- the OpenTelemetry Collector's tail_sampling -----------------------------------------------


def _attr(key: str) -> pl.Expr:
    return pl.col("attrs").str.json_path_match(f"$['{key}']")


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
        value = _attr(str(conf["key"]))
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
        value = _attr(str(conf["key"])).cast(pl.Float64, strict=False)
        cond = value.is_not_null()
        if conf.get("min_value") is not None:
            cond &= value >= float(conf["min_value"])
        if conf.get("max_value") is not None:
            cond &= value <= float(conf["max_value"])
        hit = _any_span(traffic, cond.fill_null(False))
        return ~hit if conf.get("invert_match") else hit
    if kind == "boolean_attribute":
        value = _attr(str(conf["key"])).str.to_lowercase()
        return _any_span(traffic, (value == str(bool(conf.get("value", True))).lower()).fill_null(False))
    if kind == "probabilistic":
        return _hash_keep(pl.col("r"), _pct(conf))
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


def _tail(traffic: Traffic, spec: dict[str, Any]) -> pl.DataFrame:
    subs = spec.get("policies") or []
    if not subs:
        raise ConfigError("tail_sampling needs policies", field="policies")
    drops = [_tail_one(traffic, s) for s in subs if s.get("type") == "drop"]
    samples = [_tail_one(traffic, s) for s in subs if s.get("type") != "drop"]
    dropped = pl.any_horizontal(drops) if drops else pl.lit(False)
    sampled = pl.any_horizontal(samples) if samples else pl.lit(False)
    return _decided(traffic, ~dropped & sampled, pl.lit(None, pl.Float64))


# --- Refinery ------------------------------------------------------------------------------------


def _field(traffic: Traffic, name: str) -> pl.Expr:
    builtins = {
        "error": pl.col("error"), "duration_ms": pl.col("duration_ms"), "service.name": pl.col("root_service"),
        "name": pl.col("root_operation"), "trace.span_count": pl.col("spans"),
    }  # fmt: skip
    if name in builtins:
        return builtins[name]
    return pl.lit(traffic.spans["attrs"].gather(traffic.roots).to_frame().select(_attr(name)).to_series())


def _condition(traffic: Traffic, cond: dict[str, Any]) -> pl.Expr:
    value = _field(traffic, str(cond.get("field")))
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


def _refinery_rules(traffic: Traffic, spec: dict[str, Any]) -> pl.DataFrame:
    rate = pl.lit(None, pl.Float64)
    drop = pl.lit(None, pl.Boolean)
    for rule in reversed(spec.get("rules") or []):  # first match wins: apply the last first
        conds = [_condition(traffic, c) for c in rule.get("conditions") or []]
        match = pl.all_horizontal(conds) if conds else pl.lit(True)
        rate = pl.when(match).then(float(rule.get("sample_rate", 1))).otherwise(rate)
        drop = pl.when(match).then(bool(rule.get("drop", False))).otherwise(drop)
    rate = rate.fill_null(1.0).clip(lower_bound=1.0)
    keep = ~drop.fill_null(False) & _rate_keep(traffic, rate)
    return _decided(traffic, keep, pl.when(drop.fill_null(False)).then(None).otherwise(1.0 / rate))


def _rate_keep(traffic: Traffic, rate: pl.Expr) -> pl.Expr:
    """Refinery keeps a trace of sample rate N when its draw is at most ``2**32-1 // N`` (N whole)."""
    chance = pl.lit(pl.Series("chance", traffic.refinery_chance, dtype=pl.UInt32)).cast(pl.Int64)
    bound = (pl.lit(MAX_UINT32, pl.Float64) / rate.floor().clip(lower_bound=1.0)).floor().cast(pl.Int64)
    return chance <= bound


def _refinery_deterministic(traffic: Traffic, spec: dict[str, Any]) -> pl.DataFrame:
    rate = spec.get("sample_rate", 1)
    if not isinstance(rate, int | float) or rate < 1:
        raise ConfigError("sample_rate must be a number >= 1", field="sample_rate")
    if rate <= 1:
        return _decided(traffic, pl.lit(True), pl.lit(1.0))
    return _decided(traffic, _rate_keep(traffic, pl.lit(float(int(rate)))), pl.lit(1.0 / int(rate)))


def _refinery_dynamic(traffic: Traffic, spec: dict[str, Any], throughput: bool) -> pl.DataFrame:
    fields = spec.get("field_list") or ["service.name", "name"]
    interval = float(spec.get("adjustment_interval_s", 15))
    weight = float(spec.get("weight", 0.5))
    goal_rate = max(1.0, float(spec.get("goal_sample_rate", 10)))
    goal_per_interval = float(spec.get("goal_throughput_per_sec", 100)) * interval
    keys = (
        traffic.traces.select(
            pl.struct(
                [_field(traffic, f).cast(pl.String).fill_null("").alias(str(i)) for i, f in enumerate(fields)]
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
        "trace_id", _rate_keep(traffic, pl.lit(per_trace)).alias("keep"), (1.0 / pl.lit(per_trace)).alias("p")
    )


def decide(policy: Policy, traffic: Traffic) -> pl.DataFrame:
    """(trace_id, keep, p) for every trace under ``policy``, in the order of ``traffic.traces``."""
    spec = policy.spec
    if policy.type == "probabilistic":
        return _probabilistic(traffic, spec)
    if policy.type == "jaeger":
        return _jaeger(traffic, spec)
    if policy.type == "tail_sampling":
        return _tail(traffic, spec)
    if policy.type == "refinery_deterministic":
        return _refinery_deterministic(traffic, spec)
    if policy.type == "refinery_rules":
        return _refinery_rules(traffic, spec)
    if policy.type in ("refinery_dynamic", "refinery_throughput"):
        return _refinery_dynamic(traffic, spec, policy.type == "refinery_throughput")
    raise ConfigError(
        f"unknown policy type {policy.type!r} (allowed: {', '.join(POLICY_TYPES)})", field="type"
    )
