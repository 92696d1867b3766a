"""Trace files: OTLP JSON, Zipkin v2 JSON and Jaeger JSON, as one span frame.

Every format becomes rows of ``SPAN_SCHEMA``: ids as lower-case hex (OTLP JSON puts hex in
``traceId``; protobuf's JSON mapping puts base64 — both are read), times in nanoseconds (OTLP's
int64s arrive as strings; Zipkin and Jaeger count microseconds), ``status`` ``ERROR``/``OK``/
``UNSET`` (Zipkin and Jaeger carry it in an ``error`` tag, or ``otel.status_code``), attributes
kept as a JSON object of strings for the attribute policies, and ``approx_bytes`` — what the span
weighs on the wire, which is what trace backends bill besides the span count.

- OTLP: a ``{"resourceSpans": [...]}`` document, or the collector file exporter's JSON Lines (one
  document per line); camelCase and snake_case keys both read. Tempo's trace-by-id answers saved
  to a file are OTLP too: ``{"batches": [...]}`` (``/api/traces/<id>``) and ``{"trace":
  {"resourceSpans": [...]}}`` (``/api/v2/traces/<id>``).
- Zipkin v2: a JSON list of spans (or a list of traces, each a list).
- Jaeger: the query API's ``{"data": [{"traceID", "spans", "processes"}]}`` and its exported files.

Large files are read as JSON Lines, a document at a time. A file where only a sample of traces
was kept says so with ``sample_weight`` (1/rate) on its spans.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any

import polars as pl

from costscope.errors import InputError, ParseError
from costscope.sources.compressed import READ_ERRORS

SPAN_SCHEMA = {
    "trace_id": pl.String, "span_id": pl.String, "parent_span_id": pl.String, "service": pl.String,
    "operation": pl.String, "kind": pl.String, "status": pl.String, "start_unix_ns": pl.Int64,
    "duration_ns": pl.Int64, "attributes": pl.Int32, "approx_bytes": pl.Int32, "attrs": pl.String,
    "sample_weight": pl.Float64,
}  # fmt: skip
TRACE_SUFFIXES = (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz")
_OTLP_KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
_OTLP_STATUS = {0: "UNSET", 1: "OK", 2: "ERROR"}
BATCH_SPANS = 200_000
MAX_DOCUMENT_CHARS = 512 << 20  # one JSON document read whole; JSON Lines have no such limit


def _get(d: dict[str, Any], camel: str) -> Any:
    """A key in camelCase or its snake_case twin (OTLP JSON allows both)."""
    if camel in d:
        return d[camel]
    snake = "".join("_" + c.lower() if c.isupper() else c for c in camel)
    return d.get(snake)


def hex_id(value: Any, length: int) -> str | None:
    """An id as lower-case hex of ``length`` digits: from hex, or from protobuf JSON's base64."""
    if value in (None, ""):
        return None
    text = str(value)
    if len(text) == length and all(c in "0123456789abcdefABCDEF" for c in text):
        return text.lower()
    if len(text) < length and all(c in "0123456789abcdefABCDEF" for c in text):
        return text.lower().rjust(length, "0")  # Zipkin's 64-bit trace ids
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex().rjust(length, "0") if raw else None


def _any_value(v: Any) -> Any:
    if not isinstance(v, dict):
        return v
    for key in ("stringValue", "string_value", "boolValue", "bool_value", "doubleValue", "double_value"):
        if key in v:
            return v[key]
    for key in ("intValue", "int_value"):
        if key in v:
            return int(v[key])
    if "arrayValue" in v or "array_value" in v:
        arr = _get(v, "arrayValue") or {}
        return [_any_value(x) for x in arr.get("values", [])]
    return None


def _attr_map(items: Any) -> dict[str, Any]:
    out = {}
    for kv in items or []:
        if isinstance(kv, dict) and "key" in kv:
            out[str(kv["key"])] = _any_value(kv.get("value"))
    return out


def _row(
    trace_id: str | None, span_id: str | None, parent: str | None, service: str, name: str, kind: str,
    status: str, start_ns: int, duration_ns: int, attrs: dict[str, Any], weight: float,
    resource: list[dict[str, str]] | None = None,
) -> dict[str, Any]:  # fmt: skip
    text = attrs_text(attrs)
    row: dict[str, Any] = {
        "trace_id": trace_id, "span_id": span_id, "parent_span_id": parent, "service": service,
        "operation": name, "kind": kind, "status": status, "start_unix_ns": start_ns,
        "duration_ns": max(0, duration_ns), "attributes": len(attrs),
        "approx_bytes": 64 + len(name) + len(text), "attrs": text, "sample_weight": weight,
    }  # fmt: skip
    if resource is not None:  # OTLP: its resource's attributes, tallied by the writer (ingest.attributes)
        row["resource_pairs"] = resource
    return row


