"""Analysis of one snapshot: pure reads of the store, returned as one frozen ``Analysis``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from costscope.analyze.histograms import histogram_costs
from costscope.analyze.labels import mask, mask_expr, risky_labels, top_label_pairs
from costscope.analyze.logs import LogsAnalysis, analyze_logs
from costscope.analyze.metrics import (
    dpm_by_job,
    keep_only,
    label_drops,
    metric_types,
    price_column,
    series_by_job,
    series_by_team,
    top_metrics,
)
from costscope.analyze.traces import TracesAnalysis, analyze_traces
from costscope.analyze.trends import WEEK_S, Trends, baseline_for, compare, cost_rows
from costscope.analyze.usage import Usage, analyze_usage
from costscope.config import OwnershipRule
from costscope.errors import StoreError
from costscope.pricing import CostModel
from costscope.recommend import (
    BREAKING,
    Recommendation,
    rank,
    recommend_aggregations,
    recommend_fewer_buckets,
    recommend_keep_used,
    recommend_scrape_intervals,
    recommend_unused_drops,
    recommendations_frame,
)
from costscope.recommend.logs import recommend_logs
from costscope.recommend.sampling import recommend_sampling
from costscope.simulate.engine import Constraints
from costscope.simulate.policies import Policy
from costscope.simulate.policies_file import DEFAULT_POLICIES
from costscope.store.database import Store

__all__ = ["Analysis", "LogsAnalysis", "TracesAnalysis", "Trends", "Usage", "analyze_snapshot"]


@dataclass(frozen=True)
class Analysis:
    """Everything costscope found in one snapshot, as polars DataFrames.

    Values of risky labels (ID-like, possibly personal data) are masked in every frame unless the
    analysis was made with ``show_values=True``.
    """

    snapshot_id: int
    status: str
    run_id: str
    started_at: str
    cost_model: CostModel
    metrics: pl.DataFrame
    by_job: pl.DataFrame
    by_team: pl.DataFrame
    dpm: pl.DataFrame
    label_drops: pl.DataFrame
    keep_sets: pl.DataFrame
    histograms: pl.DataFrame
    labels: pl.DataFrame
    top_pairs: pl.DataFrame
    recommendations: pl.DataFrame
    sources: pl.DataFrame
    errors: pl.DataFrame
    usage: Usage
    logs: LogsAnalysis
    traces: TracesAnalysis
    costs: pl.DataFrame  # this snapshot's cost per signal and dimension (snapshot_costs rows)
    trends: Trends | None  # against the baseline snapshot, when there is one
    breaches: tuple[Any, ...] = ()  # budgets.Breach, when the run was given budgets
    timings: dict[str, float] = field(default_factory=dict)
    values_masked: bool = True

    @property
    def total_series(self) -> int:
        """Active series across all metrics."""
        return int(self.metrics["series"].sum()) if self.metrics.height else 0

    @property
    def total_monthly_cost(self) -> float:
        """Monthly cost of all metrics under ``cost_model``."""
        return float(self.metrics["monthly_cost"].sum()) if self.metrics.height else 0.0

    @property
    def risky_labels(self) -> pl.DataFrame:
        """The labels flagged as ID-like or unbounded, with the reason."""
        return self.labels.filter(pl.col("reason").is_not_null())


def _scaled(df: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Multiply money ``columns`` by the joined ``factor`` column (absent: 1), then drop it."""
    factor = pl.col("factor").fill_null(1.0)
    return df.with_columns(*(pl.col(c) * factor for c in columns)).drop("factor")


def _keep_sets(
    store: Store, snapshot_id: int, model: CostModel, drops: pl.DataFrame, risky: set[str]
) -> pl.DataFrame:
    """For metrics with two or more risky labels: the exact series left without all of them."""
    candidates = drops.filter(
        pl.col("label").is_in(list(risky)) & ~pl.col("label").is_in(["job", "le", "quantile"])
    )
    several = (
        candidates.group_by("metric")
        .agg(pl.col("label").sort().alias("dropped"))
        .filter(pl.col("dropped").list.len() >= 2)
    )
    after = keep_only(store, snapshot_id, several.explode("dropped").rename({"dropped": "label"}))
    before = drops.group_by("metric").agg(pl.col("series_before").first())
    out = (
        several.join(after, on="metric")
        .join(before, on="metric")
        .join(metric_types(store, snapshot_id), on="metric", how="left")
        .with_columns(series_saved=pl.col("series_before") - pl.col("series_after"))
    )
    return out.with_columns(
        monthly_savings=price_column(
            model, pl.col("type").fill_null("unknown"), pl.col("series_saved").cast(pl.Float64)
        )
    ).select("metric", "dropped", "series_before", "series_after", "series_saved", "monthly_savings")


def _one_per_metric(recs: list[Recommendation]) -> list[Recommendation]:
    """A dropped metric needs nothing else; of two reshapings of one metric keep the safer one.

    Aggregations of one metric overlap (their savings do not add up), so one is offered: the one
    that breaks nothing and saves most, else the one that saves most. Bucket cuts stay beside it.
    """
    dropped = {r.target for r in recs if r.kind == "drop_metric"}
    out = [r for r in recs if r.kind == "drop_metric"]
    shapes: dict[str, Recommendation] = {}
    for r in recs:
        metric = r.target.split(" ", 1)[0]
        if r.kind == "drop_metric" or metric in dropped:
            continue
        if r.kind not in ("aggregate", "keep_used_labels"):
            out.append(r)
            continue
        best = shapes.get(metric)
        if best is None or _safer(r, best):
            shapes[metric] = r
    return out + list(shapes.values())


