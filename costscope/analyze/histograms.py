"""Histogram and summary cost: what each bucket and quantile costs, and what fewer would save.

A classic histogram costs ``buckets + 2`` series per label set (``_bucket`` per ``le``, ``_sum``,
``_count``); a summary ``quantiles + 2``. Two cheaper shapes are priced exactly from the stored
series: keeping ``TARGET_BUCKETS`` of the buckets (evenly by rank, ``+Inf`` always kept, so
``histogram_quantile`` keeps working, coarser) plus every bound a dashboard, rule or SLO selects
by name (``le="0.5"`` in an apdex or latency SLI: cutting it would break that query), and a native
histogram (one series per label set).
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from costscope.pricing import CostModel
from costscope.store.database import Store

TARGET_BUCKETS = 10  # buckets kept (with +Inf) by a reduce-buckets recommendation
MIN_BUCKETS_TO_REDUCE = 15

_SHAPES = """
WITH fam AS (
    SELECT metric AS family, any_value(type) AS type FROM metric_meta
    WHERE snapshot_id = $snap AND type IN ('histogram', 'gaugehistogram', 'summary') GROUP BY metric
),
s AS (
    SELECT f.family, f.type, ms.metric, ms.source, ms.series_id
    FROM metric_series ms JOIN fam f ON ms.family = f.family
    WHERE ms.snapshot_id = $snap
),
points AS (  -- le of buckets, quantile of summaries
    SELECT s.family, l.value
    FROM s JOIN series_labels l
      ON l.snapshot_id = $snap AND l.source = s.source AND l.series_id = s.series_id
    WHERE (s.type <> 'summary' AND s.metric = s.family || '_bucket' AND l.label = 'le')
       OR (s.type = 'summary' AND s.metric = s.family AND l.label = 'quantile')
    GROUP BY ALL
)
SELECT s.family AS metric, any_value(s.type) AS type,
       count(DISTINCT (s.source, s.series_id)) AS series,
       count(DISTINCT (s.source, s.series_id)) FILTER (
           WHERE s.metric IN (s.family || '_count', s.family || '_gcount')) AS label_sets,
       (SELECT list(p.value) FROM points p WHERE p.family = s.family) AS points
FROM s GROUP BY s.family
UNION ALL  -- counted inside the backend (collect: counts)
SELECT f.family, any_value(f.type), sum(c.series)::BIGINT,
       coalesce(sum(c.series) FILTER (WHERE c.metric IN (f.family || '_count', f.family || '_gcount')), 0)::BIGINT,
       (SELECT list(DISTINCT p.point) FROM counted_points p WHERE p.snapshot_id = $snap AND p.family = f.family)
FROM counted_series c JOIN fam f ON c.family = f.family
WHERE c.snapshot_id = $snap
GROUP BY f.family
"""


_PINNED = """
SELECT regexp_replace(metric, '_bucket$', '') AS family, list(DISTINCT b) AS bounds
FROM (SELECT metric, unnest(bounds) AS b FROM usage_refs
      WHERE snapshot_id = $snap AND name_match = 'exact' AND ends_with(metric, '_bucket'))
GROUP BY ALL
"""


def _le_key(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return float("inf")


def _le_order(value: str) -> tuple[float, str]:
    """By value, then by text: ``0`` and ``0.0`` (two exporters' spellings) in one fixed order."""
    return _le_key(value), value


def kept_buckets(les: list[str], target: int = TARGET_BUCKETS, pinned: Iterable[str] = ()) -> list[str]:
    """``target`` of the bucket bounds, evenly by rank, always with the last (``+Inf``) one, and the ``pinned`` ones."""
    ordered = sorted(les, key=_le_order)
    if len(ordered) <= target:
        return ordered
    step = (len(ordered) - 1) / (target - 1)
    keep = {ordered[round(i * step)] for i in range(target)} | (set(pinned) & set(ordered))
    return sorted(keep, key=_le_order)


def read_by_name(les: list[str], named: Iterable[str]) -> list[str]:
    """The bounds among ``les`` that queries name, compared by value ("0.5" in a query is a series' "5e-01")."""
    wanted = {_le_key(b) for b in named}
    return [le for le in les if _le_key(le) in wanted]


def histogram_costs(store: Store, snapshot_id: int, model: CostModel) -> pl.DataFrame:
    """Per histogram/summary: buckets or quantiles, label sets, series, and the cheaper shapes' savings."""
    df = store.query(_SHAPES, {"snap": snapshot_id})
    pinned = dict(store.query(_PINNED, {"snap": snapshot_id}).iter_rows())
    rows = []
    per_series = model.series_cost(1.0)
    for r in df.iter_rows(named=True):
        points = sorted(r["points"] or [], key=_le_order)
        label_sets = int(r["label_sets"] or 0)
        series = int(r["series"])
        is_hist = r["type"] != "summary"
        mult = model.series_multiplier(r["type"])
        named = read_by_name(points, pinned.get(r["metric"]) or [])
        keep = (
            kept_buckets(points, pinned=named) if is_hist and len(points) >= MIN_BUCKETS_TO_REDUCE else points
        )
        dropped = [p for p in points if p not in set(keep)]
        # every label set has one _bucket series per le it carries; drop the dropped ones
        fewer_saved = label_sets * len(dropped) if dropped else 0
        native_saved = max(series - label_sets, 0) if is_hist else 0
        rows.append(
            {
                "metric": r["metric"], "type": r["type"], "points": len(points), "label_sets": label_sets,
                "series": series, "series_per_label_set": series / label_sets if label_sets else None,
                "kept_points": keep, "dropped_points": dropped, "read_points": named,
                "fewer_buckets_series_saved": fewer_saved,
                "fewer_buckets_monthly_savings": fewer_saved * per_series * mult,
                "native_series_saved": native_saved,
                "native_monthly_savings": native_saved * per_series * mult,
            }
        )  # fmt: skip
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "metric": pl.String, "type": pl.String, "points": pl.Int64, "label_sets": pl.Int64, "series": pl.Int64,
        "series_per_label_set": pl.Float64, "kept_points": pl.List(pl.String), "dropped_points": pl.List(pl.String),
        "read_points": pl.List(pl.String),
        "fewer_buckets_series_saved": pl.Int64, "fewer_buckets_monthly_savings": pl.Float64,
        "native_series_saved": pl.Int64, "native_monthly_savings": pl.Float64,
    }  # fmt: skip
    return pl.DataFrame(rows, schema=schema).sort(["series", "metric"], descending=[True, False])
