"""The plan: a set of actions applied together, and the exact bill after all of them.

Actions on one metric overlap, so their savings never add up; the plan computes the series left
after all of them at once, from the stored label sets: a dropped metric leaves nothing; the labels
its aggregation removes and the bucket bounds its bucket cut drops compose into one reshaping,
counted exactly (series ids with the dropped labels' pair hashes xor-ed out, bucket series of the
dropped bounds left out, distinct per job). Money follows series within each job × metric cell
(so DPM billing stays as it was), and a job scraped once a minute loses its DPM factor.

Metrics counted inside their backend (``collect: counts``) keep the actions' own figures: their
rows say ``exact`` false.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from costscope.analyze.result import Analysis
from costscope.store.database import Store

__all__ = [
    "COUNTER_TYPES",
    "RISK_LEVELS",
    "MetricChanges",
    "Plan",
    "choose_actions",
    "make_plan",
    "metric_changes",
]

# from safest to most breaking: --risk-up-to takes every action up to and including a level
RISK_LEVELS = ("none", "coarser", "unknown", "dashboard", "trace_links", "query", "recording_rule",
               "alert", "errors", "slo")  # fmt: skip
_METRIC_KINDS = ("drop_metric", "aggregate", "keep_used_labels", "reduce_buckets")
# families whose samples (or some of them) count up: an aggregate of them is a sum of counters
COUNTER_TYPES = ("counter", "histogram", "gaugehistogram", "summary")

_RESHAPED = """
WITH s AS (
    SELECT ms.source, ms.series_id, ms.family, ms.metric AS sample
    FROM metric_series ms JOIN (SELECT DISTINCT metric FROM _cs_shape) f ON f.metric = ms.family
    WHERE ms.snapshot_id = $snap
),
gone AS (  -- bucket series of the bounds a bucket cut drops
    SELECT s.source, s.series_id FROM s
    JOIN series_labels l ON l.snapshot_id = $snap AND l.source = s.source AND l.series_id = s.series_id
     AND l.label = 'le'
    JOIN _cs_points p ON p.metric = s.family AND p.point = l.value
    WHERE s.sample = s.family || '_bucket'
),
kept AS (SELECT * FROM s ANTI JOIN gone USING (source, series_id)),
x AS (  -- the pair hashes of the labels aggregated away
    SELECT k.source, k.series_id, bit_xor(l.pair_hash) AS x
    FROM kept k
    JOIN series_labels l ON l.snapshot_id = $snap AND l.source = k.source AND l.series_id = k.series_id
    JOIN _cs_labels d ON d.metric = k.family AND d.label = l.label
    GROUP BY ALL
),
j AS (SELECT source, series_id, value AS job FROM series_labels WHERE snapshot_id = $snap AND label = 'job')
SELECT k.family AS metric, coalesce(j.job, '(no job)') AS job,
       count(DISTINCT xor(xor(k.series_id, coalesce(x.x, 0::UBIGINT)), hash(k.source))) AS series_after
FROM kept k LEFT JOIN x USING (source, series_id) LEFT JOIN j USING (source, series_id)
GROUP BY ALL
"""


@dataclass(frozen=True)
class Plan:
    """The chosen actions and the bill before → after, per signal, metric and job."""

    actions: pl.DataFrame  # the chosen recommendations, in rank order
    metrics: pl.DataFrame  # metric, series_before, series_after, cost_before, cost_after, exact
    jobs: pl.DataFrame  # job, series_before, series_after, cost_before, cost_after
    teams: pl.DataFrame  # team, series_before, series_after, cost_before, cost_after (pro rata per metric)
    # per metric an action changes: its type, sample names and the jobs exposing it (for the configs)
    shapes: pl.DataFrame  # metric, type, samples, jobs, labels (lists)
    bill_before: dict[str, float]  # per signal (metrics, logs, traces)
    bill_after: dict[str, float]
    cost_model: str

    @property
    def total_before(self) -> float:
        """The monthly bill today."""
        return sum(self.bill_before.values())

    @property
    def total_after(self) -> float:
        """The monthly bill once every chosen action is applied."""
        return sum(self.bill_after.values())


@dataclass(frozen=True)
class MetricChanges:
    """What a plan's metric actions do, per metric: dropped whole, labels summed away, bucket bounds cut."""

    dropped: frozenset[str]
    away: dict[str, list[str]]  # metric -> labels aggregated away (sorted), dropped metrics left out
    points: dict[
        str, list[str]
    ]  # metric -> bucket bounds cut (in the actions' order), dropped metrics left out


