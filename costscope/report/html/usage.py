"""The report's usage section: who reads which metric, what nobody reads, and what could not be read."""

from __future__ import annotations

import polars as pl

from costscope.analyze import Analysis
from costscope.report.html.tables import esc, table
from costscope.report.terminal import money


def usage_section(a: Analysis) -> str:
    """HTML for the usage section (a hint on how to add usage when none was read)."""
    usage = a.usage
    if not usage.known:
        return (
            '<p class="muted">No dashboards, rules or SLOs in this snapshot, so no recommendation can say'
            " what it would break. Add a Grafana URL or dashboard JSON files, rule files or a Prometheus"
            " <code>/api/v1/rules</code> source (docs/usage.md).</p>"
        )
    m = usage.metrics
    unused = m.filter(pl.col("status") == "unused")
    cost = float(unused["monthly_cost"].sum()) if unused.height else 0.0
    parts = _queries(a)
    missing = usage.missing.filter(pl.col("kind") != "query")
    if missing.height:  # the most actionable thing for an on-call team: alerts that cannot fire
        parts += [
            "<h3>Broken: readers of metrics no source has</h3>",
            f'<p class="bad">{missing.unique(["kind", "name"]).height} alert(s), rule(s), SLO(s)'
            " or panel(s) read metrics that no source of this snapshot has (a typo, a renamed or dropped"
            " metric, an exporter that is gone): they answer nothing.</p>",
            table(
                missing.head(300),
                [
                    ("kind", "kind"),
                    ("name", "name"),
                    ("panel", "panel or group"),
                    ("metric", "missing metric"),
                    ("via", "through rule"),
                    ("origin", "where"),
                ],
                set(),
            ),
        ]
    parts += [
        f"<p><b>{unused.height:,}</b> of {m.height:,} metrics are read by no dashboard, alert, recording rule,"
        f" SLO or logged query{esc(usage.window_note())}: {int(unused['series'].sum() if unused.height else 0):,}"
        f" series, <b>{esc(money(cost))}</b> per month.</p>",
        "<h3>Unused metrics</h3>",
        table(
            unused.head(200),
            [("metric", "metric"), ("series", "series"), ("monthly_cost", "monthly cost")],
            {"series", "monthly_cost"},
        ),
        "<h3>Used metrics, their readers and the labels they need</h3>",
        table(
            m.filter(pl.col("status") == "used").head(300),
            [
                ("metric", "metric"),
                ("series", "series"),
                ("monthly_cost", "monthly cost"),
                ("dashboards", "dashboards"),
                ("alerts", "alerts"),
                ("recording_rules", "rules"),
                ("slos", "SLOs"),
                ("queries", "queries"),
                ("query_runs", "query runs"),
                ("queriers", "queriers"),
                ("labels_needed", "labels read"),
                ("labels_unused", "labels nobody reads"),
                ("readers", "readers"),
            ],
            {
                "series",
                "monthly_cost",
                "dashboards",
                "alerts",
                "recording_rules",
                "slos",
                "queries",
                "query_runs",
                "queriers",
            },
        ),
    ]
    if usage.keep_used.height:
        parts += [
            "<h3>Keeping only the labels that are read</h3>",
            table(
                usage.keep_used,
                [
                    ("metric", "metric"),
                    ("kept", "labels kept"),
                    ("dropped", "labels dropped"),
                    ("series_before", "before"),
                    ("series_after", "after"),
                    ("monthly_savings", "saves/month"),
                ],
                {"series_before", "series_after", "monthly_savings"},
            ),
        ]
    unread = usage.unread()
    if unread.height:
        parts += [
            f"<h3>Queries that could not be read ({unread.height})</h3>",
            table(
                unread,
                [
                    ("kind", "kind"),
                    ("name", "name"),
                    ("panel", "panel"),
                    ("problem", "problem"),
                    ("message", "why"),
                    ("expr", "expression"),
                ],
                set(),
            ),
        ]
    return "".join(parts)


def _queries(a: Analysis) -> list[str]:
    """What the query logs say: the window they cover, and what is queried but never ingested."""
    usage = a.usage
    window = usage.window
    if window is None:
        return []
    summary = usage.summary()
    days = window.days
    span = f"{days:.1f} days" if days is not None else "an unknown span (the logs carry no times)"
    parts = [
        "<h3>Read by people and programs: the query logs</h3>",
        f"<p>{window.logs} query log(s) with {window.entries:,} query runs over {esc(span)}:"
        f" {summary['queries']:,} distinct queries. A metric no logged query reads was not queried"
        f" <i>in these {esc(span)}</i>; a cut that breaks a query names how often it ran, by how many"
        " queriers and when last.</p>",
    ]
    never = usage.not_ingested()
    if never.height:
        parts += [
            "<h3>Queried but never ingested</h3>",
            f'<p class="bad">{never.height} metric(s) are queried but no source has them (a typo, a metric'
            " renamed or dropped): whoever runs these queries sees nothing.</p>",
            table(
                never.head(200),
                [("metric", "metric"), ("queries", "queries"), ("example", "a query")],
                {"queries"},
            ),
        ]
    return parts
