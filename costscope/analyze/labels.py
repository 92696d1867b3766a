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


# Distinct values and carrying series per label. A backend counted inside itself gives both over
# all its metrics (the values from its index); a label seen by several sources adds up, so its
# distinct values are then an upper bound (two sources may share values), said in ``coverage``.
_LABEL_STATS = """
WITH per AS (
    -- values told apart by the hash of 'label=value', as label drops count them: an integer set
    SELECT label, count(DISTINCT pair_hash) AS label_values, count(*) AS series, 'exact' AS coverage
    FROM series_labels WHERE snapshot_id = $snap GROUP BY label
    UNION ALL
    SELECT v.label, v.label_values, coalesce(c.carriers, 0), v.coverage
    FROM counted_label_values v
    LEFT JOIN (SELECT source, label, sum(carriers) AS carriers FROM counted_labels
               WHERE snapshot_id = $snap GROUP BY ALL) c USING (source, label)
    WHERE v.snapshot_id = $snap
)
SELECT label, sum(label_values)::BIGINT AS label_values, sum(series)::BIGINT AS series,
       CASE WHEN count(*) > 1 THEN 'upper_bound' WHEN bool_or(coverage = 'lower_bound') THEN 'lower_bound'
            ELSE 'exact' END AS coverage
FROM per GROUP BY label
"""


def risky_labels(store: Store, snapshot_id: int) -> pl.DataFrame:
    """Every label with its cardinality and, for risky ones, why (``reason`` null when not risky)."""
    stats = store.query(_LABEL_STATS, {"snap": snapshot_id})
    sample = store.query(
        "SELECT label, value FROM (SELECT DISTINCT label, value FROM series_labels WHERE snapshot_id = $snap"
        " UNION SELECT label, unnest(sample) FROM counted_label_values WHERE snapshot_id = $snap)"
        f" QUALIFY row_number() OVER (PARTITION BY label ORDER BY hash(value)) <= {SAMPLE_VALUES}",
        {"snap": snapshot_id},
    )
    by_label = {label[0]: frame["value"] for label, frame in sample.group_by("label")}
    rows = []
    for label, n_values, series, coverage in stats.iter_rows():
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


def top_label_pairs(store: Store, snapshot_id: int, limit: int = 50) -> pl.DataFrame:
    """The label=value pairs carried by the most series (values of risky labels not yet masked)."""
    return store.query(
        "SELECT label, value, sum(series)::BIGINT AS series FROM ("
        " SELECT label, value, count(*) AS series FROM series_labels WHERE snapshot_id = $snap GROUP BY ALL"
        " UNION ALL SELECT label, value, sum(series) FROM counted_pairs WHERE snapshot_id = $snap GROUP BY ALL)"
        f" GROUP BY label, value ORDER BY series DESC, label, value LIMIT {int(limit)}",
        {"snap": snapshot_id},
    )
