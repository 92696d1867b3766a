"""The plotly figures of an analysis, shared by the HTML report and the notebook API.

Every text that comes from the telemetry (metric names, job names, label names) is HTML-escaped
before it reaches plotly, whose labels accept a subset of HTML.
"""

from __future__ import annotations

import html

import plotly.graph_objects as go

from costscope.analyze import Analysis

TREEMAP_METRICS_PER_JOB = 40


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def top_metrics_chart(a: Analysis, top: int = 25) -> go.Figure | None:
    """Horizontal bars: monthly cost of the ``top`` most expensive metrics."""
    df = a.metrics.head(top)
    if not df.height:
        return None
    fig = go.Figure(
        go.Bar(
            x=df["monthly_cost"].to_list()[::-1],
            y=[_esc(m) for m in df["metric"].to_list()[::-1]],
            orientation="h",
            hovertemplate="%{y}: $%{x:,.2f}/month<extra></extra>",
        )
    )
    fig.update_layout(title="Monthly cost of the top metrics", height=120 + 22 * df.height)
    return fig


def series_treemap(a: Analysis) -> go.Figure | None:
    """Treemap of active series by job, then metric (the long tail of a job folded together)."""
    if not a.by_job.height:
        return None
    ids, labels, parents, values = [], [], [], []
    for (job,), group in a.by_job.group_by("job", maintain_order=True):
        jid = f"job:{job}"
        ids.append(jid)
        labels.append(_esc(job))
        parents.append("")
        values.append(int(group["series"].sum()))
        for r in group.head(TREEMAP_METRICS_PER_JOB).iter_rows(named=True):
            ids.append(f"{jid}/{r['metric']}")
            labels.append(_esc(r["metric"]))
            parents.append(jid)
            values.append(int(r["series"]))
        rest = group.slice(TREEMAP_METRICS_PER_JOB)
        if rest.height:
            ids.append(f"{jid}/(other)")
            labels.append(f"{rest.height} more metrics")
            parents.append(jid)
            values.append(int(rest["series"].sum()))
    fig = go.Figure(go.Treemap(ids=ids, labels=labels, parents=parents, values=values, branchvalues="total"))
    fig.update_layout(title="Active series by job and metric", height=520)
    return fig


def label_values_chart(a: Analysis, top: int = 20) -> go.Figure | None:
    """Bars: distinct values of the ``top`` labels with the most values."""
    df = a.labels.head(top)
    if not df.height:
        return None
    fig = go.Figure(go.Bar(x=[_esc(x) for x in df["label"]], y=df["label_values"].to_list()))
    fig.update_layout(title="Distinct values per label", height=360)
    return fig
