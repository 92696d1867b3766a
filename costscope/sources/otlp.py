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

import gzip
import json
import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl

from costscope.errors import InputError, ParseError
from costscope.sources.log_files import normalize_level
from costscope.sources.sinks import LogsSink, MetricsSink
from costscope.sources.traces import (
    _OTLP_KINDS,
    _OTLP_STATUS,
    _any_value,
    _attr_map,
    _get,
    _row,
    frame,
    hex_id,
    json_lines,
)

SIGNALS = ("metrics", "logs", "traces")
_TOP = {"metrics": "resourceMetrics", "logs": "resourceLogs", "traces": "resourceSpans"}
MAX_MESSAGE_BYTES = 256 << 20
MAX_BARE_BYTES = 16 << 20
BATCH_POINTS = 100_000

# --- reading documents -------------------------------------------------------------------------


def _raw(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


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
    import io

    try:
        with path.open("rb") as raw:
            gz = raw.read(2) == b"\x1f\x8b"
        with gzip.open(path, "rb") if gz else path.open("rb") as fh:
            assert isinstance(fh, io.BufferedIOBase | gzip.GzipFile)
            prefix = fh.read(4)
            if len(prefix) == 4 and (n := struct.unpack(">I", prefix)[0]) <= MAX_MESSAGE_BYTES:
                first = fh.read(n)
                if len(first) == n and (signal := proto_signal(first)):
                    return signal
            fh.seek(0)
            head = fh.read(MAX_BARE_BYTES + 1)  # one bare message (a request body): small, or not one
    except (OSError, EOFError):
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

    try:
        data = _raw(path)
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot read: {exc}", file=str(path)) from None
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


# --- metrics -------------------------------------------------------------------------------------

_UNITS = {
    "d": "days", "h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds", "us": "microseconds",
    "ns": "nanoseconds", "By": "bytes", "KiBy": "kibibytes", "MiBy": "mebibytes", "GiBy": "gibibytes",
    "TiBy": "tibibytes", "KBy": "kilobytes", "MBy": "megabytes", "GBy": "gigabytes", "TBy": "terabytes",
    "m": "meters", "V": "volts", "A": "amperes", "J": "joules", "W": "watts", "g": "grams", "Cel": "celsius",
    "Hz": "hertz", "%": "percent",
}  # fmt: skip
_PER = {
    "s": "second",
    "m": "minute",
    "min": "minute",
    "h": "hour",
    "d": "day",
    "w": "week",
    "mo": "month",
    "y": "year",
}
_BAD = re.compile(r"[^a-zA-Z0-9_:]")


def _sanitize(name: str) -> str:
    out = _BAD.sub("_", name)
    out = re.sub(r"__+", "_", out)
    return "_" + out if out[:1].isdigit() else out


def prometheus_name(name: str, unit: str, kind: str, monotonic: bool) -> str:
    """The name Prometheus' OTLP translation gives a metric (with unit and type suffixes)."""
    base = _sanitize(name)
    unit = re.sub(r"\{[^}]*\}", "", unit or "").strip()
    suffix = ""
    if unit == "1":
        suffix = "ratio" if kind == "gauge" else ""
    elif unit:
        main, _, per = unit.partition("/")
        words = [_UNITS.get(main, _sanitize(main))] if main else []
        if per:
            words.append("per_" + _PER.get(per, _UNITS.get(per, _sanitize(per))))
        suffix = "_".join(w for w in words if w)
    if suffix and not base.endswith("_" + suffix):
        base += "_" + suffix
    if kind == "sum" and monotonic and not base.endswith("_total"):
        base += "_total"
    return base


def _resource_labels(resource: dict[str, Any]) -> list[tuple[str, str]]:
    service = resource.get("service.name")
    namespace = resource.get("service.namespace")
    labels = []
    if service is not None:
        labels.append(("job", f"{namespace}/{service}" if namespace else str(service)))
    if resource.get("service.instance.id") is not None:
        labels.append(("instance", str(resource["service.instance.id"])))
    return labels


def _point_labels(point: dict[str, Any]) -> list[tuple[str, str]]:
    attrs = _attr_map(point.get("attributes"))
    return [(_sanitize(k), v if isinstance(v, str) else json.dumps(v)) for k, v in attrs.items()]


def _bound(b: Any) -> str:
    value = float(b)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


_TYPES = {"gauge": "gauge", "sum": "counter", "histogram": "histogram", "exponentialHistogram": "histogram",
          "summary": "summary"}  # fmt: skip
_TEMPORALITY = {1: "delta", 2: "cumulative", "AGGREGATION_TEMPORALITY_DELTA": "delta",
                "AGGREGATION_TEMPORALITY_CUMULATIVE": "cumulative"}  # fmt: skip


class MetricsFrames:
    """Collects the series of OTLP metric documents and hands them to a sink in batches."""

    def __init__(self, sink: MetricsSink) -> None:
        self.sink = sink
        self.points = 0
        self._rows: list[tuple[str, str, list[tuple[str, str]]]] = []
        self._meta: dict[str, tuple[str, str | None, str | None, str | None]] = {}

    def add(self, doc: dict[str, Any]) -> None:
        """Every series of one ``MetricsData`` document."""
        for rm in _get(doc, "resourceMetrics") or []:
            resource = _resource_labels(_attr_map((_get(rm, "resource") or {}).get("attributes")))
            for sm in _get(rm, "scopeMetrics") or []:
                scope = _get(sm, "scope") or {}
                scoped = list(resource)
                if scope.get("name"):
                    scoped.append(("otel_scope_name", str(scope["name"])))
                if scope.get("version"):
                    scoped.append(("otel_scope_version", str(scope["version"])))
                for metric in sm.get("metrics") or []:
                    self._metric(metric, scoped)
        if len(self._rows) >= BATCH_POINTS:
            self.flush()

    def _metric(self, metric: dict[str, Any], scoped: list[tuple[str, str]]) -> None:
        kind = next((k for k in _TYPES if k in metric), None)
        if kind is None:
            return
        data = metric[kind] or {}
        monotonic = bool(_get(data, "isMonotonic"))
        family = prometheus_name(
            str(metric.get("name") or ""), str(metric.get("unit") or ""), kind, monotonic
        )
        type_ = "gauge" if kind == "sum" and not monotonic else _TYPES[kind]
        temporality = _TEMPORALITY.get(_get(data, "aggregationTemporality"))
        self._meta[family] = (
            type_,
            metric.get("description") or None,
            metric.get("unit") or None,
            temporality,
        )
        for point in _get(data, "dataPoints") or []:
            self.points += 1
            labels = scoped + _point_labels(point)
            if kind == "histogram":
                bounds = [_bound(b) for b in _get(point, "explicitBounds") or []] + ["+Inf"]
                for le in bounds:
                    self._rows.append((f"{family}_bucket", family, [*labels, ("le", le)]))
                self._rows.append((f"{family}_sum", family, labels))
                self._rows.append((f"{family}_count", family, labels))
            elif kind == "summary":
                for q in _get(point, "quantileValues") or []:
                    self._rows.append((family, family, [*labels, ("quantile", _bound(q.get("quantile", 0)))]))
                self._rows.append((f"{family}_sum", family, labels))
                self._rows.append((f"{family}_count", family, labels))
            else:
                self._rows.append((family, family, labels))

    def flush(self) -> None:
        """Hand the buffered series to the sink."""
        if not self._rows:
            return
        series = pl.DataFrame(
            {
                "seq": range(len(self._rows)),
                "metric": [r[0] for r in self._rows],
                "family": [r[1] for r in self._rows],
            },
            schema={"seq": pl.Int64, "metric": pl.String, "family": pl.String},
        )
        labels = pl.DataFrame(
            [(i, k, v) for i, r in enumerate(self._rows) for k, v in r[2]],
            schema={"seq": pl.Int64, "label": pl.String, "value": pl.String},
            orient="row",
        )
        self._rows = []
        self.sink.frames(series, labels)

    def close(self) -> None:
        """Flush, and say what each family is (its OTel description, unit and temporality)."""
        self.flush()
        for family, (type_, help_, unit, temporality) in self._meta.items():
            self.sink.metadata(family, type_, help_, unit, temporality=temporality)


def read_otlp_metrics(path: Path, sink: MetricsSink) -> int:
    """The series of one OTLP metrics file (JSON or protobuf) into ``sink``; returns the data points."""
    frames = MetricsFrames(sink)
    for doc in documents(path, "metrics"):
        frames.add(doc)
    frames.close()
    return frames.points


# --- logs ----------------------------------------------------------------------------------------

_SEVERITY_NUMBERS = [(21, "FATAL"), (17, "ERROR"), (13, "WARN"), (9, "INFO"), (5, "DEBUG"), (1, "TRACE")]
LINE_SCHEMA = {"message": pl.String, "level": pl.String, "service": pl.String, "ts": pl.Float64,
               "has_trace": pl.Boolean, "bytes": pl.Int64}  # fmt: skip


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
                }
            )
    return rows


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
        for ss in rs.scope_spans:
            for sp in ss.spans:
                start, end = sp.start_time_unix_nano, sp.end_time_unix_nano or sp.start_time_unix_nano
                yield _row(
                    sp.trace_id.hex() or None, sp.span_id.hex() or None, sp.parent_span_id.hex() or None,
                    service or "unknown_service", sp.name, _OTLP_KINDS.get(sp.kind, str(sp.kind)),
                    _OTLP_STATUS.get(sp.status.code, "UNSET"), start, end - start,
                    {a.key: _proto_value(a.value) for a in sp.attributes}, weight,
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


def read_otlp_logs(path: Path, sink: LogsSink) -> int:
    """The log records of one OTLP logs file (JSON or protobuf) into ``sink``; returns the records."""
    n = 0
    for doc in documents(path, "logs"):
        rows = log_rows(doc)
        if rows:
            chunk = pl.DataFrame(rows, schema=LINE_SCHEMA).with_columns(normalize_level(pl.col("level")))
            sink.add(chunk, f'{{filename="{path.name}"}}')
            n += len(rows)
    return n
