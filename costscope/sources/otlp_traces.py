"""OTLP protobuf traces read straight from the messages (no JSON in between)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import polars as pl

from costscope.errors import ParseError
from costscope.sources.compressed import read_bytes
from costscope.sources.otlp import _messages, _proto_class
from costscope.sources.traces import (
    _OTLP_KINDS,
    _OTLP_STATUS,
    PAIRS,
    attribute_pairs,
    attrs_text,
)

# protobuf read before one frame is built: the column-wise passes are paid once for all of it
PROTO_BATCH_BYTES = 8 << 20


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


def _span_columns(spans: Iterable[tuple[Any, int]]) -> pl.DataFrame:
    """The raw columns of decoded ``Span`` messages (each with its resource's index): one list
    append per field and span, never a dict per span."""
    trace, span, parent, names, kinds, codes, starts, ends, counts, attrs, resource_of = (
        [] for _ in range(11)
    )
    for sp, r in spans:
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
    return pl.DataFrame(
        {"trace": trace, "span": span, "parent": parent, "name": names, "kind": kinds, "code": codes,
         "start": starts, "end": ends, "attributes": counts, "attrs": attrs, "r": resource_of},
        schema=_RAW_SCHEMA,
    )  # fmt: skip


_KIND_NAMES = pl.Series([_OTLP_KINDS[k] for k in range(len(_OTLP_KINDS))], dtype=pl.String)
_STATUS_NAMES = pl.Series([_OTLP_STATUS[k] for k in range(len(_OTLP_STATUS))], dtype=pl.String)
_IDS = ("trace", "span", "parent")
_RAW_SCHEMA = {"trace": pl.Binary, "span": pl.Binary, "parent": pl.Binary, "name": pl.String,
               "kind": pl.Int64, "code": pl.Int64, "start": pl.UInt64, "end": pl.UInt64,
               "attributes": pl.Int32, "attrs": pl.String, "r": pl.UInt32}  # fmt: skip


def _span_frame(raw: pl.DataFrame, resources: list[dict[str, Any]], weight: float) -> pl.DataFrame:
    """Raw span columns as a frame of ``SPAN_SCHEMA`` (with ``resource_pairs``): ids turned to hex,
    kinds and statuses named, durations taken, in one polars pass."""
    services = [str(r.get("service.name") or "unknown_service") for r in resources]
    pairs = [attribute_pairs(r) for r in resources]
    # a time past 2262 (out of int64 nanoseconds) is garbage a sender made: held at the largest
    start, end = (pl.col(c).clip(upper_bound=2**63 - 1).cast(pl.Int64) for c in ("start", "end"))
    end = pl.when(pl.col("end") == 0).then(start).otherwise(end)
    # ids as hex, null where absent: the wire reading gives them so, the classes' reading as bytes
    hexed = {
        c: pl.col(c) if raw.schema[c] == pl.String else pl.col(c).bin.encode("hex").replace("", None)
        for c in _IDS
    }
    kind, code = pl.col("kind"), pl.col("code")
    return (
        raw.lazy()
        .select(
            hexed["trace"].alias("trace_id"),
            hexed["span"].alias("span_id"),
            hexed["parent"].alias("parent_span_id"),
            pl.lit(pl.Series(services, dtype=pl.String)).gather(pl.col("r")).alias("service"),
            pl.col("name").alias("operation"),
            # a kind no version of OTLP names keeps its number, as the JSON reader does
            pl.when(kind.is_between(0, len(_KIND_NAMES) - 1))
            .then(pl.lit(_KIND_NAMES).gather(kind.clip(0, len(_KIND_NAMES) - 1)))
            .otherwise(kind.cast(pl.String)).alias("kind"),
            pl.when(code.is_between(0, len(_STATUS_NAMES) - 1))
            .then(pl.lit(_STATUS_NAMES).gather(code.clip(0, len(_STATUS_NAMES) - 1)))
            .otherwise(pl.lit("UNSET")).alias("status"),
            start.alias("start_unix_ns"),
            (end - start).clip(lower_bound=0).alias("duration_ns"),
            "attributes",
            # attributes' JSON is ASCII (escaped as json.dumps does): its bytes are its characters
            (64 + pl.col("name").str.len_chars() + pl.col("attrs").str.len_bytes()).cast(pl.Int32).alias("approx_bytes"),
            "attrs",
            pl.lit(weight, dtype=pl.Float64).alias("sample_weight"),
            pl.lit(pl.Series(pairs, dtype=PAIRS)).gather(pl.col("r")).alias("resource_pairs"),
        )
        .filter(pl.col("trace_id").is_not_null() & pl.col("span_id").is_not_null())
        .collect()
    )  # fmt: skip


def proto_spans(messages: Iterable[Any], weight: float = 1.0) -> pl.DataFrame:
    """The spans of decoded ``TracesData`` messages as one frame of ``SPAN_SCHEMA`` (with
    ``resource_pairs``), decoded by the ``opentelemetry-proto`` classes span by span."""
    resources: list[dict[str, Any]] = []

    def spans() -> Iterator[tuple[Any, int]]:
        for msg in messages:
            for rs in msg.resource_spans:
                resources.append({a.key: _proto_value(a.value) for a in rs.resource.attributes})
                for ss in rs.scope_spans:
                    for sp in ss.spans:
                        yield sp, len(resources) - 1

    raw = _span_columns(spans())
    return _span_frame(raw, resources, weight)


def wire_spans(raws: list[bytes], weight: float = 1.0, numbered_from: int | None = None) -> pl.DataFrame:
    """The spans of serialised ``TracesData`` messages as one frame of ``SPAN_SCHEMA`` (with
    ``resource_pairs``), read off the wire column-wise (``otlp_span_wire``); the spans it leaves,
    or the whole batch where it refuses, go through ``proto_spans``. ``ParseError`` on the first
    message that is no valid ``TracesData`` (numbered from ``numbered_from`` + 1 where given)."""
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.resource.v1 import resource_pb2
    from opentelemetry.proto.trace.v1 import trace_pb2

    from costscope.sources import otlp_span_wire as span_wire  # numpy and pyarrow: only where spans are read

    try:
        spans, resource_bytes, resource_of = span_wire.located(raws)
        raw, slow = span_wire.columns(spans)
        others = _span_columns((trace_pb2.Span.FromString(spans[i]), int(resource_of[i])) for i in slow)
        resources = [
            {a.key: _proto_value(a.value) for a in resource_pb2.Resource.FromString(b).attributes}
            for b in resource_bytes
        ]
    except (span_wire.WireRefused, DecodeError):
        messages = []
        for i, body in enumerate(raws):
            try:
                messages.append(_parsed(body))
            except ParseError as exc:
                if numbered_from is None:
                    raise
                raise ParseError(f"message {numbered_from + i + 1}: {exc.message}") from None
        return proto_spans(messages, weight)
    raw = raw.with_columns(r=pl.Series(resource_of[raw["i"].to_numpy()], dtype=pl.UInt32))
    if others.height:
        others = others.with_columns(
            *(pl.col(c).bin.encode("hex").replace("", None) for c in _IDS), i=pl.Series(slow, dtype=pl.Int64)
        )
        raw = pl.concat([raw, others.select(raw.columns)]).sort("i")
    return _span_frame(
        raw.drop("i").cast({c: t for c, t in _RAW_SCHEMA.items() if c not in _IDS}), resources, weight
    )


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
    return wire_spans([body])


def read_proto_traces(path: Path) -> Iterator[pl.DataFrame]:
    """Span frames of one OTLP protobuf traces file, about ``PROTO_BATCH_BYTES`` of messages a frame."""
    data = read_bytes(path)
    messages = _messages(data) or [data]
    batch: list[bytes] = []
    size = first = 0
    for i, raw in enumerate(messages):
        batch.append(raw)
        size += len(raw)
        if size >= PROTO_BATCH_BYTES or i == len(messages) - 1:
            try:
                frame = wire_spans(batch, numbered_from=first)
            except ParseError as exc:
                raise ParseError(exc.message, file=str(path)) from None
            yield frame
            batch, size, first = [], 0, i + 1
