"""OTLP files: metrics and logs (and traces in protobuf), as the collector's file exporter writes them.

Two encodings, told by content: OTLP JSON (one ``MetricsData``/``LogsData``/``TracesData`` document,
or JSON Lines of them, as ``format: json`` writes) and protobuf (``format: proto``: each message
preceded by its length as a 4-byte big-endian integer; or one bare message, an OTLP/HTTP request
body saved to a file). Protobuf is decoded with ``opentelemetry-proto`` and read through the same
code as JSON (``MessageToDict`` gives OTLP JSON's field names; ids come as base64, which
``traces.hex_id`` reads).

Metrics become series under Prometheus' OTLP translation, so one metric compares across an OTel
and a Prometheus pipeline: the name sanitised, the unit as a suffix (``s`` → ``_seconds``, ``By`` →
``_bytes``, ``1`` on a gauge → ``_ratio``), ``_total`` on a monotonic sum; labels are the data
point's attributes plus ``job`` (``service.namespace/service.name``), ``instance``
(``service.instance.id``) and ``otel_scope_name``/``otel_scope_version``; explicit-bucket
histograms cost their buckets (``le``, ``+Inf`` included) plus ``_sum`` and ``_count``, like
Prometheus; an exponential histogram is one native-histogram series; a summary its quantiles plus
``_sum`` and ``_count``. A data point exported in many intervals is one series.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from costscope.errors import InputError, ParseError
from costscope.sources.compressed import READ_ERRORS, open_bytes, read_bytes
from costscope.sources.traces import (
    json_lines,
)

SIGNALS = ("metrics", "logs", "traces")
_TOP = {"metrics": "resourceMetrics", "logs": "resourceLogs", "traces": "resourceSpans"}
MAX_MESSAGE_BYTES = 256 << 20
MAX_BARE_BYTES = 16 << 20


# --- reading documents -------------------------------------------------------------------------


def _messages(data: bytes) -> list[bytes] | None:
    """Length-delimited messages (big-endian u32 length, then the bytes), or None when ``data`` is not that."""
    out, i = [], 0
    while i < len(data):
        if i + 4 > len(data):
            return None
        (n,) = struct.unpack(">I", data[i : i + 4])
        if n > MAX_MESSAGE_BYTES or i + 4 + n > len(data):
            return None
        out.append(data[i + 4 : i + 4 + n])
        i += 4 + n
    return out or None


def _proto_class(signal: str) -> Any:
    from opentelemetry.proto.logs.v1 import logs_pb2
    from opentelemetry.proto.metrics.v1 import metrics_pb2
    from opentelemetry.proto.trace.v1 import trace_pb2

    return {"metrics": metrics_pb2.MetricsData, "logs": logs_pb2.LogsData, "traces": trace_pb2.TracesData}[
        signal
    ]


def _plausible(signal: str, msg: Any) -> bool:
    """Whether a decoded message really is of ``signal``: the three share field numbers, so the wire
    decodes as any of them; the inner fields tell (16-byte trace ids, named metrics with data, logs)."""
    if signal == "traces":
        spans = [s for rs in msg.resource_spans for ss in rs.scope_spans for s in ss.spans]
        return bool(spans) and all(len(s.trace_id) == 16 and len(s.span_id) == 8 for s in spans)
    if signal == "metrics":
        metrics = [m for rm in msg.resource_metrics for sm in rm.scope_metrics for m in sm.metrics]
        return bool(metrics) and all(m.name and m.WhichOneof("data") for m in metrics)
    records = [r for rl in msg.resource_logs for sl in rl.scope_logs for r in sl.log_records]
    return bool(records)


def file_signal(path: Path) -> str | None:
    """Which OTLP signal a protobuf file holds (its first message decoded), or None."""
    try:
        with open_bytes(path) as fh:
            prefix = fh.read(4)
            if prefix[:1] in (b"{", b"[", b" ", b"\t", b"\r", b"\n", b""):
                return None  # JSON or text: no length prefix starts so, nor an OTLP message
            if len(prefix) == 4 and (n := struct.unpack(">I", prefix)[0]) <= MAX_MESSAGE_BYTES:
                first = fh.read(n)
                if len(first) == n and (signal := proto_signal(first)):
                    return signal
            fh.seek(0)
            head = fh.read(MAX_BARE_BYTES + 1)  # one bare message (a request body): small, or not one
    except (*READ_ERRORS, InputError):  # unreadable, or zstd: the other kinds say what it is
        return None
    return proto_signal(head) if len(head) <= MAX_BARE_BYTES else None


def proto_signal(data: bytes) -> str | None:
    """Which OTLP signal protobuf ``data`` (length-delimited or one message) holds, or None."""
    from google.protobuf.message import DecodeError

    first = (_messages(data) or [data])[0]
    for signal in SIGNALS:
        msg = _proto_class(signal)()
        try:
            msg.ParseFromString(first)
        except (DecodeError, RuntimeError, ValueError):
            continue
        if _plausible(signal, msg):
            return signal
    return None


def json_signal(doc: Any) -> str | None:
    """Which OTLP signal a JSON document holds, or None."""
    if not isinstance(doc, dict):
        return None
    for signal, key in _TOP.items():
        snake = "".join("_" + c.lower() if c.isupper() else c for c in key)
        if key in doc or snake in doc:
            return signal
    return None


def documents(path: Path, signal: str) -> Iterator[dict[str, Any]]:
    """The OTLP documents of one file, as OTLP JSON dicts (protobuf decoded), one at a time."""
    from google.protobuf.json_format import MessageToDict
    from google.protobuf.message import DecodeError

    data = read_bytes(path)
    if data.lstrip()[:1] == b"{":
        text = data.decode("utf-8", "replace")
        try:
            yield json.loads(text)
            return
        except json.JSONDecodeError:
            pass  # JSON Lines: a document per line
        for n, doc in json_lines(text.splitlines(), path):
            if json_signal(doc) != signal:
                raise ParseError(f"not OTLP {signal} JSON", file=str(path), line=n)
            yield doc
        return
    for i, raw in enumerate(_messages(data) or [data]):
        msg = _proto_class(signal)()
        try:
            msg.ParseFromString(raw)
        except DecodeError as exc:
            raise ParseError(
                f"invalid OTLP {signal} protobuf in message {i + 1}: {exc}", file=str(path)
            ) from None
        yield MessageToDict(msg)
