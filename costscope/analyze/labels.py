"""Risky labels: ID-like values and unbounded cardinality, and masking their values in outputs.

A label is risky when its values look like identifiers (UUIDs, hex hashes, long numeric ids, IP
addresses, e-mail addresses, URLs with ids in the path, timestamps), when its name says it holds
one (``user_id``, ``session``, ``email`` ...), or when it has many values for the series that
carry it. Such labels are what makes a bill grow without bound, and their values may be personal
data: every output masks them unless asked to show them (``--show-values``).

Classification reads a sample of at most ``SAMPLE_VALUES`` distinct values per label, chosen by
hash (so the same snapshot always gives the same sample), and runs the patterns in polars.
"""

from __future__ import annotations

import re

import polars as pl

from costscope.store.database import Store

SAMPLE_VALUES = 2_000
ID_SHARE = 0.5  # a label is ID-like when at least half its sampled values match one pattern ...
MIN_VALUES = 20  # ... and it has this many values: a handful of values can't grow a bill
HIGH_CARDINALITY = 1_000  # distinct values at which a label is unbounded ...
HIGH_RATIO = 0.2  # ... when also at least this share of its series have their own value

# checked in this order; the first pattern most values match names the kind
ID_PATTERNS: dict[str, str] = {
    "uuid": r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$",
    "email": r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$",
    "ip": r"^(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?$|^\[?[0-9a-fA-F:]*:[0-9a-fA-F:]+\]?(?::\d+)?$",
    "timestamp": r"^1[0-9]{9}(?:[0-9]{3})?(?:\.\d+)?$|^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}",
    "hex_hash": r"^(?:0x)?[0-9a-fA-F]{12,}$",
    "numeric_id": r"^[0-9]{5,}$",
    "url_with_id": r"/(?:[0-9]{3,}|[0-9a-fA-F]{12,}|[0-9a-fA-F-]{36})(?:/|$|\?)",
    "prefixed_id": r"^[A-Za-z]{1,8}[-_][0-9a-fA-F]{6,}$",
}
_ID_NAME = re.compile(
    r"(?i)(^|_)(user|customer|account|session|request|trace|span|order|cart|device|client|tenant|visitor)"
    r"_?(id|uuid|key)$|(^|_)(email|e_mail|ip|ip_address|remote_addr|client_ip|uuid|guid|session|token)$"
)

RISKY_SCHEMA = {
    "label": pl.String,
    "label_values": pl.Int64,
    "series": pl.Int64,
    "values_per_series": pl.Float64,
    "id_kind": pl.String,
    "id_share": pl.Float64,
    "reason": pl.String,
    "coverage": pl.String,  # exact | lower_bound | upper_bound (label_values of several sources added)
}


def classify_values(values: pl.Series) -> tuple[str | None, float]:
    """The ID kind most of ``values`` look like (with its share), or (None, best share)."""
    if values.is_empty():
        return None, 0.0
    best_kind, best = None, 0.0
    for kind, pattern in ID_PATTERNS.items():
        share = float(values.str.contains(pattern).cast(pl.Float64).sum()) / len(values)
        if share > best:
            best_kind, best = kind, share
    return (best_kind, best) if best >= ID_SHARE else (None, best)


# A label seen by several sources adds up, so its distinct values are then an upper bound (two
# sources may share values), said in ``coverage``. A backend counted inside itself gives both
# over all its metrics (the values from its index).
_COUNTED_LABEL_STATS = """
SELECT v.label, v.label_values, coalesce(c.carriers, 0) AS series, v.coverage
FROM counted_label_values v
LEFT JOIN (SELECT source, label, sum(carriers) AS carriers FROM counted_labels
           WHERE snapshot_id = $snap GROUP BY ALL) c USING (source, label)
WHERE v.snapshot_id = $snap
"""
PAIR_COUNTS_SCHEMA = {"label": pl.String, "value": pl.String, "series": pl.Int64, "value_hash": pl.UInt64}


def pair_counts(store: Store, snapshot_id: int) -> pl.DataFrame:
    """Series per label=value of the series read one by one, and DuckDB's hash of each value.

    The one pass over a snapshot's label rows that risky labels and top pairs both read: the
    values per label, the series carrying each, and the sample (the values of least hash).
    """
    return store.query(
        "SELECT label, value, count(*) AS series, hash(value) AS value_hash"
        " FROM series_labels WHERE snapshot_id = $snap GROUP BY label, value",
        {"snap": snapshot_id},
    ).cast(PAIR_COUNTS_SCHEMA)  # type: ignore[arg-type]