def _safer(a: Recommendation, b: Recommendation) -> bool:
    a_breaks, b_breaks = BREAKING.get(a.risk_level, 0), BREAKING.get(b.risk_level, 0)
    return (a_breaks, -a.monthly_savings) < (b_breaks, -b.monthly_savings)


def analyze_snapshot(
    store: Store,
    snapshot_id: int,
    model: CostModel,
    *,
    ownership: Sequence[OwnershipRule] = (),
    show_values: bool = False,
    policies: Sequence[Policy] = DEFAULT_POLICIES,
    constraints: Constraints | None = None,
    trend_span_s: float = WEEK_S,
) -> Analysis:
    """Rank metrics, price every label drop, flag risky labels and list actions for ``snapshot_id``."""
    snap = store.query(
        "SELECT id, status, run_id, started_at::VARCHAR AS started_at, stage_timings FROM snapshots WHERE id = ?",
        [snapshot_id],
    )
    if snap.is_empty():
        raise StoreError(f"no snapshot {snapshot_id}", path=str(store.path))
    row = snap.row(0, named=True)
    by_job = series_by_job(store, snapshot_id, model)
    metrics = top_metrics(store, snapshot_id, model, by_job)
    risky = risky_labels(store, snapshot_id)
    risky_set = set(risky.filter(pl.col("reason").is_not_null())["label"])
    drops = label_drops(store, snapshot_id, model).join(
        risky.select("label", "id_kind", risky=pl.col("reason").is_not_null()), on="label", how="left"
    )
    per_label = drops.group_by("label").agg(pl.len().alias("metrics"))
    labels = (
        risky.join(per_label, on="label", how="left")
        .select("label", "label_values", "metrics", "series", "values_per_series", "id_kind", "reason")
        .sort(["label_values", "label"], descending=[True, False])
    )
    labels_by_metric = {m: sorted(g["label"]) for (m,), g in drops.group_by("metric")}
    pairs = top_label_pairs(store, snapshot_id)
    keep_sets = _keep_sets(store, snapshot_id, model, drops, risky_set)
    histograms = histogram_costs(store, snapshot_id, model)
    by_team = series_by_team(store, snapshot_id, model, ownership)
    dpm = dpm_by_job(store, snapshot_id, by_job, model)
    if dpm.filter(pl.col("factor") > 1).height:  # the bill follows DPM for some jobs: scale costs
        by_job = by_job.join(dpm.select("job", "factor"), on="job", how="left")
        weighted = (pl.col("series") * pl.col("factor").fill_null(1.0)).sum() / pl.col("series").sum()
        per_metric = by_job.group_by("metric").agg(weighted.alias("factor"))
        by_job = _scaled(by_job, ["monthly_cost"])
        metrics, drops, keep_sets, by_team = (
            _scaled(df.join(per_metric, on="metric", how="left"), cols)
            for df, cols in (
                (metrics, ["monthly_cost"]),
                (drops, ["monthly_savings"]),
                (keep_sets, ["monthly_savings"]),
                (by_team, ["monthly_cost"]),
            )
        )
        histograms = _scaled(
            histograms.join(per_metric, on="metric", how="left"),
            ["fewer_buckets_monthly_savings", "native_monthly_savings"],
        )
    metrics = metrics.sort(["monthly_cost", "series", "metric"], descending=[True, True, False])
    usage = analyze_usage(store, snapshot_id, model, metrics, labels_by_metric)
    logs = analyze_logs(store, snapshot_id, model)
    traces = analyze_traces(store, snapshot_id, model, policies, constraints)
    # before masking: cost rows name metrics, teams, labels and templates, never label values
    costs = cost_rows(metrics, by_team, labels, logs.templates, logs.volume, traces.operations)
    baseline = baseline_for(store, snapshot_id, trend_span_s)
    trends = compare(store, costs, snapshot_id, baseline) if baseline is not None else None
    recs = rank(
        _one_per_metric(
            recommend_unused_drops(usage.metrics, metrics, model)
            + recommend_keep_used(usage.keep_used, metrics, model, usage.guard)
            + recommend_aggregations(drops, keep_sets, metrics, labels_by_metric, model, usage.guard)
            + recommend_fewer_buckets(histograms, model, usage.guard)
        )
        + recommend_scrape_intervals(dpm, by_job, model, usage.guard)
        + recommend_logs(logs, model)
        + recommend_sampling(traces.sampling, model)
    )
    if not show_values:  # last: job values must match the scrape stats' jobs above
        pairs = pairs.with_columns(mask_expr("value", "label", risky_set))
        by_job = by_job.with_columns(mask_expr("job", None, risky_set, "job"))
        metrics = metrics.with_columns(
            pl.col("jobs").list.eval(pl.element().map_elements(mask, return_dtype=pl.String))
            if "job" in risky_set
            else pl.col("jobs")
        )
    return Analysis(
        snapshot_id=snapshot_id,
        status=row["status"],
        run_id=row["run_id"],
        started_at=row["started_at"],
        cost_model=model,
        metrics=metrics,
        by_job=by_job,
        by_team=by_team,
        dpm=dpm,
        label_drops=drops,
        keep_sets=keep_sets,
        histograms=histograms,
        labels=labels,
        top_pairs=pairs,
        recommendations=recommendations_frame(recs),
        sources=store.snapshot_sources(snapshot_id),
        errors=store.source_errors(snapshot_id),
        usage=usage,
        logs=logs,
        traces=traces,
        costs=costs,
        trends=trends,
        timings=json.loads(row["stage_timings"]) if row["stage_timings"] else {},
        values_masked=not show_values,
    )
