"""The sampling recommendation: the cheapest policy that meets the constraints, as config to paste.

Config for the policy's own system: the OpenTelemetry Collector (``probabilistic_sampler`` in
``proportional`` mode — consistent sampling that writes ``th`` to tracestate — or
``tail_sampling`` with the policies as compared), the SDK's environment variables, a Jaeger
sampling-strategies document, or Refinery's ``rules.yaml`` (v2).
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl
import yaml

from costscope.display import share
from costscope.pricing import CostModel
from costscope.recommend.model import Recommendation
from costscope.simulate.engine import Simulation
from costscope.simulate.policies import Policy


def _dump(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


def _refinery_condition(c: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"Field": c.get("field"), "Operator": c.get("operator", "=")}
    if "value" in c:
        out["Value"] = c["value"]
    return out


def policy_config(policy: Policy) -> str:
    """The config that runs ``policy`` where it comes from."""
    spec = policy.spec
    if policy.type == "probabilistic":
        pct = spec["sampling_percentage"]
        collector = {
            "processors": {"probabilistic_sampler": {"mode": "proportional", "sampling_percentage": pct}}
        }
        return (
            "# OpenTelemetry Collector: consistent probability sampling (writes th to tracestate)\n"
            + _dump(collector)
            + "---\n# or at the source, in every service's environment (OpenTelemetry SDK)\n"
            + _dump(
                {
                    "env": {
                        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
                        "OTEL_TRACES_SAMPLER_ARG": str(pct / 100),
                    }
                }
            )
        )
    if policy.type == "tail_sampling":
        body = {"decision_wait": spec.get("decision_wait", "10s"), "policies": spec["policies"]}
        return "# OpenTelemetry Collector (contrib): tail sampling\n" + _dump(
            {"processors": {"tail_sampling": body}}
        )
    if policy.type == "jaeger":
        text = json.dumps({k: v for k, v in spec.items()}, indent=2)
        return "# Jaeger sampling strategies (--sampling.strategies-file), as YAML\n" + _dump(
            json.loads(text)
        )
    if policy.type == "refinery_rules":
        rules = []
        for r in spec.get("rules", []):
            rule: dict[str, Any] = {"Name": r.get("name", "rule")}
            if r.get("drop"):
                rule["Drop"] = True
            else:
                rule["SampleRate"] = int(r.get("sample_rate", 1))
            if r.get("conditions"):
                rule["Conditions"] = [_refinery_condition(c) for c in r["conditions"]]
            rules.append(rule)
        doc = {"RulesVersion": 2, "Samplers": {"__default__": {"RulesBasedSampler": {"Rules": rules}}}}
        return "# Refinery rules.yaml\n" + _dump(doc)
    sampler = "EMADynamicSampler" if policy.type == "refinery_dynamic" else "EMAThroughputSampler"
    conf: dict[str, Any] = {
        "FieldList": spec.get("field_list", ["service.name", "name"]),
        "AdjustmentInterval": f"{int(spec.get('adjustment_interval_s', 15))}s",
    }
    if policy.type == "refinery_dynamic":
        conf["GoalSampleRate"] = int(spec.get("goal_sample_rate", 10))
    else:
        conf["GoalThroughputPerSec"] = spec.get("goal_throughput_per_sec", 100)
    doc = {"RulesVersion": 2, "Samplers": {"__default__": {sampler: conf}}}
    return "# Refinery rules.yaml\n" + _dump(doc)


def recommend_sampling(sim: Simulation | None, model: CostModel) -> list[Recommendation]:
    """The recommended policy (cheapest meeting the constraints), if any saves money."""
    if sim is None or sim.recommended is None:
        return []
    row = sim.summary.filter(pl.col("policy") == sim.recommended).row(0, named=True)
    policy = sim.policy(sim.recommended)
    estimable = "RED metrics stay estimable (adjusted counts kept)" if row["estimable"] else (
        "counts from kept traces are not estimable (the policy records no probability): derive RED from metrics"
    )  # fmt: skip
    risk = (
        f"keeps {share(row['error_traces_kept'], 1)} of error traces and {share(row['slow_traces_kept'], 1)} of slow ones"
        f" (> {sim.slow_ms:,.0f} ms); {estimable}"
    )
    p99 = row["worst_p99_error"]
    return [
        Recommendation(
            kind="sampling_policy",
            target=f"traces: {policy.name}",
            monthly_savings=round(float(row["monthly_savings"]), 2),
            series_saved=0,
            risk=risk,
            risk_level="coarser" if row["estimable"] else "trace_links",
            evidence=(
                f"keeps {row['kept_share']:.1%} of spans; worst p99 error {p99:.1%} over operations with"
                f" enough spans; cheapest of {sim.summary.height} policies meeting ≥"
                f" {sim.constraints.min_error_traces_kept:.0%} error traces and p99 within"
                f" {sim.constraints.max_p99_error:.0%}"
                if p99 is not None
                else f"keeps {row['kept_share']:.1%} of spans"
            ),
            config=policy_config(policy),
            cost_model=model.describe(),
        )
    ]
