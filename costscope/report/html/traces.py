"""The report's traces section: span cost by operation and the sampling trade-off."""

from __future__ import annotations

from collections.abc import Callable

import plotly.graph_objects as go
import polars as pl

from costscope.analyze import Analysis
from costscope.analyze.attributes import TRUNCATE_AT
from costscope.report.html.tables import esc, table
from costscope.report.terminal import money


def _tradeoff(summary: pl.DataFrame, recommended: str | None) -> go.Figure:
    """Cost per month against the share of error traces kept, one point per policy."""
    names = [esc(n) for n in summary["policy"]]
    fig = go.Figure(
        go.Scatter(
            x=summary["monthly_cost"].to_list(),
            y=(summary["error_traces_kept"] * 100).to_list(),
            mode="markers+text",
            text=names,
            textposition="top center",
            marker={
                "size": 12,
                "symbol": ["star" if n == recommended else "circle" for n in summary["policy"]],
                "color": ["#1a7f37" if ok else "#b42318" for ok in summary["meets_constraints"]],
            },
        )
    )
    fig.update_layout(
        title="Sampling policies: monthly cost vs error traces kept (green: meets the constraints)",
        xaxis_title="monthly cost",
        yaxis_title="error traces kept (%)",
    )
    return fig


def traces_section(a: Analysis, figure_div: Callable[[go.Figure, str], str]) -> str:
    """HTML for the traces section."""
    t = a.traces
    if not t.known:
        return (
            '<p class="muted">No trace sources in this snapshot. Add OTLP, Zipkin or Jaeger JSON files, or a'
            " Jaeger or Tempo URL (docs/traces.md).</p>"
        )
    parts = [
        f"<p>Spans cost <b>{esc(money(t.monthly_cost))}</b> per month under {esc(a.cost_model.describe())}.</p>",
        table(
            t.operations.head(100),
            [
                ("service", "service"), ("operation", "operation"), ("spans", "spans"), ("error_spans", "errors"),
                ("p50_ms", "p50 ms"), ("p99_ms", "p99 ms"), ("monthly_cost", "monthly cost"),
            ],
            {"spans", "error_spans", "p50_ms", "p99_ms", "monthly_cost"},
        ),
    ]  # fmt: skip
    if t.attributes.height:
        parts += [
            "<h3>What each span attribute costs</h3>",
            "<p>Bytes per attribute key across spans, a month; what deleting it, hashing its values or"
            f" cutting them at {TRUNCATE_AT} characters would save, and the sampling policies that read it.</p>",
            table(
                t.attributes.head(50),
                [
                    ("key", "attribute"), ("spans", "spans"), ("values", "values"), ("max_chars", "longest"),
                    ("monthly_cost", "monthly cost"), ("delete_saves", "delete saves"), ("hash_saves", "hash saves"),
                    ("truncate_saves", "truncate saves"), ("read_by", "read by"), ("config", "config"),
                ],
                {"spans", "values", "max_chars", "monthly_cost", "delete_saves", "hash_saves", "truncate_saves"},
            ),
        ]  # fmt: skip
    sim = t.sampling
    if sim is not None:
        c = sim.constraints
        rec = (
            f"<p>Recommended: <b>{esc(sim.recommended)}</b>, the cheapest policy keeping ≥"
            f" {c.min_error_traces_kept:.0%} of error traces with p99 latency within {c.max_p99_error:.0%}.</p>"
            if sim.recommended
            else '<p class="bad">No policy compared meets the constraints.</p>'
        )
        parts += [
            "<h3>Sampling policies on this traffic</h3>",
            rec,
            figure_div(_tradeoff(sim.summary, sim.recommended), "chart-sampling"),
            table(
                sim.summary,
                [
                    ("policy", "policy"), ("type", "type"), ("kept_share", "spans kept"),
                    ("monthly_cost", "monthly cost"), ("monthly_savings", "saves/month"),
                    ("error_traces_kept", "error traces kept"), ("slow_traces_kept", "slow traces kept"),
                    ("worst_p99_error", "worst p99 error"), ("estimable", "RED estimable"),
                ],
                {"kept_share", "monthly_cost", "monthly_savings", "error_traces_kept", "slow_traces_kept",
                 "worst_p99_error"},
            ),
        ]  # fmt: skip
    return "".join(parts)
