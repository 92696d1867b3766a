"""OTLP logs as log lines: body, severity, service, time, trace context, bytes as exported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from costscope.sources.log_lines import normalize_level
from costscope.sources.otlp import documents
from costscope.sources.sinks import LogsSink
from costscope.sources.traces import (
    PAIRS,
    _any_value,
    _attr_map,
    _get,
    attribute_pairs,
    hex_id,
)

# --- logs ----------------------------------------------------------------------------------------

_SEVERITY_NUMBERS = [(21, "FATAL"), (17, "ERROR"), (13, "WARN"), (9, "INFO"), (5, "DEBUG"), (1, "TRACE")]
LINE_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "message": pl.String, "level": pl.String, "service": pl.String, "ts": pl.Float64,
    "has_trace": pl.Boolean, "bytes": pl.Int64, "attr_pairs": PAIRS, "resource_pairs": PAIRS,
}  # fmt: skip


def _severity(record: dict[str, Any]) -> str | None:
    """The record's level: its severity text, else the name of its severity number's range."""
    text = _get(record, "severityText")
    if text:
        return str(text)
    number = _get(record, "severityNumber")
    if isinstance(number, str):  # protobuf's enum name: SEVERITY_NUMBER_ERROR2
        name = number.removeprefix("SEVERITY_NUMBER_").rstrip("0123456789")
        return name if name and name != "UNSPECIFIED" else None
    if isinstance(number, int) and number > 0:
        return next(name for floor, name in _SEVERITY_NUMBERS if number >= floor)
    return None


def log_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per log record of a ``LogsData`` document: body, severity, service, time, trace context, bytes.

    Bytes are those of the record as OTLP JSON carries it (body, attributes, resource share):
    what a collector exports for it.
    """
    rows = []
    for rl in _get(doc, "resourceLogs") or []:
        resource_attrs = (_get(rl, "resource") or {}).get("attributes")
        resource = _attr_map(resource_attrs)
        service = str(resource.get("service.name") or "unknown_service")
        records = [
            r
            for sl in _get(rl, "scopeLogs") or []
            for r in sl.get("logRecords") or _get(sl, "logRecords") or []
        ]
        share = len(json.dumps(resource_attrs or [])) // max(1, len(records))
        resource_pairs = attribute_pairs(resource)  # copied onto each record where a vendor bills it
        for r in records:
            body = _any_value(r.get("body"))
            message = body if isinstance(body, str) else json.dumps(body)
            ts = _get(r, "timeUnixNano") or _get(r, "observedTimeUnixNano")
            rows.append(
                {
                    "message": message,
                    "level": _severity(r),
                    "service": service,
                    "ts": int(ts) / 1e9 if ts else None,
                    "has_trace": bool(hex_id(_get(r, "traceId"), 32)),
                    "bytes": len(json.dumps(r, separators=(",", ":"))) + share,
                    "attr_pairs": attribute_pairs(_attr_map(r.get("attributes"))),
                    "resource_pairs": resource_pairs,
                }
            )
    return rows


def log_chunk(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Log rows as the chunk a logs sink takes (levels named as every log source names them)."""
    return pl.DataFrame(rows, schema=LINE_SCHEMA).with_columns(normalize_level(pl.col("level")))


def read_otlp_logs(path: Path, sink: LogsSink) -> int:
    """The log records of one OTLP logs file (JSON or protobuf) into ``sink``; returns the records."""
    n = 0
    for doc in documents(path, "logs"):
        rows = log_rows(doc)
        if rows:
            sink.add(log_chunk(rows), f'{{filename="{path.name}"}}')
            n += len(rows)
    return n
