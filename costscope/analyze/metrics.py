"""Metric cost: ranking by series and money, label cardinality, and exact label-drop savings.

All of it runs in DuckDB over the snapshot's tables, so it scales with the database rather than
with Python memory, and returns polars DataFrames.

Series left after dropping label L from metric M = the number of distinct label sets that remain,
computed exactly: a series id is the xor of its pairs' hashes, so removing L is one more xor,
and the distinct count of the reduced ids is the answer (never a product of cardinalities).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from costscope.config import OwnershipRule
from costscope.pricing import CostModel
from costscope.store.database import Store

_TOP_METRICS = """
WITH s AS (
    SELECT family, count(DISTINCT (source, series_id)) AS series,
           list(DISTINCT source ORDER BY source) AS sources
    FROM metric_series WHERE snapshot_id = $snap GROUP BY family
),
m AS (
    SELECT metric AS family, any_value(type) AS type, any_value(help) AS help
    FROM metric_meta WHERE snapshot_id = $snap GROUP BY metric
),
j AS (
    SELECT ms.family, list(DISTINCT l.value ORDER BY l.value) AS jobs
    FROM series_labels l
    JOIN metric_series ms USING (snapshot_id, source, series_id)
    WHERE l.snapshot_id = $snap AND l.label = 'job'
    GROUP BY ms.family
)
SELECT s.family AS metric, coalesce(m.type, 'unknown') AS type, s.series,
       s.series / sum(s.series) OVER () AS share, s.sources, coalesce(j.jobs, []) AS jobs, m.help
FROM s LEFT JOIN m USING (family) LEFT JOIN j USING (family)
ORDER BY s.series DESC, metric
"""

_LABEL_DROPS = """
WITH s AS (
    SELECT source, family, series_id FROM metric_series WHERE snapshot_id = $snap
),
pairs AS (
    SELECT l.source, l.series_id, l.label, l.value, l.pair_hash AS h
    FROM series_labels l WHERE l.snapshot_id = $snap
),
fl AS (
    SELECT s.family, p.label, count(DISTINCT p.value) AS label_values
    FROM pairs p JOIN s USING (source, series_id)
    GROUP BY s.family, p.label
),
x AS (
    SELECT fl.family, fl.label, s.source, s.series_id,
           xor(s.series_id, coalesce(p.h, 0::UBIGINT)) AS reduced
    FROM s
    JOIN fl ON s.family = fl.family
    LEFT JOIN pairs p
      ON p.source = s.source AND p.series_id = s.series_id
     AND p.label = fl.label
)
SELECT x.family AS metric, x.label,
       count(DISTINCT (x.source, x.series_id)) AS series_before,
       count(DISTINCT (x.source, x.reduced)) AS series_after,
       any_value(fl.label_values) AS label_values
