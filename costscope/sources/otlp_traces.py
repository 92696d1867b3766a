"""OTLP protobuf traces read straight from the messages (no JSON in between)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import polars as pl

from costscope.errors import InputError, ParseError
from costscope.sources.otlp import _messages, _proto_class, _raw
from costscope.sources.traces import (
    _OTLP_KINDS,
    _OTLP_STATUS,
    PAIRS,
    attribute_pairs,
    attrs_text,
)

# decoded messages held before one frame is built: the polars pass is paid once for them all
PROTO_BATCH_SPANS = 50_000


def _proto_value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind in (None, "kvlist_value", "bytes_value"):
        return None if kind is None else str(getattr(v, kind))
    if kind == "array_value":
        return [_proto_value(x) for x in v.array_value.values]
    return getattr(v, kind)


def _attrs_json(attributes: Any) -> tuple[int, str]:
    """A span's attribute count and its attributes as the JSON object the spans table keeps."""
    if not attributes:
        return 0, "{}"
    values = {a.key: _proto_value(a.value) for a in attributes}
    return len(values), attrs_text(values)


def proto_spans(messages: Iterable[Any], weight: float = 1.0) -> pl.DataFrame:
    """The spans of decoded ``TracesData`` messages as one frame of ``SPAN_SCHEMA`` (with
    ``resource_pairs``), built column by column: one list append per field and span, then ids
    turned to hex, kinds and statuses named and durations taken in one polars pass; never a dict
    per span (several times cheaper, and the polars pass is paid once for many messages)."""
    trace, span, parent, names, kinds, codes, starts, ends, counts, attrs, resource_of = (
        [] for _ in range(11)
    )
    services: list[str] = []
    resources: list[list[dict[str, str]]] = []
    for msg in messages:
        for rs in msg.resource_spans:
            resource = {a.key: _proto_value(a.value) for a in rs.resource.attributes}
            services.append(str(resource.get("service.name") or "unknown_service"))
            resources.append(attribute_pairs(resource))
            r = len(services) - 1
            for ss in rs.scope_spans:
                for sp in ss.spans:
                    trace.append(sp.trace_id)
                    span.append(sp.span_id)
                    parent.append(sp.parent_span_id)
                    names.append(sp.name)
                    kinds.append(sp.kind)
                    codes.append(sp.status.code)
                    starts.append(sp.start_time_unix_nano)
                    ends.append(sp.end_time_unix_nano)
                    n, text = _attrs_json(sp.attributes)
                    counts.append(n)
                    attrs.append(text)
                    resource_of.append(r)
    raw = pl.DataFrame(
        {"trace": trace, "span": span, "parent": parent, "name": names, "kind": kinds, "code": codes,
         "start": starts, "end": ends, "attributes": counts, "attrs": attrs, "r": resource_of},
        schema={"trace": pl.Binary, "span": pl.Binary, "parent": pl.Binary, "name": pl.String,
                "kind": pl.Int64, "code": pl.Int64, "start": pl.UInt64, "end": pl.UInt64,
                "attributes": pl.Int32, "attrs": pl.String, "r": pl.UInt32},
    )  # fmt: skip
    start = pl.col("start").cast(pl.Int64)
    end = pl.when(pl.col("end") == 0).then(start).otherwise(pl.col("end").cast(pl.Int64))
    hexed = {c: pl.col(c).bin.encode("hex").replace("", None) for c in ("trace", "span", "parent")}
    return (
        raw.lazy()
        .select(
            hexed["trace"].alias("trace_id"),
            hexed["span"].alias("span_id"),
            hexed["parent"].alias("parent_span_id"),
            pl.lit(pl.Series(services, dtype=pl.String)).gather(pl.col("r")).alias("service"),
            pl.col("name").alias("operation"),
            # a kind no version of OTLP names keeps its number, as the JSON reader does
            pl.col("kind").replace_strict(_OTLP_KINDS, default=pl.col("kind").cast(pl.String), return_dtype=pl.String),
            pl.col("code").replace_strict(_OTLP_STATUS, default="UNSET", return_dtype=pl.String).alias("status"),
            start.alias("start_unix_ns"),
            (end - start).clip(lower_bound=0).alias("duration_ns"),
            "attributes",
            (64 + pl.col("name").str.len_chars() + pl.col("attrs").str.len_chars()).cast(pl.Int32).alias("approx_bytes"),
            "attrs",
            pl.lit(weight, dtype=pl.Float64).alias("sample_weight"),
            pl.lit(pl.Series(resources, dtype=PAIRS)).gather(pl.col("r")).alias("resource_pairs"),
        )
        .filter(pl.col("trace_id").is_not_null() & pl.col("span_id").is_not_null())
        .collect()
    )  # fmt: skip


def _parsed(raw: bytes) -> Any:
    from google.protobuf.message import DecodeError

    msg = _proto_class("traces")()
    try:
        msg.ParseFromString(raw)
    except DecodeError as exc:
        raise ParseError(f"invalid OTLP traces protobuf: {exc}") from None
    return msg


def proto_spans_frame(body: bytes) -> pl.DataFrame:
    """One protobuf ``TracesData`` (an OTLP/HTTP request body) as a span frame; ``ParseError`` if it is none."""
    return proto_spans([_parsed(body)])


def read_proto_traces(path: Path) -> Iterator[pl.DataFrame]:
    """Span frames of one OTLP protobuf traces file, about ``PROTO_BATCH_SPANS`` spans a frame (decoded
    straight, no JSON)."""
    try:
        data = _raw(path)
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot read: {exc}", file=str(path)) from None
    batch: list[Any] = []
    spans = 0
    for i, raw in enumerate(_messages(data) or [data]):
        try:
            msg = _parsed(raw)
        except ParseError as exc:
            raise ParseError(f"message {i + 1}: {exc.message}", file=str(path)) from None
        batch.append(msg)
        spans += sum(len(ss.spans) for rs in msg.resource_spans for ss in rs.scope_spans)
        if spans >= PROTO_BATCH_SPANS:
            yield proto_spans(batch)
            batch, spans = [], 0
    if batch:
        yield proto_spans(batch)
