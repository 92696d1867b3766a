"""What each span attribute costs: bytes per key across spans, and what deleting, hashing or
truncating it saves — with the sampling policies that read it named, since cutting an attribute a
policy decides on changes what is kept.

Bytes are counted as a span's attributes weigh in OTLP JSON (key, value, quoting), re-weighted
like the spans and scaled to a month over the period the spans cover; money is the model's price
per GB of traces (a model that prices spans only saves nothing by a smaller span: said as $0).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import polars as pl

from costscope.ingest.attributes import HASHED_CHARS, OVERHEAD, TRUNCATE_AT
from costscope.pricing import MONTH_S, CostModel
from costscope.simulate.policies import Policy
from costscope.store.database import Store

_PER_KEY = f"""
WITH pairs AS (
    SELECT sample_weight AS w, k AS key, json_extract_string(attrs, '$."' || replace(k, '"', '\\"') || '"') AS v
    FROM spans, unnest(json_keys(attrs)) AS t(k)
    WHERE snapshot_id = $snap AND attrs IS NOT NULL AND attrs <> '{{}}'
)
SELECT key, sum(w) AS spans, approx_count_distinct(v) AS values,
       max(length(coalesce(v, ''))) AS max_chars,
       sum(w * (length(key) + length(coalesce(v, '')) + {OVERHEAD})) AS bytes,
       sum(w * greatest(0, length(coalesce(v, '')) - {HASHED_CHARS})) AS hash_saves,
       sum(w * greatest(0, length(coalesce(v, '')) - {TRUNCATE_AT})) AS truncate_saves
FROM pairs GROUP BY key
"""

ATTRIBUTE_SCHEMA: dict[str, Any] = {
    "key": pl.String, "spans": pl.Float64, "values": pl.Int64, "max_chars": pl.Int64,
    "monthly_bytes": pl.Float64, "monthly_cost": pl.Float64, "delete_saves": pl.Float64,
    "hash_saves": pl.Float64, "truncate_saves": pl.Float64, "read_by": pl.List(pl.String), "config": pl.String,
}  # fmt: skip


def policy_readers(policies: Sequence[Policy]) -> dict[str, list[str]]:
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


# a TraceQL attribute: span.x, resource.x or .x (either); quoted names as span."x y"
_TRACEQL_ATTR = re.compile(
    r'(?:\b(span|resource)|(?<![\w.")\]]))\.(?:"((?:[^"\\]|\\.)+)"|([A-Za-z_][\w.\-/]*))'
)


def traceql_readers(store: Store, snapshot_id: int) -> dict[str, dict[str, list[str]]]:
    """Per scope (``span``, ``resource``), the attribute keys TraceQL panels select on, and which panels."""
    rows = store.query(
        "SELECT DISTINCT kind, name, panel, expr FROM usage_problems"
        " WHERE snapshot_id = ? AND problem = 'not_promql' AND message = 'TraceQL'",
        [snapshot_id],
    )
    out: dict[str, dict[str, list[str]]] = {"span": {}, "resource": {}}
    for kind, name, panel, expr in rows.iter_rows():
        reader = f"{kind} {name!r}" + (f" (panel {panel!r})" if panel else "")
        for scope, quoted, plain in _TRACEQL_ATTR.findall(expr or ""):
            key = quoted or plain
            for s in (scope,) if scope else ("span", "resource"):
                readers = out[s].setdefault(key, [])
                if reader not in readers:
                    readers.append(reader)
    return out


def attribute_costs(
    store: Store,
    snapshot_id: int,
    model: CostModel,
    period_s: float | None,
    policies: Sequence[Policy] = (),
    queries: dict[str, list[str]] | None = None,
) -> pl.DataFrame:
    """Per span attribute key: monthly bytes and money, and what deleting, hashing, truncating saves;
    ``queries``: the TraceQL panels reading each key, named with the sampling policies that do."""
    raw = store.query(_PER_KEY.replace("$snap", "?"), [snapshot_id])
    if raw.is_empty():
        return pl.DataFrame(schema=ATTRIBUTE_SCHEMA)
    scale = MONTH_S / (period_s or MONTH_S)
    per_gb = model.price("trace_gb") / 1e9
    readers = merge_readers(policy_readers(policies), queries or {})
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
                "config": collector_config("traces", "span", r["key"], best),
            }
        )
    return pl.DataFrame(rows, schema=ATTRIBUTE_SCHEMA)


IDENTITY_KEYS = frozenset({"service.name"})
OTEL_ATTRIBUTE_SCHEMA: dict[str, Any] = {
    "scope": pl.String, "key": pl.String, "items": pl.Float64, "values": pl.Int64, "values_capped": pl.Boolean,
    "max_chars": pl.Int64, "monthly_bytes": pl.Float64, "monthly_cost": pl.Float64, "delete_saves": pl.Float64,
    "hash_saves": pl.Float64, "truncate_saves": pl.Float64, "read_by": pl.List(pl.String), "config": pl.String,
}  # fmt: skip


def merge_readers(*maps: dict[str, list[str]]) -> dict[str, list[str]]:
    """Readers per key from several kinds of reader, each named once."""
    out: dict[str, list[str]] = {}
    for m in maps:
        for key, names in m.items():
            out.setdefault(key, []).extend(n for n in names if n not in out[key])
    return out


def collector_config(signal: str, scope: str, key: str, action: str) -> str:
    """The collector processor that applies ``action`` (delete, hash, truncate; keep says why not)
    to ``key`` of ``signal``'s records (``span``, ``record``) or resources (``resource``)."""
    if action == "keep":
        return f"# keep {key}: it is read, and hashing its values would save nothing\n"
    # a span attribute's config names it below; the others say whose attribute it is
    subject = {
        "span": "this attribute",
        "record": f"{key} of each log record",
        "resource": f"{key} of every {'record' if signal == 'logs' else 'span'}'s resource",
    }[scope]
    if action == "truncate":
        context = {"span": "span", "record": "log", "resource": "resource"}[scope]
        return (
            f"# OpenTelemetry Collector: cut long values of {'this attribute' if scope == 'span' else key}"
            " (processors.transform)\n"
            f"transform/costscope:\n  {'log' if signal == 'logs' else 'trace'}_statements:\n"
            f"    - context: {context}\n      statements:\n"
            f'        - truncate_all(attributes, {TRUNCATE_AT}) where attributes["{key}"] != nil\n'
        )
    processor, field = ("resource", "attributes") if scope == "resource" else ("attributes", "actions")
    return (
        f"# OpenTelemetry Collector: {action} {subject} before it is exported (processors.{processor})\n"
        f"{processor}/costscope:\n  {field}:\n    - {{key: {key!r}, action: {action}}}\n"
    )


