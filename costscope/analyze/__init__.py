"""Analysis of one snapshot: pure reads of the store, returned as one frozen ``Analysis``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import polars as pl

from costscope.analyze.metrics import label_cardinality, label_drops, series_by_job, top_metrics
from costscope.errors import StoreError
from costscope.pricing import CostModel
from costscope.recommend import recommend_label_drops, recommendations_frame
from costscope.store.database import Store

__all__ = ["Analysis", "analyze_snapshot"]


@dataclass(frozen=True)
class Analysis:
    """Everything costscope found in one snapshot, as polars DataFrames."""

    snapshot_id: int
    status: str
    run_id: str
    started_at: str
    cost_model: CostModel
    metrics: pl.DataFrame
    by_job: pl.DataFrame
    label_drops: pl.DataFrame
    labels: pl.DataFrame
    recommendations: pl.DataFrame
    sources: pl.DataFrame
    errors: pl.DataFrame
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def total_series(self) -> int:
        """Active series across all metrics."""
        return int(self.metrics["series"].sum()) if self.metrics.height else 0

    @property
    def total_monthly_cost(self) -> float:
        """Monthly cost of all metrics under ``cost_model``."""
        return float(self.metrics["monthly_cost"].sum()) if self.metrics.height else 0.0


def _labels_by_metric(store: Store, snapshot_id: int) -> dict[str, list[str]]:
    df = store.query(
        "SELECT ms.family AS metric, list(DISTINCT l.label ORDER BY l.label) AS labels"
        " FROM series_labels l JOIN metric_series ms USING (snapshot_id, source, series_id)"
        " WHERE l.snapshot_id = $snap GROUP BY ms.family",
        {"snap": snapshot_id},
    )
    return {row[0]: list(row[1]) for row in df.iter_rows()}


def analyze_snapshot(store: Store, snapshot_id: int, model: CostModel) -> Analysis:
    """Rank metrics, price every label drop and list actions for ``snapshot_id``."""
    snap = store.query(
        "SELECT id, status, run_id, started_at::VARCHAR AS started_at, stage_timings"
        " FROM snapshots WHERE id = ?",
        [snapshot_id],
    )
    if snap.is_empty():
        raise StoreError(f"no snapshot {snapshot_id}", path=str(store.path))
    row = snap.row(0, named=True)
    metrics = top_metrics(store, snapshot_id, model)
    drops = label_drops(store, snapshot_id, model)
    recs = recommend_label_drops(drops, metrics, _labels_by_metric(store, snapshot_id), model)
    return Analysis(
        snapshot_id=snapshot_id,
        status=row["status"],
        run_id=row["run_id"],
        started_at=row["started_at"],
        cost_model=model,
        metrics=metrics,
        by_job=series_by_job(store, snapshot_id, model),
        label_drops=drops,
        labels=label_cardinality(store, snapshot_id),
        recommendations=recommendations_frame(recs),
        sources=store.snapshot_sources(snapshot_id),
        errors=store.source_errors(snapshot_id),
        timings=json.loads(row["stage_timings"]) if row["stage_timings"] else {},
    )
