"""What an analysis of one snapshot found: ``Analysis`` and its parts (a leaf: imports no stage above)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl

from costscope.analyze.logs import LogsAnalysis
from costscope.analyze.traces import TracesAnalysis
from costscope.analyze.trends import Trends
from costscope.analyze.usage import Usage
from costscope.pricing import CostModel

__all__ = ["RECOMMENDATION_SCHEMA", "Analysis", "Breach"]

# the columns of ``Analysis.recommendations`` (rows the recommend stage writes)
RECOMMENDATION_SCHEMA: dict[str, Any] = {
    "rank": pl.Int32, "kind": pl.String, "target": pl.String, "monthly_savings": pl.Float64,
    "series_saved": pl.Int64, "risk": pl.String, "evidence": pl.String, "config": pl.String,
    "cost_model": pl.String, "risk_level": pl.String,
    "metric": pl.String, "labels": pl.List(pl.String), "points": pl.List(pl.String),
}  # fmt: skip


@dataclass(frozen=True)
class Breach:
    """A budget exceeded: by what, how far, whose, and what fixes it."""

    budget: str
    severity: str
    kind: str
    target: str
    value: float
    limit: float
    owner: str | None
    fix: str | None

    def describe(self) -> str:
        """One line for a chat message or a terminal."""
        unit = "$" if self.kind in ("team_cost", "signal_cost") else ""
        pct = "%" if self.kind == "metric_growth" else ""
        text = f"[{self.severity}] {self.budget}: {self.target} at {unit}{self.value:,.0f}{pct} (limit {unit}{self.limit:,.0f}{pct})"
        if self.owner:
            text += f"; owner {self.owner}"
        return text + (f"; fix: {self.fix}" if self.fix else "; no recommendation fixes it yet")

    def as_dict(self) -> dict[str, Any]:
        """Plain fields, for JSON."""
        return asdict(self)


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
    breaches: tuple[Breach, ...] = ()  # when the run was given budgets
    timings: dict[str, float] = field(default_factory=dict)
    values_masked: bool = True
    # every action that breaks nothing, applied together: (actions, bill today, bill after)
    plan_bill: tuple[int, float, float] | None = None
    # keep sets of metrics counted inside their backend that it has not counted (yet)
    uncounted_keep_sets: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(
            schema={"source": pl.String, "metric": pl.String, "dropped": pl.List(pl.String)}
        )
    )

    @property
    def total_series(self) -> int:
        """Active series across all metrics."""
        return int(self.metrics["series"].sum()) if self.metrics.height else 0

    @property
    def total_monthly_cost(self) -> float:
        """Monthly cost of all metrics under ``cost_model``."""
        return float(self.metrics["monthly_cost"].sum()) if self.metrics.height else 0.0

    @property
    def failures(self) -> pl.DataFrame:
        """The source errors that made the snapshot partial (``severity`` error)."""
        if "severity" not in self.errors.columns:
            return self.errors
        return self.errors.filter(pl.col("severity") != "warning")

    @property
    def warnings(self) -> pl.DataFrame:
        """Files not recognised, yielding nothing, or read with a caveat (``severity`` warning)."""
        if "severity" not in self.errors.columns:
            return self.errors.clear()
        return self.errors.filter(pl.col("severity") == "warning")

    @property
    def risky_labels(self) -> pl.DataFrame:
        """The labels flagged as ID-like or unbounded, with the reason."""
        return self.labels.filter(pl.col("reason").is_not_null())
