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

from typing import Any

import polars as pl

from costscope.errors import ConfigError
from costscope.simulate.consistent import MAX_THRESHOLD, probability, threshold
from costscope.simulate.refinery import refinery_deterministic, refinery_dynamic, refinery_rules
from costscope.simulate.tail_sampling import TAIL_TYPES, tail_sampling
from costscope.simulate.traffic import Policy, Traffic, decided, hash_keep, pct, rate_limited

__all__ = ["POLICY_TYPES", "TAIL_TYPES", "Policy", "Traffic", "decide"]

POLICY_TYPES = (
    "probabilistic", "jaeger", "tail_sampling", "refinery_deterministic", "refinery_rules", "refinery_dynamic",
    "refinery_throughput",
)  # fmt: skip


# --- head: consistent probability ------------------------------------------------------------


def _probabilistic(traffic: Traffic, spec: dict[str, Any]) -> pl.DataFrame:
    p = pct(spec)
    exact = probability(threshold(p)) if p < 1 else 1.0
    return decided(traffic, hash_keep(pl.col("r"), p), pl.lit(exact))


# --- Jaeger sampling strategies ------------------------------------------------------------


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
    limited = rate_limited(["root_service"], pl.col("param"))
    merged = merged.with_columns(
        keep=pl.when(pl.col("kind") == "ratelimiting").then(limited).otherwise(keep_prob),
        p=pl.when(pl.col("kind") == "ratelimiting").then(None).otherwise(pl.col("param").clip(0, 1)),
    )
    return merged.select("trace_id", "keep", pl.col("p").cast(pl.Float64))


def decide(policy: Policy, traffic: Traffic) -> pl.DataFrame:
    """(trace_id, keep, p) for every trace under ``policy``, in the order of ``traffic.traces``."""
    spec = policy.spec
    if policy.type == "probabilistic":
        return _probabilistic(traffic, spec)
    if policy.type == "jaeger":
        return _jaeger(traffic, spec)
    if policy.type == "tail_sampling":
        return tail_sampling(traffic, spec)
    if policy.type == "refinery_deterministic":
        return refinery_deterministic(traffic, spec)
    if policy.type == "refinery_rules":
        return refinery_rules(traffic, spec)
    if policy.type in ("refinery_dynamic", "refinery_throughput"):
        return refinery_dynamic(traffic, spec, policy.type == "refinery_throughput")
    raise ConfigError(
        f"unknown policy type {policy.type!r} (allowed: {', '.join(POLICY_TYPES)})", field="type"
    )
