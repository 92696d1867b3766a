"""The report's logs section: bytes by service and level, the costliest statements, and the cuts."""

from __future__ import annotations

import plotly.express as px
import polars as pl

from costscope.analyze import Analysis
from costscope.report.html.tables import esc, table
from costscope.report.terminal import money


def logs_section(a: Analysis, figure_div: object) -> str:
    """HTML for the logs section (``figure_div(fig, id)`` embeds a chart)."""
    logs = a.logs
    if not logs.known:
        return (
            '<p class="muted">No log sources in this snapshot. Add log files (JSON lines, logfmt, plain text,'
            " gzip) or a Loki URL (docs/logs.md).</p>"
        )
    by = logs.volume.with_columns(pl.col("level").fill_null("(none)"))
    # plotly renders a subset of HTML in labels: every untrusted name goes in escaped
    chart = px.bar(
        by.with_columns(pl.col("service", "level").map_elements(esc, return_dtype=pl.String)),
        x="monthly_cost",
        y="service",
        color="level",
        orientation="h",
        title="Log cost per month by service and level",
    )
    parts = [
        f"<p>Logs cost <b>{esc(money(logs.monthly_cost))}</b> per month under {esc(a.cost_model.describe())},"
        " extrapolated from the period each source covers.</p>",
        figure_div(chart, "chart-logs"),  # type: ignore[operator]
        "<h3>Statements (templates) by cost</h3>",
        table(
            logs.templates.head(100),
            [
                ("template", "template"),
                ("level", "level"),
                ("services", "services"),
                ("lines", "lines"),
                ("monthly_cost", "monthly cost"),
                ("error_lines", "error lines"),
                ("trace_lines", "with trace id"),
                ("example", "example (masked)"),
            ],
            {"lines", "monthly_cost", "error_lines", "trace_lines"},
        ),
        "<h3>What each cut would save, and lose</h3>",
        table(
            logs.actions.head(100),
            [
                ("kind", "action"),
                ("template", "template"),
                ("service", "service"),
                ("level", "level"),
                ("monthly_savings", "saves/month"),
                ("lost_error_lines", "error lines lost"),
                ("lost_trace_lines", "trace-linked lines lost"),
            ],
            {"monthly_savings", "lost_error_lines", "lost_trace_lines"},
        ),
    ]
    readers = logs.readers_frame()
    if readers.height:
        parts += [
            "<h3>What reads these logs (LogQL)</h3>",
            '<p class="muted">A cut of lines these read breaks them: such actions name them in their risk.</p>',
            table(
                readers.with_columns(pl.col("selectors").list.join("; ")),
                [
                    ("kind", "kind"),
                    ("name", "name"),
                    ("panel", "panel"),
                    ("selectors", "selects"),
                    ("templates_read", "statements read"),
                    ("lines_read", "lines"),
                    ("monthly_cost_read", "their cost/month"),
                ],
                {"templates_read", "lines_read", "monthly_cost_read"},
            ),
        ]
    return "".join(parts)
