"""A recommendation, how risk is judged, and the ranking: safe actions first, then by money."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import polars as pl

from costscope.analyze.result import RECOMMENDATION_SCHEMA

MIN_SHARE_OF_METRIC = 0.10  # a cut that saves less than 10% of a metric is noise
MIN_MONTHLY_SAVINGS = 0.01
MAX_RECOMMENDATIONS = 50


@dataclass(frozen=True)
class Recommendation:
    """One action: kind, target, monthly savings, risk, evidence and config to paste."""

    kind: str
    target: str
    monthly_savings: float
    series_saved: int
    risk: str
    evidence: str
    config: str
    cost_model: str
    # none | unknown | coarser | dashboard | trace_links | query | recording_rule | alert | errors | slo
    risk_level: str = "unknown"
    # what it changes, for composing actions into a plan: the metric family, the labels it
    # aggregates away, the bucket bounds it drops
    metric: str | None = None
    labels: tuple[str, ...] = ()
    points: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """Plain fields, for JSON and DataFrames."""
        out = asdict(self)
        out["labels"], out["points"] = list(self.labels), list(self.points)
        return out


# (metric, labels it would lose — None: all of it, what the loss does, whether readers only get
# coarser rather than break) -> (risk, risk_level)
Guard = Callable[[str, "list[str] | None", str, bool], tuple[str, str]]
BREAKING = {
    "dashboard": 1, "trace_links": 1, "query": 2, "recording_rule": 3, "alert": 3, "errors": 3, "slo": 4,
}  # fmt: skip


def rank(recs: list[Recommendation]) -> list[Recommendation]:
    """Safe actions first, most money first; then those that break something, least severe first.

    An action that breaks an SLO never outranks one that breaks a dashboard, whatever it saves;
    noise (saves under a cent) is left out; at most 50.
    """
    kept = [r for r in recs if r.monthly_savings >= MIN_MONTHLY_SAVINGS or r.series_saved > 0]

    def key(r: Recommendation) -> tuple[int, float, int, str]:
        return (BREAKING.get(r.risk_level, 0), -r.monthly_savings, -r.series_saved, r.target)

    return sorted(kept, key=key)[:MAX_RECOMMENDATIONS]


def recommendations_frame(recs: list[Recommendation]) -> pl.DataFrame:
    """Recommendations as a DataFrame, ranked by savings (rank 1 saves the most)."""
    rows = [{"rank": i, **r.as_dict()} for i, r in enumerate(recs, 1)]
    return pl.DataFrame(rows, schema=RECOMMENDATION_SCHEMA)
