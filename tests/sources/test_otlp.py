"""OTLP metrics, logs and protobuf traces as the OpenTelemetry SDK serialises them, in both encodings."""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from google.protobuf.json_format import MessageToJson
from opentelemetry import trace as trace_api
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import costscope
from costscope.sources.kinds import detect
from costscope.sources.otlp_metrics import prometheus_name
from costscope.store import Store

RESOURCE = Resource.create(
    {"service.name": "checkout", "service.namespace": "shop", "service.instance.id": "i-1"}
)


def _delimited(*messages: bytes) -> bytes:
    return b"".join(struct.pack(">I", len(m)) + m for m in messages)


def _recording_logger() -> tuple[InMemoryLogRecordExporter, Any]:
    """An SDK logger of the checkout service and the exporter that keeps what it emits."""
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider(resource=RESOURCE)
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    return exporter, provider.get_logger("shop.checkout")


def _recording_tracer() -> tuple[InMemorySpanExporter, Any]:
    """An SDK tracer of the checkout service and the exporter that keeps its finished spans."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter, provider.get_tracer("t")


def _both_encodings(tmp_path: Path, request: Any, name: str) -> list[Path]:
    """``request`` as the collector's file exporter writes it: length-delimited protobuf, and JSON."""
    paths = []
    for encoding in ("proto", "json"):
        path = tmp_path / encoding / f"{name}.{encoding}"
        path.parent.mkdir()
        if encoding == "proto":
            path.write_bytes(_delimited(request.SerializeToString()))
        else:
            path.write_text(MessageToJson(request, indent=None) + "\n")
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def metrics_request() -> object:
    reader = InMemoryMetricReader()
    meter = MeterProvider(resource=RESOURCE, metric_readers=[reader]).get_meter("shop.checkout", "1.2.0")
    requests = meter.create_counter("http.server.requests", unit="{request}")
    latency = meter.create_histogram("http.server.duration", unit="ms")
    inflight = meter.create_up_down_counter("http.server.active_requests", unit="{request}")
    for route in ("/cart", "/pay", "/ship"):
        for status in ("200", "500"):
            requests.add(3, {"http.route": route, "http.status_code": status})
            latency.record(12.5, {"http.route": route})
    inflight.add(1, {"http.route": "/cart"})
    return encode_metrics(reader.get_metrics_data())


def _oracle(request: object) -> dict[str, int]:
    """Series per family straight from the SDK's data points: buckets + 2 per histogram point."""
    out: dict[str, int] = {}
    for rm in request.resource_metrics:  # type: ignore[attr-defined]
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                kind = m.WhichOneof("data")
                points = getattr(m, kind).data_points
                monotonic = kind == "sum" and m.sum.is_monotonic
                family = prometheus_name(m.name, m.unit, kind, monotonic)
                n = (
                    sum(len(p.explicit_bounds) + 1 + 2 for p in points)
                    if kind == "histogram"
                    else len(points)
                )
                out[family] = out.get(family, 0) + n
    return out


def _series(db: Path) -> dict[str, int]:
    with Store.open(db, read_only=True) as s:
        return dict(s.query("SELECT metric, series FROM metric_meta").iter_rows())


