"""OTLP protobuf traces read straight from the messages (no JSON in between)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl

from costscope.errors import InputError, ParseError
from costscope.sources.otlp import _messages, _proto_class, _raw
from costscope.sources.traces import (
    _OTLP_KINDS,
    _OTLP_STATUS,
    _row,
    attribute_pairs,
    frame,
)


def _proto_value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind in (None, "kvlist_value", "bytes_value"):
        return None if kind is None else str(getattr(v, kind))
    if kind == "array_value":
        return [_proto_value(x) for x in v.array_value.values]
    return getattr(v, kind)


def proto_span_rows(msg: Any, weight: float = 1.0) -> Iterator[dict[str, Any]]:
    """The span rows of a decoded ``TracesData`` message, read straight from the message (no JSON)."""
    for rs in msg.resource_spans:
        service = next((a.value.string_value for a in rs.resource.attributes if a.key == "service.name"), "")
        pairs = attribute_pairs({a.key: _proto_value(a.value) for a in rs.resource.attributes})
        for ss in rs.scope_spans:
            for sp in ss.spans:
                start, end = sp.start_time_unix_nano, sp.end_time_unix_nano or sp.start_time_unix_nano
                yield _row(
                    sp.trace_id.hex() or None, sp.span_id.hex() or None, sp.parent_span_id.hex() or None,
                    service or "unknown_service", sp.name, _OTLP_KINDS.get(sp.kind, str(sp.kind)),
                    _OTLP_STATUS.get(sp.status.code, "UNSET"), start, end - start,
                    {a.key: _proto_value(a.value) for a in sp.attributes}, weight, pairs,
                )  # fmt: skip


def proto_spans_frame(body: bytes) -> pl.DataFrame:
    """One protobuf ``TracesData`` (an OTLP/HTTP request body) as a span frame; ``ParseError`` if it is none."""
    from google.protobuf.message import DecodeError

    msg = _proto_class("traces")()
    try:
        msg.ParseFromString(body)
    except DecodeError as exc:
        raise ParseError(f"invalid OTLP traces protobuf: {exc}") from None
    return frame(proto_span_rows(msg))


def read_proto_traces(path: Path) -> Iterator[pl.DataFrame]:
    """Span frames of one OTLP protobuf traces file, a message at a time (decoded straight, no JSON)."""
    try:
        data = _raw(path)
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot read: {exc}", file=str(path)) from None
    for i, raw in enumerate(_messages(data) or [data]):
        try:
            yield proto_spans_frame(raw)
        except ParseError as exc:
            raise ParseError(f"message {i + 1}: {exc.message}", file=str(path)) from None