def metric_changes(actions: pl.DataFrame) -> MetricChanges:
    """The metric actions among ``actions`` composed per metric (a dropped metric's other cuts vanish)."""
    changes = actions.filter(pl.col("metric").is_not_null())
    dropped = frozenset(changes.filter(pl.col("kind") == "drop_metric")["metric"])
    away: dict[str, list[str]] = {}
    points: dict[str, list[str]] = {}
    for row in changes.filter(~pl.col("metric").is_in(list(dropped))).iter_rows(named=True):
        if row["kind"] in ("aggregate", "keep_used_labels"):
            away.setdefault(row["metric"], []).extend(row["labels"] or [])
        cut = points.setdefault(row["metric"], [])
        cut.extend(p for p in row["points"] or [] if p not in cut)
    return MetricChanges(
        dropped,
        {m: sorted(set(labels)) for m, labels in away.items() if labels},
        {m: cut for m, cut in points.items() if cut},
    )


def choose_actions(
    recommendations: pl.DataFrame,
    risk_up_to: str = "none",
    top: int | None = None,
    ranks: Sequence[int] | None = None,
) -> pl.DataFrame:
    """The actions of a plan: those listed by rank, else every one up to a risk level (the first ``top``)."""
    if ranks is not None:
        return recommendations.filter(pl.col("rank").is_in(list(ranks))).sort("rank")
    if risk_up_to not in RISK_LEVELS:
        raise ValueError(f"risk level must be one of {', '.join(RISK_LEVELS)}")
    allowed = list(RISK_LEVELS[: RISK_LEVELS.index(risk_up_to) + 1])
    chosen = recommendations.filter(pl.col("risk_level").is_in(allowed)).sort("rank")
    return chosen.head(top) if top is not None else chosen


def reshaped_series(
    store: Store, snapshot_id: int, metrics: pl.DataFrame, labels: pl.DataFrame, points: pl.DataFrame
) -> pl.DataFrame:
    """Exact series per (metric, job) of ``metrics`` (those pulled series by series) once ``labels``
    (metric, label) are aggregated away and the bucket bounds ``points`` (metric, point) dropped."""
    shape = metrics.select("metric").unique()
    if shape.is_empty():
        return pl.DataFrame(schema={"metric": pl.String, "job": pl.String, "series_after": pl.Int64})
    conn = store.conn
    for name, frame in (("_cs_shape", shape), ("_cs_labels", labels), ("_cs_points", points)):
        conn.register(name, frame.to_arrow())
    try:
        return store.query(_RESHAPED, {"snap": snapshot_id})
    finally:
        for name in ("_cs_shape", "_cs_labels", "_cs_points"):
            conn.unregister(name)


def make_plan(store: Store, analysis: Analysis, actions: pl.DataFrame) -> Plan:
    """The bill after applying every one of ``actions`` (rows of ``analysis.recommendations``) together."""
    metric_actions = actions.filter(pl.col("kind").is_in(_METRIC_KINDS) & pl.col("metric").is_not_null())
    dropped = set(metric_actions.filter(pl.col("kind") == "drop_metric")["metric"])
    reshape = metric_actions.filter(~pl.col("metric").is_in(list(dropped)))
    labels = reshape.select("metric", pl.col("labels").alias("label")).explode("label").drop_nulls().unique()
    points = reshape.select("metric", pl.col("points").alias("point")).explode("point").drop_nulls().unique()
    after = reshaped_series(store, analysis.snapshot_id, reshape, labels, points)
    pulled = set(after["metric"])
    saved = reshape.group_by("metric").agg(
        pl.col("series_saved").sum()
    )  # counted metrics: the actions' figures
    cells = analysis.by_job.select("job", "metric", "series", "monthly_cost")
    cells = (
        cells.join(after, on=["metric", "job"], how="left")
        .join(saved.rename({"series_saved": "saved"}), on="metric", how="left")
        .with_columns(
            exact=pl.col("metric").is_in(list(pulled | dropped)) | pl.col("saved").is_null(),
            series_after=pl.when(pl.col("metric").is_in(list(dropped)))
            .then(0)
            .when(pl.col("metric").is_in(list(pulled)))
            .then(pl.col("series_after").fill_null(0))
            .when(pl.col("saved").is_not_null())  # counted by its backend: the action's own saving, pro rata
            .then((pl.col("series") * (1 - pl.col("saved") / pl.col("series").sum().over("metric"))).round(0))
            .otherwise(pl.col("series"))
            .cast(pl.Int64),
        )
    )
    slower = set(
        actions.filter(pl.col("kind") == "scrape_interval")["target"].str.extract(r"^job (.*) every 60s$")
    )
    factor = analysis.dpm.select("job", "factor").filter(pl.col("job").is_in(list(slower)))
    cells = (
        cells.join(factor, on="job", how="left")
        .with_columns(
            cost_after=pl.col("monthly_cost")
            * pl.col("series_after")
            / pl.col("series").clip(lower_bound=1)
            / pl.col("factor").fill_null(1.0)
        )
        .rename({"series": "series_before", "monthly_cost": "cost_before"})
    )
    per_metric = (
        cells.group_by("metric")
        .agg(
            pl.col("series_before", "series_after", "cost_before", "cost_after").sum(), pl.col("exact").all()
        )
        .sort(["cost_before", "metric"], descending=[True, False])
    )
    per_job = (
        cells.group_by("job")
        .agg(pl.col("series_before", "series_after", "cost_before", "cost_after").sum())
        .sort(["cost_before", "job"], descending=[True, False])
    )
    before = {
        r["key"]: r["monthly_cost"]
        for r in analysis.costs.filter(pl.col("dimension") == "total").iter_rows(named=True)
    }
    after_bill = dict(before)
    if "metrics" in before:
        after_bill["metrics"] = (
            before["metrics"] - float(per_metric["cost_before"].sum()) + float(per_metric["cost_after"].sum())
        )
    for signal, kinds in (("logs", ("drop_level", "drop_template", "sample_template", "truncate_lines", "log_to_metric")),
                          ("traces", ("sampling_policy",))):  # fmt: skip
        if signal in before:
            cut = float(actions.filter(pl.col("kind").is_in(kinds))["monthly_savings"].sum())
            after_bill[signal] = max(before[signal] - cut, 0.0)
    teams = _per_team(analysis.by_team, per_metric)
    shapes = metric_shapes(store, analysis, sorted(set(metric_actions["metric"])))
    return Plan(
        actions, per_metric, per_job, teams, shapes, before, after_bill, analysis.cost_model.describe()
    )


