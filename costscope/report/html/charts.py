"""The charts of an analysis as plotly figure specs (plain ``{"data", "layout"}`` dicts).

The report hands them to the plotly.js it inlines; the notebook API wraps them in
``plotly.graph_objects.Figure``. Building the dicts directly keeps plotly's Python validators
(a third of a second per report) out of every run. Each chart comes with a sentence that says
what it shows, for readers who can't see it. Every text that comes from the telemetry (metric,
job, label, service names) is HTML-escaped before it reaches plotly, whose labels accept a subset
of HTML. Colours are the Okabe-Ito palette, told apart with any colour vision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from costscope.analyze import Analysis
from costscope.report.html.tables import esc
from costscope.report.terminal import money

TREEMAP_METRICS_PER_GROUP = 40
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000")
Spec = dict[str, Any]


@dataclass(frozen=True)
class Chart:
    """A figure spec, the id of its div and a sentence saying what it shows."""

    id: str
    spec: Spec
    alt: str


def _layout(title: str, height: int, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title},
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
        "colorway": list(PALETTE),
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "xaxis": {"automargin": True, "gridcolor": "#e5e8ec"},
        "yaxis": {"automargin": True, "gridcolor": "#e5e8ec"},
        **extra,
    }


def _listing(names: list[str], values: list[str], more: int) -> str:
    items = "; ".join(f"{n} {v}" for n, v in zip(names, values, strict=True))
    return items + (f"; and {more} more" if more > 0 else "")


def top_metrics_chart(a: Analysis, top: int = 25) -> Chart | None:
    """Horizontal bars: monthly cost of the ``top`` most expensive metrics (a bar opens its panel)."""
    df = a.metrics.head(top)
    if not df.height:
        return None
    names = df["metric"].to_list()
    spec = {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "x": df["monthly_cost"].to_list()[::-1],
                "y": [esc(m) for m in names[::-1]],
                "customdata": names[::-1],  # the raw name: the drill-down panel's key, never markup
                "marker": {"color": PALETTE[0]},
                "hovertemplate": "%{y}: $%{x:,.2f}/month<extra></extra>",
            }
        ],
        "layout": _layout("Monthly cost of the top metrics", 120 + 22 * df.height),
    }
    costs = [money(c) for c in df["monthly_cost"].head(5)]
    alt = "Monthly cost of the most expensive metrics: " + _listing(names[:5], costs, df.height - 5)
    return Chart("chart-top-metrics", spec, alt)


def cost_treemap(a: Analysis) -> Chart | None:
    """Treemap of monthly cost by team (ownership rules) or else by job, then metric."""
    by, group = (a.by_team, "team") if a.by_team.height else (a.by_job, "job")
    if not by.height:
        return None
    ids, labels, parents, values, keys = [], [], [], [], []
    ordered = (
        by.group_by(group).agg(pl.col("monthly_cost").sum().alias("total")).sort("total", descending=True)
    )
    for name, total in ordered.iter_rows():
        gid = f"{group}:{name}"
        ids.append(gid)
        labels.append(esc(name))
        parents.append("")
        values.append(float(total))
        keys.append("")
        rows = by.filter(pl.col(group) == name).sort("monthly_cost", descending=True)
        for r in rows.head(TREEMAP_METRICS_PER_GROUP).iter_rows(named=True):
            ids.append(f"{gid}/{r['metric']}")
            labels.append(esc(r["metric"]))
            parents.append(gid)
            values.append(float(r["monthly_cost"]))
            keys.append(r["metric"])
        rest = rows.slice(TREEMAP_METRICS_PER_GROUP)
        if rest.height:
            ids.append(f"{gid}/(other)")
            labels.append(f"{rest.height} more metrics")
            parents.append(gid)
            values.append(float(rest["monthly_cost"].sum()))
            keys.append("")
    spec = {
        "data": [
            {
                "type": "treemap",
                "ids": ids,
                "labels": labels,
                "parents": parents,
                "values": values,
                "customdata": keys,
                "branchvalues": "total",
                "hovertemplate": "%{label}: $%{value:,.2f}/month<extra></extra>",
            }
        ],
        "layout": _layout(f"Monthly cost by {group} and metric", 520),
    }
    top = ordered.head(5)
    alt = f"Monthly cost by {group}, then metric: " + _listing(
        top[group].to_list(), [money(v) for v in top["total"]], ordered.height - 5
    )
    return Chart("chart-treemap", spec, alt)


def label_values_chart(a: Analysis, top: int = 20) -> Chart | None:
    """Bars: distinct values of the ``top`` labels with the most values."""
    df = a.labels.head(top)
    if not df.height:
        return None
    spec = {
        "data": [
            {
                "type": "bar",
                "x": [esc(x) for x in df["label"]],
                "y": df["label_values"].to_list(),
                "marker": {"color": PALETTE[1]},
            }
        ],
        "layout": _layout("Distinct values per label", 360),
    }
    alt = "Distinct values per label: " + _listing(
        df["label"].head(5).to_list(), [f"{v:,}" for v in df["label_values"].head(5)], df.height - 5
    )
    return Chart("chart-labels", spec, alt)


def logs_chart(a: Analysis) -> Chart | None:
    """Stacked bars: log cost per month by service, one colour per level."""
    if not a.logs.known or not a.logs.volume.height:
        return None
    by = a.logs.volume.with_columns(pl.col("level").fill_null("(none)"))
    services = (
        by.group_by("service")
        .agg(pl.col("monthly_cost").sum())
        .sort("monthly_cost", descending=True)["service"]
    )
    order = services.to_list()
    data = []
    for (level,), rows in by.group_by("level", maintain_order=True):
        cost = dict(zip(rows["service"].to_list(), rows["monthly_cost"].to_list(), strict=True))
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": esc(level),
                "y": [esc(s) for s in order[::-1]],
                "x": [cost.get(s, 0.0) for s in order[::-1]],
            }
        )
    spec = {
        "data": data,
        "layout": _layout("Log cost per month by service and level", 160 + 24 * len(order), barmode="stack"),
    }
    totals = by.group_by("service").agg(pl.col("monthly_cost").sum()).sort("monthly_cost", descending=True)
    alt = "Log cost per month by service: " + _listing(
        totals["service"].head(5).to_list(),
        [money(v) for v in totals["monthly_cost"].head(5)],
        totals.height - 5,
    )
    return Chart("chart-logs", spec, alt)


def sampling_chart(summary: pl.DataFrame, recommended: str | None) -> Chart:
    """Cost per month against the share of error traces kept, one point per sampling policy."""
    names = summary["policy"].to_list()
    spec = {
        "data": [
            {
                "type": "scatter",
                "mode": "markers+text",
                "x": summary["monthly_cost"].to_list(),
                "y": (summary["error_traces_kept"] * 100).to_list(),  # None (no error traces): no point
                "text": [esc(n) for n in names],
                "textposition": "top center",
                "marker": {
                    "size": 12,
                    "symbol": ["star" if n == recommended else "circle" for n in names],
                    # blue meets the constraints, vermillion does not: safe for red-green blindness
                    "color": [PALETTE[0] if ok else PALETTE[3] for ok in summary["meets_constraints"]],
                },
            }
        ],
        "layout": _layout(
            "Sampling policies: monthly cost vs error traces kept (blue: meets the constraints)",
            420,
            xaxis={"title": {"text": "monthly cost"}, "automargin": True},
            yaxis={"title": {"text": "error traces kept (%)"}, "automargin": True},
        ),
    }
    points = [
        f"{n} {money(c)}"
        + (f" keeping {e:.0%} of error traces" if e is not None else " (no error traces to keep)")
        for n, c, e in summary.select("policy", "monthly_cost", "error_traces_kept").iter_rows()
    ]
    alt = "Sampling policies, monthly cost against error traces kept: " + "; ".join(points[:8])
    return Chart("chart-sampling", spec, alt)


def history_chart(history: pl.DataFrame) -> Chart:
    """Lines: monthly cost per signal, snapshot by snapshot."""
    totals = history.filter(pl.col("dimension") == "total")
    data = []
    said = []
    for (signal,), rows in totals.group_by("key", maintain_order=True):
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": esc(signal),
                "x": [str(t) for t in rows["started_at"].to_list()],
                "y": rows["monthly_cost"].to_list(),
            }
        )
        said.append(f"{signal} from {money(rows['monthly_cost'][0])} to {money(rows['monthly_cost'][-1])}")
    spec = {
        "data": data,
        "layout": _layout(
            "Monthly cost per signal, snapshot by snapshot", 380, yaxis={"title": {"text": "monthly cost"}}
        ),
    }
    return Chart("chart-trends", spec, "Monthly cost per signal over the snapshots: " + "; ".join(said))
