"""Two analyses compared: what a change adds to the bill, for a pull request (``costscope diff``).

Metrics that appear or go, series and money per metric before → after, labels a metric gained,
and labels that became risky (ID-like or unbounded) — the cheapest series is the one never shipped.
Values are never shown: a risky label is named with its count of values, an example masked.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from costscope.analyze.labels import mask
from costscope.analyze.result import Analysis, Breach

__all__ = ["Diff", "diff_analyses"]


@dataclass(frozen=True)
class Diff:
    """BASE against HEAD: per metric, new labels, risky labels introduced, and budgets breached."""

    base: str
    head: str
    metrics: pl.DataFrame  # metric, status (new|gone|changed|same), series and monthly cost before/after
    new_labels: pl.DataFrame  # metric, label, label_values, risky, reason: labels a kept metric gained
    risky_introduced: pl.DataFrame  # label, label_values, metrics, reason, example (masked)
    cost_model: str
    breaches: tuple[Breach, ...] = ()

    def _sum(self, column: str) -> float:
        return float(self.metrics[column].sum()) if self.metrics.height else 0.0

    @property
    def series_before(self) -> int:
        """Active series on the BASE side."""
        return int(self._sum("series_before"))

    @property
    def series_after(self) -> int:
        """Active series on the HEAD side."""
        return int(self._sum("series_after"))

    @property
    def cost_before(self) -> float:
        """Monthly cost of BASE's metrics."""
        return self._sum("cost_before")

    @property
    def cost_after(self) -> float:
        """Monthly cost of HEAD's metrics."""
        return self._sum("cost_after")

    @property
    def changed(self) -> pl.DataFrame:
        """The metrics that are new, gone or changed, largest money change first."""
        return self.metrics.filter(pl.col("status") != "same")


def _side(a: Analysis, suffix: str) -> pl.DataFrame:
    return a.metrics.select(
        "metric", pl.col("series").alias(f"series_{suffix}"), pl.col("monthly_cost").alias(f"cost_{suffix}")
    )


def diff_analyses(base: Analysis, head: Analysis, base_name: str, head_name: str) -> Diff:
    """What changes from ``base`` to ``head`` (each an analysis of one side)."""
    metrics = (
        _side(base, "before")
        .join(_side(head, "after"), on="metric", how="full", coalesce=True)
        .with_columns(
            status=pl.when(pl.col("series_before").is_null()).then(pl.lit("new"))
            .when(pl.col("series_after").is_null()).then(pl.lit("gone"))
            .when(pl.col("series_before") != pl.col("series_after")).then(pl.lit("changed"))
            .otherwise(pl.lit("same"))
        )
        .with_columns(pl.col("series_before", "series_after").fill_null(0), pl.col("cost_before", "cost_after").fill_null(0.0))
        .with_columns(
            series_delta=pl.col("series_after") - pl.col("series_before"),
            cost_delta=pl.col("cost_after") - pl.col("cost_before"),
        )
        .sort(["cost_delta", "metric"], descending=[True, False])
        .select("metric", "status", "series_before", "series_after", "series_delta", "cost_before", "cost_after", "cost_delta")
    )  # fmt: skip
    kept = set(base.metrics["metric"])
    had = base.label_drops.select("metric", "label")
    risky = head.labels.select("label", "reason")
    new_labels = (
        head.label_drops.filter(pl.col("metric").is_in(list(kept)))
        .join(had, on=["metric", "label"], how="anti")
        .join(risky, on="label", how="left")
        .select("metric", "label", "label_values", pl.col("reason").is_not_null().alias("risky"), "reason")
        .sort(["risky", "label_values", "metric", "label"], descending=[True, True, False, False])
    )
    was_risky = set(base.risky_labels["label"])
    examples = {  # one value each, masked (a masked analysis has them masked already)
        label: str(value) if head.values_masked else mask(str(value))
        for label, value in head.top_pairs.select("label", "value").unique("label", keep="first").iter_rows()
    }
    introduced = (
        head.risky_labels.filter(~pl.col("label").is_in(list(was_risky)))
        .select("label", "label_values", "metrics", "reason")
        .with_columns(example=pl.col("label").replace_strict(examples, default=None, return_dtype=pl.String))
        .sort(["label_values", "label"], descending=[True, False])
    )
    return Diff(base_name, head_name, metrics, new_labels, introduced, head.cost_model.describe())
