"""What changed: a snapshot against an earlier one, and cost over many snapshots.

Each analysed snapshot leaves its costs in ``snapshot_costs`` — per signal (metrics, logs, traces)
and dimension (total, metric, team, label, template, service): a volume (series, bytes or spans a
month, label values) and money. Comparing two snapshots is then a join of small tables, whatever
the data's size, and stays possible after the raw series of the older one are pruned. Churn (series
that appeared or disappeared) needs both snapshots' series and is computed while they exist.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from costscope.store.database import Store

WEEK_S = 7 * 86_400.0
HIGH_CARDINALITY = 1000  # a new label with this many values is worth a line in the summary

COST_SCHEMA = pl.Schema({
    "signal": pl.String, "dimension": pl.String, "key": pl.String, "volume": pl.Float64, "monthly_cost": pl.Float64,
})  # fmt: skip


def cost_rows(metrics: pl.DataFrame, by_team: pl.DataFrame, labels: pl.DataFrame,
              log_templates: pl.DataFrame, log_volume: pl.DataFrame, trace_ops: pl.DataFrame) -> pl.DataFrame:  # fmt: skip
    """One snapshot's costs as ``snapshot_costs`` rows (from the frames its analysis made)."""
    parts = [
        metrics.select(pl.lit("metrics").alias("signal"), pl.lit("metric").alias("dimension"),
                       pl.col("metric").alias("key"), pl.col("series").cast(pl.Float64).alias("volume"), "monthly_cost"),
        by_team.group_by("team").agg(pl.col("series").sum(), pl.col("monthly_cost").sum()).select(
            pl.lit("metrics").alias("signal"), pl.lit("team").alias("dimension"), pl.col("team").alias("key"),
            pl.col("series").cast(pl.Float64).alias("volume"), "monthly_cost"),
        labels.select(pl.lit("metrics").alias("signal"), pl.lit("label").alias("dimension"), pl.col("label").alias("key"),
                      pl.col("label_values").cast(pl.Float64).alias("volume"), pl.lit(0.0).alias("monthly_cost")),
        log_templates.group_by("template").agg(pl.col("monthly_bytes").sum(), pl.col("monthly_cost").sum()).select(
            pl.lit("logs").alias("signal"), pl.lit("template").alias("dimension"), pl.col("template").alias("key"),
            pl.col("monthly_bytes").alias("volume"), "monthly_cost"),
        log_volume.group_by("service").agg(pl.col("monthly_bytes").sum(), pl.col("monthly_cost").sum()).select(
            pl.lit("logs").alias("signal"), pl.lit("service").alias("dimension"), pl.col("service").fill_null("(none)").alias("key"),
            pl.col("monthly_bytes").alias("volume"), "monthly_cost"),
        trace_ops.group_by("service").agg(pl.col("monthly_spans").sum(), pl.col("monthly_cost").sum()).select(
            pl.lit("traces").alias("signal"), pl.lit("service").alias("dimension"), pl.col("service").alias("key"),
            pl.col("monthly_spans").alias("volume"), "monthly_cost"),
    ]  # fmt: skip
    rows = (
        pl.concat([p.cast(COST_SCHEMA) for p in parts if p.height], how="vertical")
        if any(p.height for p in parts)
        else pl.DataFrame(schema=COST_SCHEMA)
    )
    totals = (
        rows.filter(pl.col("dimension").is_in(["metric", "template", "service"]))
        .filter(~((pl.col("signal") == "logs") & (pl.col("dimension") == "template")))
        .group_by("signal")
        .agg(pl.col("volume").sum(), pl.col("monthly_cost").sum())
        .select(
            "signal",
            pl.lit("total").alias("dimension"),
            pl.col("signal").alias("key"),
            "volume",
            "monthly_cost",
        )
    )
    return pl.concat([rows, totals.cast(COST_SCHEMA)], how="vertical")


@dataclass(frozen=True)
class Trends:
    """A snapshot against its baseline: per signal and dimension, and churn; None fields when no baseline."""

    baseline_id: int
    baseline_started_at: str
    changes: pl.DataFrame  # signal, dimension, key, volume_before/after, cost_before/after, deltas, status
    churn: pl.DataFrame  # metric, appeared, disappeared (series)

    def growers(self, dimension: str, n: int = 10) -> pl.DataFrame:
        """The keys of a dimension whose monthly cost grew most."""
        return (
            self.changes.filter(pl.col("dimension") == dimension).sort("cost_delta", descending=True).head(n)
        )


