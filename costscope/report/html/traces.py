"""What the traces section shows: span cost by operation, attribute cost and the sampling trade-off."""

from __future__ import annotations

from typing import Any

from costscope.analyze import Analysis
from costscope.ingest.attributes import TRUNCATE_AT
from costscope.report.html.charts import sampling_chart
from costscope.report.html.drill import operation_key
from costscope.report.html.logs import otel_attribute_table
from costscope.report.html.tables import number, table

__all__ = ["traces_context"]


def traces_context(a: Analysis) -> dict[str, Any]:
    """Operations by cost, attribute cost and sampling policies compared on this traffic."""
    t = a.traces
    if not t.known:
        return {"known": False}
    ops = t.operations.with_columns(operation_key())
    sim = t.sampling
    return {
        "known": True,
        "cost": number("monthly_cost", t.monthly_cost),
        "model": a.cost_model.describe(),
        "operations": table(
            ops,
            [("service", "service"), ("operation", "operation"), ("spans", "spans"), ("error_spans", "errors"),
             ("p50_ms", "p50"), ("p99_ms", "p99"), ("monthly_cost", "monthly cost")],
            {"spans", "error_spans", "p50_ms", "p99_ms", "monthly_cost"},
            limit=200,
        ),
        "truncate_at": TRUNCATE_AT,
        "attributes": table(
            t.attributes,
            [("key", "attribute"), ("spans", "spans"), ("values", "values"), ("max_chars", "longest"),
             ("monthly_cost", "monthly cost"), ("delete_saves", "delete saves"), ("hash_saves", "hash saves"),
             ("truncate_saves", "truncate saves"), ("read_by", "read by"), ("config", "config")],
            {"spans", "values", "max_chars", "monthly_cost", "delete_saves", "hash_saves", "truncate_saves"},
            limit=100,
        )
        if t.attributes.height
        else None,
        "resources": otel_attribute_table(t.resource_attributes),
        "sampling": sim,
        "constraints": sim.constraints if sim is not None else None,
        "chart": sampling_chart(sim.summary, sim.recommended) if sim is not None else None,
        "policies": table(
            sim.summary,
            [("policy", "policy"), ("type", "type"), ("kept_share", "spans kept"), ("monthly_cost", "monthly cost"),
             ("monthly_savings", "saves/month"), ("error_traces_kept", "error traces kept"),
             ("slow_traces_kept", "slow traces kept"), ("worst_p99_error", "worst p99 error"),
             ("estimable", "RED estimable")],
            {"kept_share", "monthly_cost", "monthly_savings", "error_traces_kept", "slow_traces_kept",
             "worst_p99_error"},
        )
        if sim is not None
        else None,
    }  # fmt: skip