def _label_stats(store: Store, snapshot_id: int, pairs: pl.DataFrame) -> pl.DataFrame:
    """Distinct values, carrying series and their coverage per label."""
    read = pairs.group_by("label").agg(
        pl.len().alias("label_values"), pl.col("series").sum(), pl.lit("exact").alias("coverage")
    )
    counted = store.query(_COUNTED_LABEL_STATS, {"snap": snapshot_id})
    per = pl.concat([read, counted.select(read.columns)], how="vertical_relaxed")
    return per.group_by("label").agg(
        pl.col("label_values").sum().cast(pl.Int64),
        pl.col("series").sum().cast(pl.Int64),
        pl.when(pl.len() > 1)
        .then(pl.lit("upper_bound"))
        .when((pl.col("coverage") == "lower_bound").any())
        .then(pl.lit("lower_bound"))
        .otherwise(pl.lit("exact"))
        .alias("coverage"),
    )


def _value_sample(store: Store, snapshot_id: int, pairs: pl.DataFrame) -> dict[str, pl.Series]:
    """At most ``SAMPLE_VALUES`` distinct values per label, those of least hash: the same each run."""
    counted = store.query(
        "SELECT label, value, hash(value) AS value_hash FROM"
        " (SELECT label, unnest(sample) AS value FROM counted_label_values WHERE snapshot_id = $snap)",
        {"snap": snapshot_id},
    )
    values = pairs.select("label", "value", "value_hash")
    if counted.height:  # a value may be both read and counted
        values = pl.concat([values, counted.cast(values.schema)]).unique(["label", "value"])
    sample = values.group_by("label").agg(pl.col("value").bottom_k_by("value_hash", SAMPLE_VALUES))
    return {label: frame["value"] for (label,), frame in sample.explode("value").group_by("label")}


def risky_labels(store: Store, snapshot_id: int, pairs: pl.DataFrame | None = None) -> pl.DataFrame:
    """Every label with its cardinality and, for risky ones, why (``reason`` null when not risky).

    ``pairs``: the snapshot's ``pair_counts``, where the caller has them already."""
    pairs = pair_counts(store, snapshot_id) if pairs is None else pairs
    stats = _label_stats(store, snapshot_id, pairs)
    by_label = _value_sample(store, snapshot_id, pairs)
    rows = []
    for label, n_values, series, coverage in stats.select(
        "label", "label_values", "series", "coverage"
    ).iter_rows():
        kind, share = (
            classify_values(by_label.get(label, pl.Series([], dtype=pl.String)))
            if n_values >= MIN_VALUES
            else (None, 0.0)
        )
        ratio = n_values / series if series else 0.0
        reasons = []
        if kind is not None:
            reasons.append(f"{share:.0%} of values look like {kind.replace('_', ' ')}s")
        if _ID_NAME.search(label):
            reasons.append("the name says it holds an identifier")
        if n_values >= HIGH_CARDINALITY and ratio >= HIGH_RATIO:
            reasons.append(f"{n_values:,} values, one per {1 / ratio:.1f} series")
        rows.append(
            {"label": label, "label_values": n_values, "series": series, "values_per_series": ratio,
             "id_kind": kind, "id_share": share, "reason": "; ".join(reasons) or None, "coverage": coverage}
        )  # fmt: skip
    return pl.DataFrame(rows, schema=RISKY_SCHEMA).sort(["label_values", "label"], descending=[True, False])


def mask(value: str, kind: str | None = None) -> str:
    """A value of a risky label as it may be shown: its first characters and the kind."""
    keep = value[:2] if len(value) > 4 else ""
    return f"{keep}…<{kind or 'masked'}>"


def mask_expr(column: str, label_column: str | None, risky: set[str], label: str | None = None) -> pl.Expr:
    """Mask ``column`` where its label (a column, or a fixed ``label``) is risky."""
    is_risky = pl.col(label_column).is_in(list(risky)) if label_column else pl.lit(label in risky)
    masked = pl.col(column).map_elements(mask, return_dtype=pl.String)
    return pl.when(is_risky).then(masked).otherwise(pl.col(column)).alias(column)


def top_label_pairs(
    store: Store, snapshot_id: int, limit: int = 50, pairs: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The label=value pairs carried by the most series (values of risky labels not yet masked).

    ``pairs``: the snapshot's ``pair_counts``, where the caller has them already."""
    pairs = pair_counts(store, snapshot_id) if pairs is None else pairs
    counted = store.query(
        "SELECT label, value, sum(series)::BIGINT AS series FROM counted_pairs WHERE snapshot_id = $snap GROUP BY ALL",
        {"snap": snapshot_id},
    )
    both = pairs.select("label", "value", pl.col("series").cast(pl.Int64))
    if counted.height:  # a pair may be both read and counted
        both = (
            pl.concat([both, counted], how="vertical_relaxed")
            .group_by("label", "value")
            .agg(pl.col("series").sum().cast(pl.Int64))
        )
    if both.height > limit:  # sorting only the pairs that can make the cut, ties included
        both = both.filter(pl.col("series") >= both["series"].top_k(limit).min())
    return both.sort(["series", "label", "value"], descending=[True, False, False]).head(limit)
