"""The report's "what changed" section: totals against the baseline, growers, new labels, churn, history."""

from __future__ import annotations

from collections.abc import Callable

import plotly.graph_objects as go
import polars as pl

from costscope.analyze import Analysis
from costscope.report.html.tables import esc, table
from costscope.report.terminal import money


def _history_chart(history: pl.DataFrame) -> go.Figure:
    fig = go.Figure()
    totals = history.filter(pl.col("dimension") == "total")
    for (signal,), rows in totals.group_by("key", maintain_order=True):
        fig.add_trace(go.Scatter(x=rows["started_at"].to_list(), y=rows["monthly_cost"].to_list(),
                                 mode="lines+markers", name=esc(signal)))  # fmt: skip
    fig.update_layout(title="Monthly cost per signal, snapshot by snapshot", yaxis_title="monthly cost")
    return fig


def trends_section(a: Analysis, history: pl.DataFrame, figure_div: Callable[[go.Figure, str], str]) -> str:
    """HTML for "what changed" (a hint when there is nothing to compare with yet)."""
    t = a.trends
    if t is None:
        return '<p class="muted">One snapshot so far: what changed needs an earlier one (run costscope weekly).</p>'
    totals = t.changes.filter(pl.col("dimension") == "total")
    delta = float(totals["cost_delta"].sum())
    parts = [
        f"<p>Since snapshot {t.baseline_id} ({esc(t.baseline_started_at[:16])}): <b>{'+' if delta >= 0 else '−'}"
        f"{esc(money(abs(delta)))}</b> a month.</p>"
    ]
    for b in a.breaches:
        parts.append(f'<p class="bad">Over budget: {esc(b.describe())}</p>')
    if history["snapshot_id"].n_unique() > 1:
        parts.append(figure_div(_history_chart(history), "chart-trends"))
    grew = t.changes.filter((pl.col("dimension") != "total") & (pl.col("status") != "same"))
    parts += [
        "<h3>What grew, and what is new</h3>",
        table(
            grew.sort("cost_delta", descending=True).head(50),
            [
                ("signal", "signal"), ("dimension", "what"), ("key", "name"), ("status", "status"),
                ("volume_before", "before"), ("volume_after", "after"), ("cost_delta", "monthly cost change"),
            ],
            {"volume_before", "volume_after", "cost_delta"},
        ),
    ]  # fmt: skip
    if t.churn.height:
        parts += [
            "<h3>Churn: series that appeared and disappeared</h3>",
            table(t.churn.head(30), [("metric", "metric"), ("appeared", "appeared"), ("disappeared", "disappeared")],
                  {"appeared", "disappeared"}),
        ]  # fmt: skip
    return "".join(parts)