def otel_attribute_costs(
    store: Store, snapshot_id: int, signal: str, model: CostModel, readers: dict[str, list[str]] | None = None
) -> pl.DataFrame:
    """Per attribute key of ``signal``'s records and resources (``otel_attributes``): monthly bytes and
    money, and what deleting, hashing or truncating it saves; ``readers``: who reads each key."""
    raw = store.query(
        "SELECT scope, key, sum(items) AS items, sum(bytes) AS bytes, max(value_count) AS value_count,"
        " bool_or(values_capped) AS values_capped, max(max_chars) AS max_chars, sum(hash_saves) AS hash_saves,"
        " sum(truncate_saves) AS truncate_saves, max(period_s) AS period_s"
        " FROM otel_attributes WHERE snapshot_id = ? AND signal = ? GROUP BY scope, key",
        [snapshot_id, signal],
    )
    if raw.is_empty():
        return pl.DataFrame(schema=OTEL_ATTRIBUTE_SCHEMA)

    def cost(monthly_bytes: float) -> float:
        price: float = (
            model.log_bytes_cost(monthly_bytes)
            if signal == "logs"
            else monthly_bytes / 1e9 * model.price("trace_gb")
        )
        return price

    rows = []
    for r in raw.sort(["bytes", "scope", "key"], descending=[True, False, False]).iter_rows(named=True):
        scale = MONTH_S / (r["period_s"] or MONTH_S)
        saves = {
            "delete": cost(float(r["bytes"]) * scale),
            "hash": cost(float(r["hash_saves"]) * scale),
            "truncate": cost(float(r["truncate_saves"]) * scale),
        }
        known = readers or {}
        read_by = known.get(r["key"]) or known.get(r["key"].replace(".", "_"), [])
        if r["key"] in IDENTITY_KEYS:  # what the backend files everything under: never cut
            read_by = [*read_by, "the backend (it names the service)"]
        best = "hash" if read_by else max(saves, key=lambda a: (saves[a], a == "delete"))
        if best == "hash" and saves["hash"] <= 0:
            best = "keep"
        rows.append(
            {
                "scope": r["scope"], "key": r["key"], "items": float(r["items"]), "values": int(r["value_count"]),
                "values_capped": bool(r["values_capped"]), "max_chars": int(r["max_chars"]),
                "monthly_bytes": float(r["bytes"]) * scale, "monthly_cost": saves["delete"],
                "delete_saves": saves["delete"], "hash_saves": saves["hash"], "truncate_saves": saves["truncate"],
                "read_by": read_by, "config": collector_config(signal, r["scope"], r["key"], best),
            }
        )  # fmt: skip
    return pl.DataFrame(rows, schema=OTEL_ATTRIBUTE_SCHEMA)
