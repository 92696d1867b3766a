"""Policies files: the sampling policies to compare and the constraints the winner must meet.

    policies:
      - name: head-10
        type: probabilistic
        sampling_percentage: 10
      - name: errors-slow-and-5pct
        type: tail_sampling
        policies:            # the collector's own tail_sampling syntax
          - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}
          - {name: slow, type: latency, latency: {threshold_ms: 500}}
          - {name: rest, type: probabilistic, probabilistic: {sampling_percentage: 5}}
    constraints:
      min_error_traces_kept: 0.99
      max_p99_error: 0.05
      slo_ms: 500

Every error names the file, line and field. ``DEFAULT_POLICIES`` are compared when none are given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from costscope.errors import ConfigError
from costscope.simulate.engine import Constraints
from costscope.simulate.policies import POLICY_TYPES, TAIL_TYPES, Policy
from costscope.yaml_nodes import YamlAt, compose

DEFAULT_POLICIES = (
    Policy("head-25%", "probabilistic", {"sampling_percentage": 25}),
    Policy("head-10%", "probabilistic", {"sampling_percentage": 10}),
    Policy("head-1%", "probabilistic", {"sampling_percentage": 1}),
    Policy(
        "tail: errors + slow + 5%",
        "tail_sampling",
        {
            "policies": [
                {"name": "errors", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}},
                {"name": "slow", "type": "latency", "latency": {"threshold_ms": 1000}},
                {"name": "rest", "type": "probabilistic", "probabilistic": {"sampling_percentage": 5}},
            ]
        },
    ),
    Policy(
        "refinery: errors + slow, 1 in 20",
        "refinery_rules",
        {
            "rules": [
                {"name": "errors", "sample_rate": 1, "conditions": [{"field": "error", "operator": "=", "value": True}]},
                {"name": "slow", "sample_rate": 1, "conditions": [{"field": "duration_ms", "operator": ">=", "value": 1000}]},
                {"name": "rest", "sample_rate": 20},
            ]
        },
    ),
    Policy("refinery: dynamic 1 in 10", "refinery_dynamic", {"goal_sample_rate": 10, "field_list": ["service.name", "name"]}),
)  # fmt: skip

_POLICY_KEYS: dict[str, tuple[str, ...]] = {
    "probabilistic": ("sampling_percentage",),
    "jaeger": ("default_strategy", "service_strategies"),
    "tail_sampling": ("policies", "decision_wait", "num_traces", "expected_new_traces_per_sec"),
    "refinery_deterministic": ("sample_rate",),
    "refinery_rules": ("rules",),
    "refinery_dynamic": ("goal_sample_rate", "field_list", "adjustment_interval_s", "weight"),
    "refinery_throughput": ("goal_throughput_per_sec", "field_list", "adjustment_interval_s", "weight"),
}


def _percentage(at: YamlAt) -> None:
    value = at.scalar()
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 100:
        raise at.fail(f"expected a percentage in (0, 100], got {value!r}")


def _tail(at: YamlAt) -> None:
    for item in at.items():
        fields = item.str_map()
        kind = fields["type"].string() if "type" in fields else None
        if kind not in TAIL_TYPES:
            where = fields.get("type", item)
            raise where.fail(f"unknown tail_sampling policy type {kind!r} (allowed: {', '.join(TAIL_TYPES)})")
        if kind == "probabilistic" and "probabilistic" in fields:
            conf = fields["probabilistic"].str_map()
            if "sampling_percentage" in conf:
                _percentage(conf["sampling_percentage"])
        for nested in ("and", "drop", "composite"):
            if kind == nested and nested in fields:
                conf = fields[nested].str_map()
                key = {
                    "and": "and_sub_policy",
                    "drop": "drop_sub_policy",
                    "composite": "composite_sub_policy",
                }[nested]
                if key in conf:
                    _tail(conf[key])


def _policy(at: YamlAt, index: int) -> Policy:
    fields = at.str_map()
    if "type" not in fields:
        raise at.fail("a policy needs a type")
    kind = fields["type"].string()
    if kind not in POLICY_TYPES:
        raise fields["type"].fail(f"unknown policy type {kind!r} (allowed: {', '.join(POLICY_TYPES)})")
    spec = at.mapping(("name", "type", *_POLICY_KEYS[kind]))
    if kind == "probabilistic":
        if "sampling_percentage" not in spec:
            raise at.fail("probabilistic needs sampling_percentage")
        _percentage(spec["sampling_percentage"])
    if kind == "tail_sampling":
        if "policies" not in spec:
            raise at.fail("tail_sampling needs policies")
        _tail(spec["policies"])
    if kind == "refinery_rules":
        if "rules" not in spec:
            raise at.fail("refinery_rules needs rules")
        for rule in spec["rules"].items():
            rf = rule.mapping(("name", "sample_rate", "drop", "conditions"))
            if "sample_rate" in rf:
                rf["sample_rate"].integer(1, 10**9)
    if kind == "refinery_deterministic":
        if "sample_rate" not in spec:
            raise at.fail("refinery_deterministic needs sample_rate")
        spec["sample_rate"].integer(1, 10**9)
    if kind == "refinery_dynamic" and "goal_sample_rate" in spec:
        spec["goal_sample_rate"].integer(1, 10**9)
    if kind == "refinery_throughput" and "goal_throughput_per_sec" in spec:
        spec["goal_throughput_per_sec"].number()
    value: dict[str, Any] = at.value()
    name = str(value.pop("name", f"policy{index + 1}"))
    value.pop("type")
    return Policy(name, kind, value)


def parse_policies(text: str, file: str = "<policies>") -> tuple[list[Policy], Constraints]:
    """Policies and constraints from a policies file's text; errors name file, line and field."""
    root = compose(text, file)
    if root is None:
        raise ConfigError("empty policies file", file=file)
    top = YamlAt(root, "", file)
    f = top.mapping(("policies", "constraints"))
    if "policies" not in f:
        raise top.fail("a policies file needs policies")
    policies = [_policy(item, i) for i, item in enumerate(f["policies"].items())]
    names = [p.name for p in policies]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise f["policies"].child(f["policies"].node.value[i], i).fail(f"duplicate policy name {name!r}")
    constraints = Constraints()
    if "constraints" in f:
        c = f["constraints"].mapping(("min_error_traces_kept", "max_p99_error", "slo_ms"))
        constraints = Constraints(
            min_error_traces_kept=c["min_error_traces_kept"].number()
            if "min_error_traces_kept" in c
            else 0.99,
            max_p99_error=c["max_p99_error"].number() if "max_p99_error" in c else 0.05,
            slo_ms=c["slo_ms"].number() if "slo_ms" in c else None,
        )
    return policies, constraints


def load_policies(path: str | Path) -> tuple[list[Policy], Constraints]:
    """Read a policies file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=str(p)) from None
    return parse_policies(text, str(p))
