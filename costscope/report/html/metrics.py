"""What the metric sections show: metrics, scrape rates, histograms, labels, teams, recommendations.

Each function gathers one section's figures and tables; its template
(``templates/sections/<id>.html.j2``) lays them out.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from costscope.analyze import Analysis
from costscope.report.html.charts import Chart
from costscope.report.html.tables import table

__all__ = [
    "dpm_context",
    "histograms_context",
    "labels_context",
    "metrics_context",
    "recommendations_context",
    "teams_context",
]


def metrics_context(a: Analysis, charts: dict[str, Chart | None]) -> dict[str, Any]:
    """The most expensive metrics, with the top-metrics chart and the cost treemap."""
    return {
        "charts": [charts["top_metrics"], charts["treemap"]],
        "table": table(
            a.metrics,
            [("metric", "metric"), ("type", "type"), ("series", "series"), ("share", "share"),
             ("monthly_cost", "monthly cost"), ("jobs", "jobs")],
            {"series", "share", "monthly_cost"},
            limit=500,
        ),
    }  # fmt: skip


def dpm_context(a: Analysis) -> dict[str, Any]:
    """Jobs billed on data points per minute."""
    return {
        "model": a.cost_model.name,
        "table": table(
            a.dpm,
            [("job", "job"), ("series", "series"), ("dpm", "DPM"), ("factor", "bill factor")],
            {"series", "dpm", "factor"},
        )
        if a.dpm.height
        else None,
    }


def histograms_context(a: Analysis) -> dict[str, Any]:
    """What buckets cost, and what fewer buckets or native histograms would save."""
    return {
        "table": table(
            a.histograms,
            [
                ("metric", "metric"),
                ("type", "type"),
                ("points", "buckets/quantiles"),
                ("label_sets", "label sets"),
                ("series", "series"),
                ("fewer_buckets_monthly_savings", "fewer buckets saves/month"),
                ("native_monthly_savings", "native histogram saves/month"),
            ],
            {"points", "label_sets", "series", "fewer_buckets_monthly_savings", "native_monthly_savings"},
        )
        if a.histograms.height
        else None
    }


def labels_context(a: Analysis, charts: dict[str, Chart | None]) -> dict[str, Any]:
    """Risky labels, the label values carried by most series, and what dropping each label leaves."""
    drops = a.label_drops
    exact_top = None
    if (drops["coverage"] == "cardinality_only").any():
        exact_top = drops.filter(pl.col("coverage") == "exact")["metric"].n_unique()
    return {
        "chart": charts["label_values"],
        "risky": table(
            a.risky_labels,
            [("label", "label"), ("label_values", "values"), ("metrics", "metrics"), ("reason", "why")],
            {"label_values", "metrics"},
        )
        if a.risky_labels.height
        else None,
        "masked": a.values_masked,
        "pairs": table(
            a.top_pairs, [("label", "label"), ("value", "value"), ("series", "series")], {"series"}, 20
        ),
        "drops": table(
            drops,
            [
                ("metric", "metric"),
                ("label", "label"),
                ("series_before", "before"),
                ("series_after", "after"),
                ("label_values", "values"),
                ("monthly_savings", "saves/month"),
                ("coverage", "coverage"),
            ],
            {"series_before", "series_after", "label_values", "monthly_savings"},
            limit=500,
        ),
        "exact_top": exact_top,
        "bounds": bool((a.labels["coverage"] != "exact").any()),
    }


def teams_context(a: Analysis) -> dict[str, Any]:
    """Cost per team, by the ownership rules."""
    if not a.by_team.height:
        return {"table": None}
    teams = (
        a.by_team.group_by("team")
        .agg(
            pl.col("series").sum(), pl.col("monthly_cost").sum(), pl.col("metric").n_unique().alias("metrics")
        )
        .sort(["monthly_cost", "team"], descending=[True, False])
    )
    return {
        "table": table(
            teams,
            [
                ("team", "team"),
                ("metrics", "metrics"),
                ("series", "series"),
                ("monthly_cost", "monthly cost"),
            ],
            {"metrics", "series", "monthly_cost"},
        )
    }


def recommendations_context(a: Analysis) -> dict[str, Any]:
    """Every ranked action, with what it would break and its config."""
    return {
        "table": table(
            a.recommendations,
            [("rank", "#"), ("kind", "kind"), ("target", "target"), ("monthly_savings", "saves/month"),
             ("risk", "risk"), ("evidence", "evidence"), ("config", "config")],
            {"rank", "monthly_savings"},
        )
    }  # fmt: skip
