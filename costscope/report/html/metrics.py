"""The metric sections: headline, metrics, scrape rates, histograms, labels, teams, recommendations."""

from __future__ import annotations

import polars as pl

from costscope.analyze import Analysis
from costscope.report.html.tables import esc, table
from costscope.report.terminal import money

__all__ = [
    "dpm_section",
    "headline_section",
    "histograms_section",
    "labels_section",
    "metrics_section",
    "recommendations_section",
    "teams_section",
]


def headline_section(a: Analysis) -> str:
    """What it costs, and the first actions."""
    recs = a.recommendations
    # each saving is against today's bill and actions on the same series overlap: never add them up
    savings = float(recs["monthly_savings"][0]) if recs.height else 0.0  # ranked: the first saves most
    kpis = (
        f'<div class="kpi"><b>{money(a.total_monthly_cost)}</b><span>metrics per month</span></div>'
        f'<div class="kpi"><b>{a.total_series:,}</b><span>active series</span></div>'
        f'<div class="kpi"><b>{a.metrics.height:,}</b><span>metrics</span></div>'
        + (
            f'<div class="kpi"><b>{money(a.logs.monthly_cost)}</b><span>logs per month</span></div>'
            if a.logs.known
            else ""
        )
        + f'<div class="kpi"><b>{money(savings)}</b><span>saved per month by the first action alone</span></div>'
        + (
            f'<div class="kpi"><b>{money(a.plan_bill[1])} → {money(a.plan_bill[2])}</b><span>the whole bill'
            f" per month after the {a.plan_bill[0]} actions that break nothing, together (costscope plan)</span></div>"
            if a.plan_bill is not None and a.plan_bill[0]
            else ""
        )
    )
    return (
        f'<div class="kpis">{kpis}</div>'
        f'<p class="muted">Costs use {esc(a.cost_model.describe())}; source: {esc(a.cost_model.source)}.</p>'
        + table(
            recs.head(5),
            [("rank", "#"), ("kind", "action"), ("target", "target"), ("monthly_savings", "saves/month")],
            {"rank", "monthly_savings"},
        )
    )


def metrics_section(a: Analysis, charts: list[str]) -> str:
    """The most expensive metrics, with the top-metrics chart and the treemap."""
    return "".join(charts[:2]) + table(
        a.metrics.head(200),
        [
            ("metric", "metric"),
            ("type", "type"),
            ("series", "series"),
            ("monthly_cost", "monthly cost"),
            ("jobs", "jobs"),
        ],
        {"series", "monthly_cost"},
    )


def dpm_section(a: Analysis) -> str:
    """Jobs billed on data points per minute."""
    if not a.dpm.height:
        return (
            '<p class="muted">No scrape statistics in this snapshot (they come from Prometheus-compatible'
            " API sources).</p>"
        )
    return (
        "<p>Jobs scraped more often than once a minute are billed on data points per minute"
        f" (DPM) under {esc(a.cost_model.name)}; their costs above include that factor.</p>"
        + table(
            a.dpm,
            [("job", "job"), ("series", "series"), ("dpm", "DPM"), ("factor", "bill factor")],
            {"series", "dpm", "factor"},
        )
    )


def histograms_section(a: Analysis) -> str:
    """What buckets cost, and what fewer buckets or native histograms would save."""
    if not a.histograms.height:
        return '<p class="muted">No histograms or summaries.</p>'
    return table(
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


def labels_section(a: Analysis, charts: list[str]) -> str:
    """Risky labels, the label values carried by most series, and what dropping each label leaves."""
    if a.risky_labels.height:
        risky = table(
            a.risky_labels,
            [("label", "label"), ("label_values", "values"), ("metrics", "metrics"), ("reason", "why")],
            {"label_values", "metrics"},
        ) + (
            '<p class="muted">Values of these labels are masked everywhere in this report'
            " (they may be personal data); --show-values shows them.</p>"
            if a.values_masked
            else ""
        )
    else:
        risky = '<p class="ok">No label looks like an identifier or grows without bound.</p>'
    return (
        "".join(charts[2:])
        + "<h3>Risky labels</h3>"
        + risky
        + "<h3>Label values carried by the most series</h3>"
        + table(
            a.top_pairs.head(20), [("label", "label"), ("value", "value"), ("series", "series")], {"series"}
        )
        + "<h3>Series left after dropping one label</h3>"
        + table(
            a.label_drops.head(200),
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
        )
        + _coverage_note(a)
    )


def _coverage_note(a: Analysis) -> str:
    """What the figures above cover, when some are not exact."""
    notes = []
    drops = a.label_drops
    if (drops["coverage"] == "cardinality_only").any():
        exact = drops.filter(drops["coverage"] == "exact")["metric"].n_unique()
        notes.append(
            f"Exact for the {exact} largest metrics counted inside their backend; <em>cardinality_only</em> rows"
            " have values and carriers but no series after (raise <code>exact_top</code>)."
        )
    if (a.labels["coverage"] != "exact").any():
        notes.append(
            "Distinct values of labels read from several sources are added (<em>upper_bound</em>), or the"
            " largest metric's stand in where a backend refused the union (<em>lower_bound</em>)."
        )
    return "".join(f'<p class="muted">{n}</p>' for n in notes)


def teams_section(a: Analysis) -> str:
    """Cost per team, by the ownership rules."""
    if not a.by_team.height:
        return (
            '<p class="muted">No ownership rules in the config: add <code>ownership</code> to see cost per'
            " team (docs/config.md).</p>"
        )
    teams = (
        a.by_team.group_by("team")
        .agg(
            pl.col("series").sum(), pl.col("monthly_cost").sum(), pl.col("metric").n_unique().alias("metrics")
        )
        .sort(["monthly_cost", "team"], descending=[True, False])
    )
    return table(
        teams,
        [("team", "team"), ("metrics", "metrics"), ("series", "series"), ("monthly_cost", "monthly cost")],
        {"metrics", "series", "monthly_cost"},
    )


def recommendations_section(a: Analysis) -> str:
    """Every ranked action, with what it would break and its config."""
    return table(
        a.recommendations,
        [
            ("rank", "#"),
            ("kind", "kind"),
            ("target", "target"),
            ("monthly_savings", "saves/month"),
            ("risk", "risk"),
            ("evidence", "evidence"),
            ("config", "config"),
        ],
        {"rank", "monthly_savings"},
    )