def _json_scalar(v: str | int | float | bool) -> str:
    if isinstance(v, str):
        return encode_basestring_ascii(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return int.__repr__(v)
    return json.dumps(v)


def attrs_text(attrs: dict[str, Any]) -> str:
    """A span's attributes as the JSON object the spans table keeps (values other than strings,
    numbers and booleans as their text): what ``json.dumps`` writes, written without it (it was a
    third of reading a protobuf traces file)."""
    values = {k: v if isinstance(v, str | int | float | bool) else str(v) for k, v in attrs.items()}
    return (
        "{" + ", ".join(f"{encode_basestring_ascii(k)}: {_json_scalar(v)}" for k, v in values.items()) + "}"
    )


def attribute_pairs(attrs: dict[str, Any]) -> list[dict[str, str]]:
    """Attributes as ``{key, value}`` pairs, each value as the text OTLP JSON writes it."""
    return [
        {"key": k, "value": v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))}
        for k, v in attrs.items()
    ]


def otlp_spans(doc: dict[str, Any], weight: float = 1.0) -> Iterator[dict[str, Any]]:
    """The spans of one OTLP JSON ``TracesData`` document."""
    for rs in _get(doc, "resourceSpans") or []:
        resource = _attr_map((_get(rs, "resource") or {}).get("attributes"))
        service = str(resource.get("service.name") or "unknown_service")
        pairs = attribute_pairs(resource)
        for ss in _get(rs, "scopeSpans") or _get(rs, "instrumentationLibrarySpans") or []:
            for span in ss.get("spans") or []:
                attrs = _attr_map(span.get("attributes"))
                status = _get(span, "status") or {}
                code = status.get("code", 0)
                code = (
                    code
                    if isinstance(code, int)
                    else {"STATUS_CODE_ERROR": 2, "STATUS_CODE_OK": 1}.get(code, 0)
                )
                kind = span.get("kind", 0)
                kind = (
                    _OTLP_KINDS.get(kind, str(kind))
                    if isinstance(kind, int)
                    else str(kind).removeprefix("SPAN_KIND_")
                )
                start = int(_get(span, "startTimeUnixNano") or 0)
                end = int(_get(span, "endTimeUnixNano") or start)
                yield _row(
                    hex_id(_get(span, "traceId"), 32), hex_id(_get(span, "spanId"), 16),
                    hex_id(_get(span, "parentSpanId"), 16), service, str(span.get("name") or ""), kind,
                    _OTLP_STATUS.get(code, "UNSET"), start, end - start, attrs, weight, pairs,
                )  # fmt: skip


def _tag_status(tags: dict[str, Any]) -> str:
    code = str(tags.get("otel.status_code", "")).upper()
    if code in ("ERROR", "OK"):
        return code
    err = tags.get("error")
    return "ERROR" if err not in (None, False, "false", "False") else "UNSET"


def zipkin_spans(spans: Iterable[Any], weight: float = 1.0) -> Iterator[dict[str, Any]]:
    """Zipkin v2 spans (a list; a list of lists is a list of traces)."""
    for span in spans:
        if isinstance(span, list):
            yield from zipkin_spans(span, weight)
            continue
        tags = dict(span.get("tags") or {})
        service = ((span.get("localEndpoint") or {}).get("serviceName")) or "unknown_service"
        start = int(span.get("timestamp") or 0) * 1000
        yield _row(
            hex_id(span.get("traceId"), 32), hex_id(span.get("id"), 16), hex_id(span.get("parentId"), 16),
            str(service), str(span.get("name") or ""), str(span.get("kind") or "UNSPECIFIED"), _tag_status(tags),
            start, int(span.get("duration") or 0) * 1000, tags, weight,
        )  # fmt: skip


def jaeger_spans(doc: dict[str, Any], weight: float = 1.0) -> Iterator[dict[str, Any]]:
    """The spans of a Jaeger query API answer (``{"data": [trace, ...]}``) or one trace."""
    data = doc.get("data")
    # a list of traces (the query API), one trace under "data" (an exported trace), or the trace itself
    traces: list[Any] = data if isinstance(data, list) else [data] if isinstance(data, dict) else [doc]
    for trace in traces:
        processes = trace.get("processes") or {}
        for span in trace.get("spans") or []:
            tags = {str(t.get("key")): t.get("value") for t in span.get("tags") or [] if isinstance(t, dict)}
            proc = processes.get(span.get("processID")) or span.get("process") or {}
            parent = next(
                (r.get("spanID") for r in span.get("references") or [] if r.get("refType") == "CHILD_OF"),
                None,
            )
            yield _row(
                hex_id(span.get("traceID"), 32), hex_id(span.get("spanID"), 16), hex_id(parent, 16),
                str(proc.get("serviceName") or "unknown_service"), str(span.get("operationName") or ""),
                str(tags.get("span.kind", "UNSPECIFIED")).upper(), _tag_status(tags),
                int(span.get("startTime") or 0) * 1000, int(span.get("duration") or 0) * 1000, tags, weight,
            )  # fmt: skip


