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

# Sources read series by series fill metric_series; sources counted inside their backend
# (collect: counts) fill counted_series. Every query below reads both.
_TOP_METRICS = """
WITH per_source AS (
    SELECT family, source, count(*) AS series  -- the store holds a series once
    FROM metric_series WHERE snapshot_id = $snap GROUP BY family, source
    UNION ALL
    SELECT family, source, sum(series) AS series FROM counted_series WHERE snapshot_id = $snap GROUP BY ALL
),
s AS (
    SELECT family, sum(series)::BIGINT AS series, list(DISTINCT source ORDER BY source) AS sources
    FROM per_source GROUP BY family
),
m AS (
    SELECT metric AS family, any_value(type) AS type, any_value(help) AS help
    FROM metric_meta WHERE snapshot_id = $snap GROUP BY metric
)
SELECT s.family AS metric, coalesce(m.type, 'unknown') AS type, s.series,
       s.series / sum(s.series) OVER () AS share, s.sources, m.help
FROM s LEFT JOIN m USING (family)
ORDER BY s.series DESC, metric
"""

# Series left without label L, for series that carry L: distinct (series_id xor pair_hash(L)).
# hash(source) is folded in so that equal series of two sources stay two series. Label rows carry
# their family's key (family_id), so nothing here joins them to their series.
# series per family, by its key: the store holds a series once
_FAMILY_SERIES = """
    SELECT family_id, any_value(family) AS family, count(*) AS series
    FROM metric_series WHERE snapshot_id = $snap GROUP BY family_id
"""
_LABEL_DROPS = f"""
WITH fam AS ({_FAMILY_SERIES}),
-- series per (family, label=value), integers only: a label's values and carriers come from it
pairs AS (
    SELECT family_id, pair_hash, any_value(label) AS label, count(*) AS series
    FROM series_labels WHERE snapshot_id = $snap GROUP BY family_id, pair_hash
),
st AS MATERIALIZED (  -- once: the numbering below must be the same for every reader
    SELECT family_id, label, sum(series)::BIGINT AS carriers, count(*) AS label_values,
           row_number() OVER ()::INTEGER AS fl  -- (family, label) as one small integer
    FROM pairs GROUP BY family_id, label
),
-- a label with one value on every series that carries it (a file's job and instance) merges
-- none of them: only the others need the distinct count, the costly part
red AS (
    SELECT st.fl, count(DISTINCT xor(xor(l.series_id, l.pair_hash), hash(l.source))) AS reduced
    FROM series_labels l JOIN st USING (family_id, label)
    WHERE l.snapshot_id = $snap AND st.label_values > 1
    GROUP BY st.fl
)
SELECT f.family AS metric, st.label, f.series AS series_before, coalesce(r.reduced, st.carriers) AS series_after,
       st.carriers, st.label_values
FROM st LEFT JOIN red r USING (fl) JOIN fam f USING (family_id)
"""
# Where some series of a metric lack L, they stay as they are and may meet reduced ones:
# count the union exactly, for those (metric, label) pairs only.
_PARTIAL_DROPS = """
WITH s AS (
    SELECT source, family, series_id FROM metric_series WHERE snapshot_id = $snap
)
SELECT n.metric, n.label,
       count(DISTINCT xor(xor(s.series_id, coalesce(l.pair_hash, 0::UBIGINT)), hash(s.source))) AS series_after
FROM _cs_partial n
JOIN s ON s.family = n.metric
LEFT JOIN series_labels l
  ON l.snapshot_id = $snap AND l.source = s.source AND l.series_id = s.series_id AND l.label = n.label
GROUP BY n.metric, n.label
"""


# Label economics counted by the backend: exact for its top families, cardinality for the rest.
_COUNTED_DROPS = """
WITH t AS (SELECT source, family, sum(series) AS series FROM counted_series WHERE snapshot_id = $snap GROUP BY ALL)
SELECT c.family AS metric, c.label, t.series::BIGINT AS series_before, c.series_after, c.carriers,
       c.label_values, c.coverage
FROM counted_labels c JOIN t USING (source, family) WHERE c.snapshot_id = $snap
"""