def _per_team(by_team: pl.DataFrame, per_metric: pl.DataFrame) -> pl.DataFrame:
    """Each team's share of a metric keeps the metric's ratio after/before (teams come from ownership
    rules that may read labels an aggregation removes, so they are pro rata, not recounted)."""
    ratio = per_metric.select(
        "metric",
        (pl.col("series_after") / pl.col("series_before").clip(lower_bound=1)).alias("r"),
        (pl.col("cost_after") / pl.col("cost_before").clip(lower_bound=1e-12)).alias("c"),
    )
    return (
        by_team.join(ratio, on="metric", how="left")
        .group_by("team")
        .agg(
            pl.col("series").sum().alias("series_before"),
            (pl.col("series") * pl.col("r").fill_null(1.0))
            .sum()
            .round(0)
            .cast(pl.Int64)
            .alias("series_after"),
            pl.col("monthly_cost").sum().alias("cost_before"),
            (pl.col("monthly_cost") * pl.col("c").fill_null(1.0)).sum().alias("cost_after"),
        )
        .sort(["cost_before", "team"], descending=[True, False])
    )


def metric_shapes(store: Store, analysis: Analysis, metrics: Sequence[str]) -> pl.DataFrame:
    """Type, sample names (as stored, else from the type) and jobs of each of ``metrics``."""
    wanted = pl.DataFrame({"metric": list(metrics)}, schema={"metric": pl.String})
    store.conn.register("_cs_wanted", wanted.to_arrow())
    try:
        stored = store.query(
            "SELECT DISTINCT ms.family AS metric, ms.metric AS sample FROM metric_series ms"
            " JOIN _cs_wanted w ON w.metric = ms.family WHERE ms.snapshot_id = $snap ORDER BY ALL",
            {"snap": analysis.snapshot_id},
        )
    finally:
        store.conn.unregister("_cs_wanted")
    samples = stored.group_by("metric").agg(pl.col("sample").alias("samples"))
    types = analysis.metrics.select("metric", "type")
    jobs = (
        analysis.by_job.filter(pl.col("job") != "(no job)")
        .group_by("metric")
        .agg(pl.col("job").unique().sort().alias("jobs"))
    )
    shapes = wanted.join(types, on="metric", how="left").join(samples, on="metric", how="left")
    names = analysis.label_drops.group_by("metric").agg(pl.col("label").unique().sort().alias("labels"))
    shapes = (
        shapes.join(jobs, on="metric", how="left")
        .join(names, on="metric", how="left")
        .with_columns(pl.col("jobs", "labels").fill_null(pl.lit([], pl.List(pl.String))))
    )
    derived = [
        list(row["samples"]) if row["samples"] else _samples_of(row["metric"], row["type"])
        for row in shapes.iter_rows(named=True)
    ]
    return shapes.with_columns(pl.Series("samples", derived, dtype=pl.List(pl.String)))


def _samples_of(metric: str, type_: str | None) -> list[str]:
    """The sample names of a family counted inside its backend (no series stored to read them from)."""
    if type_ in ("histogram", "gaugehistogram"):
        return [f"{metric}_bucket", f"{metric}_sum", f"{metric}_count"]
    if type_ == "summary":
        return [metric, f"{metric}_sum", f"{metric}_count"]
    return [metric]