def spans_of(doc: Any, weight: float = 1.0) -> list[dict[str, Any]]:
    """The spans of one decoded JSON value, whatever its format; a malformed one is a ParseError."""
    try:
        if isinstance(doc, list):
            return list(zipkin_spans(doc, weight))
        if isinstance(doc, dict) and (_get(doc, "resourceSpans") is not None):
            return list(otlp_spans(doc, weight))
        if isinstance(doc, dict) and isinstance(doc.get("result"), dict):  # Jaeger's v3 API wraps OTLP
            return list(otlp_spans(doc["result"], weight))
        if isinstance(doc, dict) and isinstance(doc.get("batches"), list):  # Tempo's /api/traces/<id>
            return list(otlp_spans({"resourceSpans": doc["batches"]}, weight))
        if isinstance(doc, dict) and isinstance(doc.get("trace"), dict):  # Tempo's /api/v2/traces/<id>
            return list(otlp_spans(doc["trace"], weight))
        if isinstance(doc, dict) and ("data" in doc or "spans" in doc):
            return list(jaeger_spans(doc, weight))
        if isinstance(doc, dict) and "traceId" in doc and "id" in doc:
            return list(zipkin_spans([doc], weight))
    except (AttributeError, TypeError, ValueError, KeyError, IndexError, OverflowError) as exc:
        # untrusted input: a field of the wrong type is bad input, said plainly, not a crash
        raise ParseError(f"malformed trace data ({type(exc).__name__}: {str(exc)[:120]})") from None
    if isinstance(doc, dict):
        keys = ", ".join(sorted(map(str, doc))[:6]) or "none"
        raise ParseError(
            f"not a trace document (keys: {keys}; expected resourceSpans, a Jaeger data list or Zipkin spans)"
        )
    raise ParseError(f"not a trace document (a JSON {type(doc).__name__})")


PAIRS = pl.List(pl.Struct({"key": pl.String, "value": pl.String}))


def frame(rows: Iterable[dict[str, Any]]) -> pl.DataFrame:
    """Span rows as a frame of ``SPAN_SCHEMA`` (with ``resource_pairs`` where OTLP gave them);
    spans without a trace or span id are dropped."""
    rows = list(rows)
    schema: dict[str, pl.DataType | type[pl.DataType]] = dict(SPAN_SCHEMA)
    if rows and "resource_pairs" in rows[0]:
        schema["resource_pairs"] = PAIRS
    try:
        df = pl.DataFrame(rows, schema=schema, strict=False)
    except (pl.exceptions.PolarsError, TypeError, ValueError, OverflowError) as exc:
        raise ParseError(f"malformed trace data ({type(exc).__name__})") from None
    return df.filter(pl.col("trace_id").is_not_null() & pl.col("span_id").is_not_null())


def json_lines(lines: Iterable[str], path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, document) of each non-blank line; a line that is not JSON is a ParseError naming it."""
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield n, json.loads(line)
        except json.JSONDecodeError as exc:
            raise ParseError(f"invalid JSON: {exc.msg}", file=str(path), line=n) from None
        except RecursionError:
            raise ParseError("JSON nested too deeply", file=str(path), line=n) from None


def read_trace_file(path: Path, weight: float = 1.0, batch: int = BATCH_SPANS) -> Iterator[pl.DataFrame]:
    """Span frames of one trace file (JSON, or JSON Lines read a document at a time)."""
    try:
        yield from _read_trace_file(path, weight, batch)
    except READ_ERRORS as exc:  # unreadable, or a compressed file cut short or corrupt
        raise InputError(f"cannot read: {exc}", file=str(path)) from None


def _read_trace_file(path: Path, weight: float, batch: int) -> Iterator[pl.DataFrame]:
    from costscope.sources.log_files import open_text

    with open_text(path) as stream:
        head = stream.read(1 << 16)
        stream.seek(0)
        first_line = head.split("\n", 1)[0].strip()
        lines_mode = first_line.startswith("{") and first_line.endswith("}") and "\n" in head.strip()
        if not lines_mode:
            text = stream.read(MAX_DOCUMENT_CHARS + 1)
            if len(text) > MAX_DOCUMENT_CHARS:
                raise ParseError(
                    f"one JSON document larger than {MAX_DOCUMENT_CHARS >> 20} MiB: write JSON Lines instead",
                    file=str(path),
                )
            try:
                doc = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ParseError(f"invalid JSON: {exc.msg}", file=str(path), line=exc.lineno) from None
            except RecursionError:
                raise ParseError("JSON nested too deeply", file=str(path)) from None
            try:
                yield frame(spans_of(doc, weight))
            except ParseError as exc:
                raise ParseError(exc.message, file=str(path)) from None
            return
        rows: list[dict[str, Any]] = []
        for n, doc in json_lines(stream, path):
            try:
                rows.extend(spans_of(doc, weight))
            except ParseError as exc:
                raise ParseError(exc.message, file=str(path), line=n) from None
            if len(rows) >= batch:
                yield frame(rows)
                rows = []
        if rows:
            yield frame(rows)
