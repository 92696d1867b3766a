"""What the "what changed" section shows: totals against the baseline, growers, churn, history."""

from __future__ import annotations

from typing import Any

import polars as pl

from costscope.analyze import Analysis
from costscope.report.html.charts import history_chart
from costscope.report.html.tables import number, table

__all__ = ["trends_context"]


def trends_context(a: Analysis, history: pl.DataFrame) -> dict[str, Any]:
    """The change since the baseline (None when there is nothing to compare with yet)."""
    t = a.trends
    if t is None:
        return {"trends": None}
    totals = t.changes.filter(pl.col("dimension") == "total")
    delta = float(totals["cost_delta"].sum())
    grew = t.changes.filter((pl.col("dimension") != "total") & (pl.col("status") != "same"))
    return {
        "trends": t,
        "baseline_at": t.baseline_started_at[:16],
        "delta": ("+" if delta >= 0 else "−") + number("monthly_cost", abs(delta)),
        "breaches": [b.describe() for b in a.breaches],
        "chart": history_chart(history) if history["snapshot_id"].n_unique() > 1 else None,
        "grew": table(
            grew.sort("cost_delta", descending=True),
            [("signal", "signal"), ("dimension", "what"), ("key", "name"), ("status", "status"),
             ("volume_before", "before"), ("volume_after", "after"), ("cost_delta", "monthly cost change")],
            {"volume_before", "volume_after", "cost_delta"},
            limit=200,
        ),
        "churn": table(
            t.churn, [("metric", "metric"), ("appeared", "appeared"), ("disappeared", "disappeared")],
            {"appeared", "disappeared"}, limit=100,
        )
        if t.churn.height
        else None,
    }  # fmt: skip
