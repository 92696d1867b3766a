"""What the logs section shows: cost by service and level, the costliest statements, and the cuts."""

from __future__ import annotations

from typing import Any

import polars as pl

from costscope.analyze import Analysis
from costscope.ingest.attributes import TRUNCATE_AT
from costscope.report.html.charts import logs_chart
from costscope.report.html.tables import Table, number, table

__all__ = ["logs_context", "otel_attribute_table"]

# what an OpenTelemetry attribute costs, on log records or on the resources of logs and spans
_OTEL_COLUMNS = [
    ("scope", "of"),
    ("key", "attribute"),
    ("items", "carried by"),
    ("values", "values"),
    ("max_chars", "longest"),
    ("monthly_cost", "monthly cost"),
    ("delete_saves", "delete saves"),
    ("hash_saves", "hash saves"),
    ("truncate_saves", "truncate saves"),
    ("read_by", "read by"),
    ("config", "config"),
]


def otel_attribute_table(attributes: pl.DataFrame) -> Table | None:
    """The table of ``analyze.attributes.otel_attribute_costs`` rows (None without any); distinct
    values shown as ``10000+`` where the count stopped at its cap."""
    if not attributes.height:
        return None
    values = (
        pl.when(pl.col("values_capped"))
        .then(pl.format("{}+", pl.col("values")))
        .otherwise(pl.col("values").cast(pl.String))
    )
    return table(
        attributes.with_columns(values=values),
        _OTEL_COLUMNS,
        {"items", "max_chars", "monthly_cost", "delete_saves", "hash_saves", "truncate_saves"},
        limit=100,
    )


def logs_context(a: Analysis) -> dict[str, Any]:
    """Log cost, the chart, statements by cost, the cuts and what reads the logs."""
    logs = a.logs
    if not logs.known:
        return {"known": False}
    readers = logs.readers_frame()
    return {
        "known": True,
        "cost": number("monthly_cost", logs.monthly_cost),
        "model": a.cost_model.describe(),
        "chart": logs_chart(a),
        "truncate_at": TRUNCATE_AT,
        "templates": table(
            logs.templates,
            [("template", "template"), ("level", "level"), ("services", "services"), ("lines", "lines"),
             ("monthly_cost", "monthly cost"), ("error_lines", "error lines"), ("trace_lines", "with trace id"),
             ("example", "example (masked)")],
            {"lines", "monthly_cost", "error_lines", "trace_lines"},
            limit=200,
        ),
        "actions": table(
            logs.actions,
            [("kind", "action"), ("template", "template"), ("service", "service"), ("level", "level"),
             ("monthly_savings", "saves/month"), ("lost_error_lines", "error lines lost"),
             ("lost_trace_lines", "trace-linked lines lost")],
            {"monthly_savings", "lost_error_lines", "lost_trace_lines"},
            limit=200,
        ),
        "attributes": otel_attribute_table(logs.attributes),
        "readers": table(
            readers.with_columns(pl.col("selectors").list.join("; ")),
            [("kind", "kind"), ("name", "name"), ("panel", "panel"), ("selectors", "selects"),
             ("templates_read", "statements read"), ("lines_read", "lines"), ("monthly_cost_read", "their cost/month")],
            {"templates_read", "lines_read", "monthly_cost_read"},
        )
        if readers.height
        else None,
    }  # fmt: skip