@pytest.mark.parametrize("encoding", ["proto", "json"])
def test_otlp_metrics_series_as_prometheus_would_store_them(
    tmp_path: Path, metrics_request: object, encoding: str
) -> None:
    path = tmp_path / f"metrics.{encoding}"
    if encoding == "proto":  # the collector's file exporter, format: proto — two exports of the same points
        raw = metrics_request.SerializeToString()  # type: ignore[attr-defined]
        path.write_bytes(_delimited(raw, raw))
    else:  # format: json, a document per line
        line = MessageToJson(metrics_request, indent=None)  # type: ignore[arg-type]
        path.write_text(line + "\n" + line + "\n")
    assert detect(path) == "otlp_metrics"
    ws = costscope.analyze([str(path)], db=tmp_path / "c.duckdb")
    got = _series(tmp_path / "c.duckdb")
    assert got == _oracle(metrics_request)
    assert got == {
        "http_server_requests_total": 6,  # the {request} annotation is no unit; a monotonic sum gets _total
        "http_server_duration_milliseconds": 3 * (15 + 1 + 2),  # the SDK's 15 default bounds
        "http_server_active_requests": 1,  # not monotonic: a gauge
    }
    with Store.open(tmp_path / "c.duckdb", read_only=True) as s:
        meta = {
            r[0]: r[1:]
            for r in s.query("SELECT metric, type, unit, temporality FROM metric_meta").iter_rows()
        }
        labels = set(s.query("SELECT DISTINCT label FROM series_labels")["label"])
    assert meta["http_server_duration_milliseconds"] == ("histogram", "ms", "cumulative")
    assert meta["http_server_active_requests"][0] == "gauge"
    assert {"job", "instance", "otel_scope_name", "otel_scope_version", "http_route", "le"} <= labels
    jobs = ws.series_by_job()
    assert set(jobs["job"]) == {"shop/checkout"}


def test_otlp_logs_in_both_encodings(tmp_path: Path) -> None:
    exporter, logger = _recording_logger()
    now = time.time_ns()
    for i in range(40):
        logger.emit(timestamp=now + i, severity_number=SeverityNumber.INFO, severity_text="INFO",
                    body=f"order {1000 + i} placed by user {i % 7}", attributes={"user": str(i % 7)})  # fmt: skip
    for i in range(10):
        logger.emit(timestamp=now + 100 + i, severity_number=SeverityNumber.ERROR,
                    body=f"payment declined for order {2000 + i}")  # fmt: skip
    request = encode_logs(list(exporter.get_finished_logs()))
    for path in _both_encodings(tmp_path, request, "logs"):
        assert detect(path) == "otlp_logs"
        ws = costscope.analyze([str(path)], db=path.parent / "c.duckdb")
        templates = ws.analysis().logs.templates
        assert int(templates["lines"].sum()) == 50
        by_level = dict(templates.group_by("level").agg(pl.col("lines").sum()).iter_rows())
        assert by_level == {"INFO": 40, "ERROR": 10}
        assert set(templates["services"].explode()) == {"checkout"}
        assert templates.height == 2  # two statements


def test_otlp_protobuf_traces(tmp_path: Path) -> None:
    exporter, tracer = _recording_tracer()
    for i in range(25):
        with (
            tracer.start_as_current_span("checkout", attributes={"order": i}),
            tracer.start_as_current_span("charge"),
        ):
            pass
    request = encode_spans(exporter.get_finished_spans())
    path = tmp_path / "spans.pb"
    path.write_bytes(_delimited(request.SerializeToString()))
    assert detect(path) == "traces"
    ws = costscope.analyze([str(path)], db=tmp_path / "c.duckdb")
    with Store.open(tmp_path / "c.duckdb", read_only=True) as s:
        spans = s.query("SELECT count(*) AS n, count(DISTINCT trace_id) AS t FROM spans").row(0)
    assert spans == (50, 25)
    ids = {f"{s.context.trace_id:032x}" for s in exporter.get_finished_spans()}
    with Store.open(tmp_path / "c.duckdb", read_only=True) as s:
        assert set(s.query("SELECT DISTINCT trace_id FROM spans")["trace_id"]) == ids
    resources = ws.analysis().traces.resource_attributes
    sent = dict(exporter.get_finished_spans()[0].resource.attributes)
    assert set(resources["key"]) == set(sent)
    assert set(resources["items"]) == {50.0} and set(resources["values"]) == {1}  # copied onto each span


def test_a_broken_protobuf_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "metrics.pb"
    path.write_bytes(b"\x00\x00\x00\x05\xff\xff\xff\xff\xff")
    found = detect(path)
    assert not isinstance(found, str) and "not recognised" in found.message and "binary" in found.message


def test_json_names_only_otlp_json(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"resourceMetrics": []}))
    assert detect(path) == "otlp_metrics"


