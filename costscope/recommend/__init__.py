"""Recommend: ranked, savings-estimated, risk-checked actions with config people can paste."""

from costscope.analyze.usage import RISK_UNKNOWN, unknown_guard
from costscope.recommend.metrics import (
    recommend_aggregations,
    recommend_fewer_buckets,
    recommend_keep_used,
    recommend_scrape_intervals,
    recommend_unused_drops,
)
from costscope.recommend.model import (
    BREAKING,
    Guard,
    Recommendation,
    rank,
    recommendations_frame,
)

__all__ = [
    "BREAKING",
    "RISK_UNKNOWN",
    "Guard",
    "Recommendation",
    "rank",
    "recommend_aggregations",
    "recommend_fewer_buckets",
    "recommend_keep_used",
    "recommend_scrape_intervals",
    "recommend_unused_drops",
    "recommendations_frame",
    "unknown_guard",
]
