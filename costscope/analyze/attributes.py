"""What each span attribute costs: bytes per key across spans, and what deleting, hashing or
truncating it saves — with the sampling policies that read it named, since cutting an attribute a
policy decides on changes what is kept.

Bytes are counted as a span's attributes weigh in OTLP JSON (key, value, quoting), re-weighted
like the spans and scaled to a month over the period the spans cover; money is the model's price
per GB of traces (a model that prices spans only saves nothing by a smaller span: said as $0).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from costscope.pricing import MONTH_S, CostModel
from costscope.simulate.policies import Policy
from costscope.store.database import Store

HASHED_CHARS = 16  # the collector's attributes processor `hash` writes a hex digest; 16 is a floor
TRUNCATE_AT = 256
_OVERHEAD = 8  # quotes, colon, comma: what each pair adds around its key and value

_PER_KEY = f"""
WITH pairs AS (
    SELECT sample_weight AS w, k AS key, json_extract_string(attrs, '$."' || replace(k, '"', '\\"') || '"') AS v
    FROM spans, unnest(json_keys(attrs)) AS t(k)
    WHERE snapshot_id = $snap AND attrs IS NOT NULL AND attrs <> '{{}}'
)
SELECT key, sum(w) AS spans, approx_count_distinct(v) AS values,
       max(length(coalesce(v, ''))) AS max_chars,
       sum(w * (length(key) + length(coalesce(v, '')) + {_OVERHEAD})) AS bytes,
       sum(w * greatest(0, length(coalesce(v, '')) - {HASHED_CHARS})) AS hash_saves,
       sum(w * greatest(0, length(coalesce(v, '')) - {TRUNCATE_AT})) AS truncate_saves
FROM pairs GROUP BY key
"""

ATTRIBUTE_SCHEMA: dict[str, Any] = {
    "key": pl.String, "spans": pl.Float64, "values": pl.Int64, "max_chars": pl.Int64,
    "monthly_bytes": pl.Float64, "monthly_cost": pl.Float64, "delete_saves": pl.Float64,
    "hash_saves": pl.Float64, "truncate_saves": pl.Float64, "read_by": pl.List(pl.String), "config": pl.String,
}  # fmt: skip


def _readers(policies: Sequence[Policy]) -> dict[str, list[str]]:
    """Attribute keys each policy decides on (tail_sampling conditions, Refinery fields)."""
    out: dict[str, list[str]] = {}

    def walk(node: object, policy: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("key", "field") and isinstance(v, str):
                    out.setdefault(v, []).append(policy)
                elif k == "field_list" and isinstance(v, list):
                    for f in v:
                        out.setdefault(str(f), []).append(policy)
                else:
                    walk(v, policy)
        elif isinstance(node, list):
            for item in node:
                walk(item, policy)

    for p in policies:
        walk(p.spec, p.name)
    return out


def _config(key: str, action: str) -> str:
    if action == "truncate":
        return (
            "# OpenTelemetry Collector: cut long values of this attribute (processors.transform)\n"
            "transform/costscope:\n  trace_statements:\n    - context: span\n      statements:\n"
            f'        - truncate_all(attributes, {TRUNCATE_AT}) where attributes["{key}"] != nil\n'
        )
    return (
        f"# OpenTelemetry Collector: {action} this attribute before it is exported (processors.attributes)\n"
        f"attributes/costscope:\n  actions:\n    - {{key: {key!r}, action: {action}}}\n"
    )


def attribute_costs(
    store: Store, snapshot_id: int, model: CostModel, period_s: float | None, policies: Sequence[Policy] = ()
) -> pl.DataFrame:
    """Per span attribute key: monthly bytes and money, and what deleting, hashing, truncating saves."""
    raw = store.query(_PER_KEY.replace("$snap", "?"), [snapshot_id])
    if raw.is_empty():
        return pl.DataFrame(schema=ATTRIBUTE_SCHEMA)
    scale = MONTH_S / (period_s or MONTH_S)
    per_gb = model.price("trace_gb") / 1e9
    readers = _readers(policies)
    rows = []
    for r in raw.sort(["bytes", "key"], descending=[True, False]).iter_rows(named=True):
        monthly = float(r["bytes"]) * scale
        saves = {
            "delete": monthly * per_gb,
            "hash": float(r["hash_saves"]) * scale * per_gb,
            "truncate": float(r["truncate_saves"]) * scale * per_gb,
        }
        read_by = readers.get(r["key"], [])
        # a policy that reads it may still work on a hash (equality), never on a deletion
        best = "hash" if read_by else max(saves, key=lambda a: (saves[a], a == "delete"))
        rows.append(
            {
                "key": r["key"],
                "spans": float(r["spans"]),
                "values": int(r["values"]),
                "max_chars": int(r["max_chars"]),
                "monthly_bytes": monthly,
                "monthly_cost": monthly * per_gb,
                "delete_saves": saves["delete"],
                "hash_saves": saves["hash"],
                "truncate_saves": saves["truncate"],
                "read_by": read_by,
                "config": _config(r["key"], best),
            }
        )
    return pl.DataFrame(rows, schema=ATTRIBUTE_SCHEMA)