def metric_types(store: Store, snapshot_id: int) -> pl.DataFrame:
    """The type (counter, histogram ...) of every metric family of a snapshot."""
    return store.query(
        "SELECT metric, any_value(type) AS type FROM metric_meta WHERE snapshot_id = $snap GROUP BY metric",
        {"snap": snapshot_id},
    )


def price_column(model: CostModel, types: pl.Expr, series: pl.Expr) -> pl.Expr:
    """Monthly cost of ``series`` series of metrics of ``types`` (histograms by the model's rule)."""
    return series * model.series_cost(1.0) * model.series_multiplier_expr(types)


def top_metrics(
    store: Store, snapshot_id: int, model: CostModel, by_job: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Metrics (families) by active series, with their share, monthly cost and jobs."""
    df = store.query(_TOP_METRICS, {"snap": snapshot_id})
    by_job = by_job if by_job is not None else series_by_job(store, snapshot_id, model)
    jobs = (
        by_job.filter(pl.col("job") != "(no job)")
        .group_by("metric")
        .agg(pl.col("job").unique().sort().alias("jobs"))
    )
    df = df.join(jobs, on="metric", how="left").with_columns(pl.col("jobs").fill_null([]))
    return (
        df.with_columns(monthly_cost=price_column(model, pl.col("type"), pl.col("series").cast(pl.Float64)))
        .with_columns(
            # pulled series by series or counted by the backend's PromQL over the window: both exact
            coverage=pl.lit("exact")
        )
        .select("metric", "type", "series", "share", "monthly_cost", "jobs", "sources", "help", "coverage")
    )


def label_drops(store: Store, snapshot_id: int, model: CostModel) -> pl.DataFrame:
    """For every metric × label: series before and after dropping it, and the money saved."""
    df = store.query(_LABEL_DROPS, {"snap": snapshot_id})
    partial = df.filter(pl.col("carriers") < pl.col("series_before")).select("metric", "label")
    if partial.height:
        store.conn.register("_cs_partial", partial.to_arrow())
        try:
            exact = store.query(_PARTIAL_DROPS, {"snap": snapshot_id})
        finally:
            store.conn.unregister("_cs_partial")
        df = df.join(
            exact.rename({"series_after": "exact"}), on=["metric", "label"], how="left"
        ).with_columns(pl.coalesce("exact", "series_after").alias("series_after"))
    df = df.with_columns(coverage=pl.lit("exact"))
    counted = store.query(_COUNTED_DROPS, {"snap": snapshot_id})
    if counted.height:
        df = pl.concat([df, counted.select(df.columns)], how="vertical_relaxed")
        if df.select("metric", "label").is_duplicated().any():  # one family read both ways
            df = df.group_by("metric", "label", maintain_order=True).agg(
                pl.col("series_before", "series_after", "carriers", "label_values").sum(),
                pl.col("coverage").max(),
            )
    types = metric_types(store, snapshot_id)
    df = df.join(types, on="metric", how="left").with_columns(
        series_saved=pl.col("series_before") - pl.col("series_after"),
        # the label alone tells series apart: every series has its own value
        unique_per_series=pl.col("label_values") == pl.col("series_before"),
    )
    return (
        df.with_columns(
            monthly_savings=price_column(
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
            "coverage",
        )
        .sort(["series_saved", "metric", "label"], descending=[True, False, False], nulls_last=True)
    )


def _with_cost(store: Store, snapshot_id: int, model: CostModel, df: pl.DataFrame) -> pl.DataFrame:
    types = metric_types(store, snapshot_id)
    return df.join(types, on="metric", how="left").with_columns(
        monthly_cost=price_column(
            model, pl.col("type").fill_null("unknown"), pl.col("series").cast(pl.Float64)
        )
    )


def series_by_label(store: Store, snapshot_id: int, model: CostModel, label: str = "job") -> pl.DataFrame:
    """Active series and monthly cost per value of ``label`` × metric (``(no <label>)`` when absent)."""
    df = store.query(
        f"""
        -- the store holds a series once, and a label of it once: a family's series without the
        -- label are its series less those with it
        WITH j AS (
            SELECT family_id, value, count(*) AS series
            FROM series_labels WHERE snapshot_id = $snap AND label = $label GROUP BY ALL
        ),
        f AS ({_FAMILY_SERIES})
        SELECT j.value, f.family AS metric, j.series FROM j JOIN f USING (family_id)
        UNION ALL
        SELECT '(no ' || $label || ')', f.family, f.series - coalesce(sum(j.series), 0)
        FROM f LEFT JOIN j USING (family_id) GROUP BY f.family, f.series
        HAVING f.series > coalesce(sum(j.series), 0)
        UNION ALL
        SELECT coalesce(nullif(group_values[list_position(group_labels, $label)], ''), '(no ' || $label || ')'),
               family, sum(series)
        FROM counted_groups WHERE snapshot_id = $snap GROUP BY ALL
        """,
        {"snap": snapshot_id, "label": label},
    )
    df = df.group_by("value", "metric").agg(pl.col("series").sum().cast(pl.Int64))
    df = df.sort(["series", "value", "metric"], descending=[True, False, False])
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
    # a label name is data: bound as a parameter, and its column named by position, never by the name
    params: dict[str, object] = {"snap": snapshot_id}
    column = {}
    for k, label in enumerate(labels):
        params[f"label_{k}"] = label
        column[label] = f"l{k}"
    columns = ", ".join(
        f"max(CASE WHEN l.label = $label_{k} THEN l.value END) AS l{k}" for k in range(len(labels))
    )
    counted = ", ".join(
        f"nullif(group_values[list_position(group_labels, $label_{k})], '') AS l{k}"
        for k in range(len(labels))
    )
    cases = []
    for i, rule in enumerate(rules):
        conds = []
        for j, (label, rx) in enumerate(rule.match):
            params[f"rx_{i}_{j}"] = rx
            conds.append(f"regexp_full_match(coalesce({column[label]}, ''), $rx_{i}_{j})")
        params[f"team_{i}"] = rule.team
        cases.append(f"WHEN {' AND '.join(conds)} THEN $team_{i}")
    df = store.query(
        f"""
        WITH s AS (
            SELECT any_value(ms.family) AS metric, {columns}, 1 AS n
            FROM metric_series ms
            LEFT JOIN series_labels l
              ON l.snapshot_id = ms.snapshot_id AND l.source = ms.source AND l.series_id = ms.series_id
             AND l.label IN ({", ".join(f"$label_{k}" for k in range(len(labels)))})
            WHERE ms.snapshot_id = $snap
            GROUP BY ms.source, ms.series_id
            UNION ALL  -- a group counted by the backend: its series share these label values
            SELECT family AS metric, {counted}, series AS n FROM counted_groups WHERE snapshot_id = $snap
        )
        SELECT CASE {" ".join(cases)} ELSE '(unowned)' END AS team, metric, sum(n)::BIGINT AS series
        FROM s GROUP BY ALL ORDER BY series DESC, team, metric
        """,
        params,
    )
    return _with_cost(store, snapshot_id, model, df)


# Series left when a metric keeps only some of its labels: xor the dropped labels' pair hashes
# out of every series id, then count distinct (exact, like a single-label drop).
_KEEP_ONLY = """
WITH f AS (SELECT DISTINCT family_id, family FROM metric_series WHERE snapshot_id = $snap),
dl AS (SELECT DISTINCT f.family_id, d.label FROM _cs_drop d JOIN f ON f.family = d.metric),
x AS (
    SELECT xor(l.series_id, hash(l.source)) AS k, bit_xor(l.pair_hash) AS x
    FROM series_labels l JOIN dl USING (family_id, label)
    WHERE l.snapshot_id = $snap
    GROUP BY k
),
s AS (
    SELECT family_id, xor(series_id, hash(source)) AS k
    FROM metric_series WHERE snapshot_id = $snap AND family_id IN (SELECT family_id FROM dl)
)
SELECT f.family AS metric, count(DISTINCT xor(s.k, coalesce(x.x, 0::UBIGINT))) AS series_after
FROM s LEFT JOIN x USING (k) JOIN f USING (family_id)
GROUP BY f.family
"""


_COUNTED_KEEP = """
WITH w AS (SELECT metric, list(label ORDER BY label) AS dropped FROM _cs_drop GROUP BY metric),
c AS (SELECT DISTINCT source, family FROM counted_series WHERE snapshot_id = $snap)
SELECT w.metric, sum(k.series_after)::BIGINT AS series_after, count(k.family) = count(*) AS complete
FROM w JOIN c ON c.family = w.metric
LEFT JOIN counted_keep_sets k
  ON k.snapshot_id = $snap AND k.source = c.source AND k.family = w.metric AND k.dropped = w.dropped
GROUP BY w.metric
"""


def keep_only(store: Store, snapshot_id: int, drop: pl.DataFrame) -> pl.DataFrame:
    """Exact series left per metric when the (metric, label) rows of ``drop`` are aggregated away.

    A metric counted inside its backend has the figure only once the backend has counted that
    set (``counted_keep_sets``); until then its ``series_after`` is null.
    """
    if drop.is_empty():
        return pl.DataFrame(schema={"metric": pl.String, "series_after": pl.Int64})
    store.conn.register("_cs_drop", drop.select("metric", "label").to_arrow())
    try:
        pulled = store.query(_KEEP_ONLY, {"snap": snapshot_id})
        counted = store.query(_COUNTED_KEEP, {"snap": snapshot_id})
    finally:
        store.conn.unregister("_cs_drop")
    if counted.is_empty():
        return pulled
    counted = counted.with_columns(
        series_after=pl.when(pl.col("complete")).then(pl.col("series_after")).otherwise(None)
    ).drop("complete")
    both = pl.concat([pulled, counted], how="vertical_relaxed")
    # a metric read both ways sums; one not yet counted by its backend stays null
    return both.group_by("metric", maintain_order=True).agg(
        pl.when(pl.col("series_after").null_count() == 0).then(pl.col("series_after").sum()).otherwise(None)
    )


def dpm_by_job(store: Store, snapshot_id: int, by_job: pl.DataFrame, model: CostModel) -> pl.DataFrame:
    """Data points per minute per job (from scrape stats), and the factor it puts on the bill.

    A vendor that bills the higher of active series and DPM (Grafana Cloud: one DPM per series is
    included) charges a job scraped every 15 s four times its series. ``factor`` is that
    multiplier (1 where the model does not bill DPM or the source has no scrape stats).
    """
    stats = store.query(
        "SELECT job, sum(samples_scraped * 60.0 / coalesce(nullif(interval_s, 0), 60.0)) AS dpm"
        " FROM scrape_stats WHERE snapshot_id = $snap AND job IS NOT NULL GROUP BY job",
        {"snap": snapshot_id},
    )
    series = by_job.group_by("job").agg(pl.col("series").sum())
    out = series.join(stats, on="job", how="inner")
    return out.with_columns(factor=model.dpm_factor(pl.col("dpm"), pl.col("series"))).sort(
        ["dpm", "job"], descending=[True, False]
    )


_UNCOUNTED = """
WITH c AS (SELECT DISTINCT source, family FROM counted_series WHERE snapshot_id = $snap)
SELECT DISTINCT c.source, w.metric, w.dropped
FROM _cs_wanted w JOIN c ON c.family = w.metric
WHERE NOT EXISTS (
    SELECT 1 FROM counted_keep_sets k
    WHERE k.snapshot_id = $snap AND k.source = c.source AND k.family = w.metric AND k.dropped = w.dropped
)
ORDER BY c.source, w.metric
"""
UNCOUNTED_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "source": pl.String,
    "metric": pl.String,
    "dropped": pl.List(pl.String),
}


def uncounted_keep_sets(store: Store, snapshot_id: int, wanted: pl.DataFrame) -> pl.DataFrame:
    """Of the ``wanted`` keep sets (metric, dropped), those of metrics a backend counted but not yet
    that set: (source, metric, dropped), to ask the backend for."""
    if wanted.is_empty():
        return pl.DataFrame(schema=UNCOUNTED_SCHEMA)
    frame = wanted.select("metric", pl.col("dropped").list.sort()).unique()
    store.conn.register("_cs_wanted", frame.to_arrow())
    try:
        return store.query(_UNCOUNTED, {"snap": snapshot_id})
    finally:
        store.conn.unregister("_cs_wanted")
