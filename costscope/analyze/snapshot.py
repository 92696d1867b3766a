"""One snapshot's findings: every analysis run on it, costs rescaled where jobs bill on DPM."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

import polars as pl

from costscope.analyze.histograms import histogram_costs
from costscope.analyze.labels import mask, mask_expr, pair_counts, risky_labels, top_label_pairs
from costscope.analyze.logs import analyze_logs
from costscope.analyze.metrics import (
    dpm_by_job,
    keep_only,
    label_drops,
    metric_types,
    price_column,
    series_by_job,
    series_by_team,
    top_metrics,
    uncounted_keep_sets,
)
from costscope.analyze.result import RECOMMENDATION_SCHEMA, Analysis
from costscope.analyze.traces import analyze_traces
from costscope.analyze.trends import WEEK_S, baseline_for, compare, cost_rows
from costscope.analyze.usage import analyze_usage, keep_used_candidates
from costscope.config import OwnershipRule
from costscope.errors import StoreError
from costscope.pricing import CostModel
from costscope.simulate.engine import Constraints
from costscope.simulate.policies import Policy
from costscope.simulate.policies_file import DEFAULT_POLICIES
from costscope.store.database import Store

__all__ = ["masked", "snapshot_findings"]


def _scaled(df: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Multiply money ``columns`` by the joined ``factor`` column (absent: 1), then drop it."""
    factor = pl.col("factor").fill_null(1.0)
    return df.with_columns(*(pl.col(c) * factor for c in columns)).drop("factor")


def _risky_sets(drops: pl.DataFrame, risky: set[str]) -> pl.DataFrame:
    """Per metric with two or more risky labels: those labels (``dropped``)."""
    candidates = drops.filter(
        pl.col("label").is_in(list(risky)) & ~pl.col("label").is_in(["job", "le", "quantile"])
    )
    return (
        candidates.group_by("metric")
        .agg(pl.col("label").sort().alias("dropped"))
        .filter(pl.col("dropped").list.len() >= 2)
    )


def _keep_sets(
    store: Store, snapshot_id: int, model: CostModel, drops: pl.DataFrame, risky: set[str]
) -> pl.DataFrame:
    """For metrics with two or more risky labels: the exact series left without all of them."""
    several = _risky_sets(drops, risky)
    after = keep_only(store, snapshot_id, several.explode("dropped").rename({"dropped": "label"}))
    after = after.filter(pl.col("series_after").is_not_null())  # not counted by its backend yet
    before = drops.group_by("metric").agg(pl.col("series_before").first())
    out = (
        several.join(after, on="metric")
        .join(before, on="metric")
        .join(metric_types(store, snapshot_id), on="metric", how="left")
        .with_columns(series_saved=pl.col("series_before") - pl.col("series_after"))
    )
    # joins keep no order: without the sort, two runs of one snapshot list them differently
    return (
        out.with_columns(
            monthly_savings=price_column(
                model, pl.col("type").fill_null("unknown"), pl.col("series_saved").cast(pl.Float64)
            )
        )
        .select("metric", "dropped", "series_before", "series_after", "series_saved", "monthly_savings")
        .sort(["series_saved", "metric"], descending=[True, False], nulls_last=True)
    )


def snapshot_findings(
    store: Store,
    snapshot_id: int,
    model: CostModel,
    *,
    ownership: Sequence[OwnershipRule] = (),
    policies: Sequence[Policy] = DEFAULT_POLICIES,
    constraints: Constraints | None = None,
    trend_span_s: float = WEEK_S,
) -> Analysis:
    """Rank metrics, price every label drop, flag risky labels, read usage, logs and traces of
    ``snapshot_id`` — values unmasked, and no recommendations yet (``recommend`` adds them)."""
    snap = store.query(
        "SELECT id, status, run_id, started_at::VARCHAR AS started_at, stage_timings FROM snapshots WHERE id = ?",
        [snapshot_id],
    )
    if snap.is_empty():
        raise StoreError(f"no snapshot {snapshot_id}", path=str(store.path))
    row = snap.row(0, named=True)
    by_job = series_by_job(store, snapshot_id, model)
    metrics = top_metrics(store, snapshot_id, model, by_job)
    pairs_read = pair_counts(store, snapshot_id)  # one pass over the label rows for both readers
    risky = risky_labels(store, snapshot_id, pairs_read)
    risky_set = set(risky.filter(pl.col("reason").is_not_null())["label"])
    drops = label_drops(store, snapshot_id, model).join(
        risky.select("label", "id_kind", risky=pl.col("reason").is_not_null()), on="label", how="left"
    )
    per_label = drops.group_by("label").agg(pl.len().alias("metrics"))
    labels = (
        risky.join(per_label, on="label", how="left")
        .select(
            "label", "label_values", "metrics", "series", "values_per_series", "id_kind", "reason", "coverage"
        )
        .sort(["label_values", "label"], descending=[True, False])
    )
    labels_by_metric = {m: sorted(g["label"]) for (m,), g in drops.group_by("metric")}
    pairs = top_label_pairs(store, snapshot_id, pairs=pairs_read)
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
    wanted = pl.concat(
        [_risky_sets(drops, risky_set), keep_used_candidates(usage.metrics).select("metric", "dropped")]
    )
    uncounted = uncounted_keep_sets(store, snapshot_id, wanted)
    logs = analyze_logs(store, snapshot_id, model)
    traces = analyze_traces(store, snapshot_id, model, policies, constraints)
    # before masking: cost rows name metrics, teams, labels and templates, never label values
    costs = cost_rows(metrics, by_team, labels, logs.templates, logs.volume, traces.operations)
    baseline = baseline_for(store, snapshot_id, trend_span_s)
    trends = compare(store, costs, snapshot_id, baseline) if baseline is not None else None
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
        recommendations=pl.DataFrame(schema=RECOMMENDATION_SCHEMA),
        sources=store.snapshot_sources(snapshot_id),
        errors=store.source_errors(snapshot_id),
        usage=usage,
        logs=logs,
        traces=traces,
        costs=costs,
        trends=trends,
        timings=json.loads(row["stage_timings"]) if row["stage_timings"] else {},
        values_masked=False,
        uncounted_keep_sets=uncounted,
    )


def masked(analysis: Analysis) -> Analysis:
    """The analysis with the values of risky labels masked (last: recommendations name real jobs)."""
    risky = set(analysis.risky_labels["label"])
    metrics = analysis.metrics
    if "job" in risky:
        metrics = metrics.with_columns(
            pl.col("jobs").list.eval(pl.element().map_elements(mask, return_dtype=pl.String))
        )
    return replace(
        analysis,
        top_pairs=analysis.top_pairs.with_columns(mask_expr("value", "label", risky)),
        by_job=analysis.by_job.with_columns(mask_expr("job", None, risky, "job")),
        metrics=metrics,
        values_masked=True,
    )