def baseline_for(store: Store, snapshot_id: int, span_s: float = WEEK_S) -> int | None:
    """The newest analysed snapshot at least ``span_s`` older than ``snapshot_id`` (else the previous one)."""
    rows = store.query(
        "SELECT s.id, epoch(s.started_at) AS t FROM snapshots s"
        " WHERE s.status IN ('complete', 'partial') AND s.id < ?"
        " AND EXISTS (SELECT 1 FROM snapshot_costs c WHERE c.snapshot_id = s.id) ORDER BY s.id DESC",
        [snapshot_id],
    )
    if rows.is_empty():
        return None
    now = store.query("SELECT epoch(started_at) AS t FROM snapshots WHERE id = ?", [snapshot_id])["t"][0]
    old_enough = rows.filter(pl.col("t") <= now - span_s)
    return int((old_enough if old_enough.height else rows)["id"][0])


def compare(store: Store, current: pl.DataFrame, snapshot_id: int, baseline_id: int) -> Trends:
    """``current`` cost rows of ``snapshot_id`` against the stored rows of ``baseline_id``."""
    before = store.query(
        "SELECT signal, dimension, key, volume, monthly_cost FROM snapshot_costs WHERE snapshot_id = ?",
        [baseline_id],
    )
    keys = ["signal", "dimension", "key"]
    changes = (
        current.rename({"volume": "volume_after", "monthly_cost": "cost_after"})
        .join(before.rename({"volume": "volume_before", "monthly_cost": "cost_before"}), on=keys, how="full", coalesce=True)
        .with_columns(
            status=pl.when(pl.col("volume_before").is_null()).then(pl.lit("new"))
            .when(pl.col("volume_after").is_null()).then(pl.lit("gone"))
            .when((pl.col("volume_after") == pl.col("volume_before")) & ((pl.col("cost_after") - pl.col("cost_before")).abs() < 0.005))
            .then(pl.lit("same")).otherwise(pl.lit("changed")),
        )
        .with_columns(pl.col("volume_before", "volume_after", "cost_before", "cost_after").fill_null(0.0))
        .with_columns(
            volume_delta=pl.col("volume_after") - pl.col("volume_before"),
            cost_delta=pl.col("cost_after") - pl.col("cost_before"),
            cost_delta_pct=pl.when(pl.col("cost_before") > 0)
            .then((pl.col("cost_after") - pl.col("cost_before")) / pl.col("cost_before") * 100).otherwise(None),
            volume_delta_pct=pl.when(pl.col("volume_before") > 0)
            .then((pl.col("volume_after") - pl.col("volume_before")) / pl.col("volume_before") * 100).otherwise(None),
        )
        .sort(["signal", "dimension", "cost_delta", "key"], descending=[False, False, True, False])
    )  # fmt: skip
    churn = store.query(
        """
        -- a series id depends on its labels only: the same series from a renamed source is the same series
        WITH a AS (SELECT DISTINCT family, series_id FROM metric_series WHERE snapshot_id = $now),
             b AS (SELECT DISTINCT family, series_id FROM metric_series WHERE snapshot_id = $then)
        SELECT coalesce(a.family, b.family) AS metric,
               count(*) FILTER (WHERE b.series_id IS NULL) AS appeared,
               count(*) FILTER (WHERE a.series_id IS NULL) AS disappeared
        FROM a FULL JOIN b ON a.family = b.family AND a.series_id = b.series_id
        GROUP BY 1 HAVING appeared + disappeared > 0 ORDER BY appeared + disappeared DESC, metric
        """,
        {"now": snapshot_id, "then": baseline_id},
    )
    started = store.query("SELECT started_at::VARCHAR AS t FROM snapshots WHERE id = ?", [baseline_id])["t"][
        0
    ]
    return Trends(baseline_id, str(started), changes, churn)


def history(store: Store) -> pl.DataFrame:
    """Monthly cost per snapshot and signal (and team), oldest first: the report's trend lines."""
    return store.query(
        "SELECT c.snapshot_id, s.started_at, c.signal, c.dimension, c.key, c.monthly_cost, c.volume"
        " FROM snapshot_costs c JOIN snapshots s ON s.id = c.snapshot_id"
        " WHERE c.dimension IN ('total', 'team') ORDER BY s.started_at, c.signal, c.key"
    )
