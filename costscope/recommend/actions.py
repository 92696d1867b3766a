"""Every recommender over one analysis, ranked: the actions a report lists, one shape per metric."""

from __future__ import annotations

import polars as pl

from costscope.analyze.result import Analysis
from costscope.recommend.logs import recommend_logs
from costscope.recommend.metrics import (
    recommend_aggregations,
    recommend_fewer_buckets,
    recommend_keep_used,
    recommend_scrape_intervals,
    recommend_unused_drops,
)
from costscope.recommend.model import BREAKING, Recommendation, rank, recommendations_frame
from costscope.recommend.sampling import recommend_sampling

__all__ = ["recommend"]


def recommend(a: Analysis) -> pl.DataFrame:
    """The ranked actions for ``a`` (found with values unmasked: configs name real jobs)."""
    model, usage = a.cost_model, a.usage
    labels_by_metric = {str(m): sorted(g["label"]) for (m,), g in a.label_drops.group_by("metric")}
    recs = rank(
        _one_per_metric(
            recommend_unused_drops(usage.metrics, a.metrics, model, usage.window_note())
            + recommend_keep_used(usage.keep_used, a.metrics, model, usage.guard)
            + recommend_aggregations(
                a.label_drops, a.keep_sets, a.metrics, labels_by_metric, model, usage.guard
            )
            + recommend_fewer_buckets(a.histograms, model, usage.guard)
        )
        + recommend_scrape_intervals(a.dpm, a.by_job, model, usage.guard)
        + recommend_logs(a.logs, model)
        + recommend_sampling(a.traces.sampling, model)
    )
    return recommendations_frame(recs)


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