def _expected_attributes(
    items: list[tuple[dict[str, object], float]],
) -> dict[str, tuple[float, float, int, int]]:
    """The oracle: per key, (items, bytes, distinct values, longest) from the SDK's own records."""
    out: dict[str, tuple[float, float, set[str], int]] = {}
    for attrs, weight in items:
        for key, value in attrs.items():
            text = value if isinstance(value, str) else json.dumps(value)
            n, size, seen, longest = out.get(key, (0.0, 0.0, set(), 0))
            out[key] = (
                n + weight,
                size + weight * (len(key) + len(text) + 8),
                seen | {text},
                max(longest, len(text)),
            )
    return {k: (n, size, len(seen), longest) for k, (n, size, seen, longest) in out.items()}


def test_otlp_log_attributes_cost_per_key_on_records_and_resources(tmp_path: Path) -> None:
    exporter, logger = _recording_logger()
    now = time.time_ns()
    for i in range(60):
        attributes: dict[str, str | int | bool] = {
            "user.id": f"u{i % 23}",
            "retry": i % 3,
            "cached": i % 2 == 0,
        }
        if i % 4 == 0:  # a header nobody needs, long enough to be worth truncating
            attributes["http.request.header.cookie"] = "session=" + "x" * (280 + i)
        logger.emit(timestamp=now + i * 1_000_000_000, severity_number=SeverityNumber.INFO,
                    body=f"order {i} placed", attributes=attributes)  # fmt: skip
    finished = list(exporter.get_finished_logs())
    records = _expected_attributes([(dict(r.log_record.attributes or {}), 1.0) for r in finished])
    resources = _expected_attributes([(dict(r.resource.attributes), 1.0) for r in finished])
    request = encode_logs(finished)
    for path in _both_encodings(tmp_path, request, "logs"):
        encoding = path.parent.name
        ws = costscope.analyze([str(path)], db=path.parent / "c.duckdb")
        with Store.open(path.parent / "c.duckdb", read_only=True) as s:
            rows = s.query(
                "SELECT scope, key, items, bytes, value_count, max_chars, truncate_saves FROM otel_attributes"
            )
        got = {(r[0], r[1]): r[2:6] for r in rows.iter_rows()}
        want = {("record", k): v for k, v in records.items()} | {
            ("resource", k): v for k, v in resources.items()
        }
        assert got == want, encoding
        cookie = rows.filter(pl.col("key") == "http.request.header.cookie")["truncate_saves"][0]
        assert cookie == sum(max(0, 8 + 280 + i - 256) for i in range(0, 60, 4))
        costs = ws.analysis().logs.attributes
        assert costs["key"][0] == "http.request.header.cookie"  # the heaviest: most bytes a month
        assert "truncate_all(attributes, 256)" in costs["config"][0] or "action: delete" in costs["config"][0]
        assert costs.filter(pl.col("scope") == "resource")["key"].to_list() == sorted(
            resources, key=lambda k: -resources[k][1]
        )


def test_protobuf_spans_read_column_by_column_equal_the_json_reading(tmp_path: Path) -> None:
    from costscope.sources.otlp_traces import proto_spans_frame
    from costscope.sources.traces import frame, otlp_spans

    exporter, tracer = _recording_tracer()
    for i in range(30):
        with tracer.start_as_current_span(
            f"op{i % 4}", attributes={"n": i, "ok": i % 2 == 0, "ratio": i / 7, "tags": ["a", "b"], "s": "x"}
        ) as span:
            if i % 5 == 0:
                span.set_status(trace_api.Status(trace_api.StatusCode.ERROR))
            with tracer.start_as_current_span("child", kind=trace_api.SpanKind.CLIENT):
                pass
    request = encode_spans(exporter.get_finished_spans())
    from_proto = proto_spans_frame(request.SerializeToString()).sort("span_id")
    from_json = frame(otlp_spans(json.loads(MessageToJson(request)))).sort("span_id")
    assert from_proto.height == 60
    assert from_proto.to_dicts() == from_json.select(from_proto.columns).to_dicts()