FROM x JOIN fl USING (family, label)
GROUP BY x.family, x.label
"""


def _price_column(model: CostModel, types: pl.Expr, series: pl.Expr) -> pl.Expr:
    multiplier = model.histogram_series_multiplier
    per_series = model.series_cost(1.0)
    factor = pl.when(types.is_in(["histogram", "gaugehistogram"])).then(multiplier).otherwise(1.0)
    return series * per_series * factor


def top_metrics(store: Store, snapshot_id: int, model: CostModel) -> pl.DataFrame:
    """Metrics (families) by active series, with their share and monthly cost."""
    df = store.query(_TOP_METRICS, {"snap": snapshot_id})
    return df.with_columns(
        monthly_cost=_price_column(model, pl.col("type"), pl.col("series").cast(pl.Float64))
    ).select("metric", "type", "series", "share", "monthly_cost", "jobs", "sources", "help")


def label_drops(store: Store, snapshot_id: int, model: CostModel) -> pl.DataFrame:
    """For every metric × label: series before and after dropping it, and the money saved."""
    df = store.query(_LABEL_DROPS, {"snap": snapshot_id})
    types = store.query(
        "SELECT metric, any_value(type) AS type FROM metric_meta WHERE snapshot_id = $snap GROUP BY metric",
        {"snap": snapshot_id},
    )
    df = df.join(types, on="metric", how="left").with_columns(
        series_saved=pl.col("series_before") - pl.col("series_after"),
        # the label alone tells series apart: every series has its own value
        unique_per_series=pl.col("label_values") == pl.col("series_before"),
    )
    return (
        df.with_columns(
            monthly_savings=_price_column(
                model, pl.col("type").fill_null("unknown"), pl.col("series_saved").cast(pl.Float64)
            )
        )
        .select(
            "metric",
            "label",
            "series_before",
            "series_after",
            "series_saved",
            "label_values",
            "unique_per_series",
            "monthly_savings",
        )
        .sort(["series_saved", "metric", "label"], descending=[True, False, False])
    )


def _with_cost(store: Store, snapshot_id: int, model: CostModel, df: pl.DataFrame) -> pl.DataFrame:
    types = store.query(
        "SELECT metric, any_value(type) AS type FROM metric_meta WHERE snapshot_id = $snap GROUP BY metric",
        {"snap": snapshot_id},
    )
    return df.join(types, on="metric", how="left").with_columns(
        monthly_cost=_price_column(
            model, pl.col("type").fill_null("unknown"), pl.col("series").cast(pl.Float64)
        )
    )


def series_by_label(store: Store, snapshot_id: int, model: CostModel, label: str = "job") -> pl.DataFrame:
    """Active series and monthly cost per value of ``label`` × metric (``(no <label>)`` when absent)."""
    df = store.query(
        """
        SELECT coalesce(j.value, '(no ' || $label || ')') AS value, ms.family AS metric,
               count(DISTINCT (ms.source, ms.series_id)) AS series
        FROM metric_series ms
        LEFT JOIN series_labels j
          ON j.snapshot_id = ms.snapshot_id AND j.source = ms.source
         AND j.series_id = ms.series_id AND j.label = $label
        WHERE ms.snapshot_id = $snap
        GROUP BY ALL ORDER BY series DESC, value, metric
        """,
        {"snap": snapshot_id, "label": label},
    )
    return _with_cost(store, snapshot_id, model, df.rename({"value": label}))


def series_by_job(store: Store, snapshot_id: int, model: CostModel) -> pl.DataFrame:
    """Active series and monthly cost per job × metric (series without a job: ``(no job)``)."""
    return series_by_label(store, snapshot_id, model, "job")


def series_by_team(
    store: Store, snapshot_id: int, model: CostModel, rules: Sequence[OwnershipRule]
) -> pl.DataFrame:
    """Active series and monthly cost per team × metric: the first ownership rule a series matches."""
    labels = sorted({label for rule in rules for label, _ in rule.match})
    if not labels:
        empty = pl.DataFrame(schema={"team": pl.String, "metric": pl.String, "series": pl.Int64})
        return _with_cost(store, snapshot_id, model, empty)
    columns = ", ".join(
        f"max(CASE WHEN l.label = '{label}' THEN l.value END) AS \"{label}\"" for label in labels
    )  # label names are [a-zA-Z_][a-zA-Z0-9_]*: safe to inline
    params: dict[str, object] = {"snap": snapshot_id}
    cases = []
    for i, rule in enumerate(rules):
        conds = []
        for j, (label, rx) in enumerate(rule.match):
            params[f"rx_{i}_{j}"] = rx
            conds.append(f"regexp_full_match(coalesce(\"{label}\", ''), $rx_{i}_{j})")
        params[f"team_{i}"] = rule.team
        cases.append(f"WHEN {' AND '.join(conds)} THEN $team_{i}")
    df = store.query(
        f"""
        WITH s AS (
            SELECT ms.source, ms.series_id, any_value(ms.family) AS metric, {columns}
            FROM metric_series ms
            LEFT JOIN series_labels l
              ON l.snapshot_id = ms.snapshot_id AND l.source = ms.source AND l.series_id = ms.series_id
             AND l.label IN ({", ".join(f"'{label}'" for label in labels)})
            WHERE ms.snapshot_id = $snap
            GROUP BY ms.source, ms.series_id
        )
        SELECT CASE {" ".join(cases)} ELSE '(unowned)' END AS team, metric, count(*) AS series
        FROM s GROUP BY ALL ORDER BY series DESC, team, metric
        """,
        params,
    )
    return _with_cost(store, snapshot_id, model, df)


def label_cardinality(store: Store, snapshot_id: int) -> pl.DataFrame:
    """Distinct values per label across all metrics, highest first."""
    return store.query(
        "SELECT l.label, count(DISTINCT l.value) AS label_values, count(DISTINCT ms.family) AS metrics,"
        " count(*) AS series FROM series_labels l JOIN metric_series ms USING (snapshot_id, source, series_id)"
        " WHERE l.snapshot_id = $snap GROUP BY l.label ORDER BY label_values DESC, l.label",
        {"snap": snapshot_id},
    )
