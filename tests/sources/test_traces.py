"""Trace sources: real fixture files, the OpenTelemetry SDK's own output, Jaeger and Tempo APIs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import costscope
from costscope.errors import ParseError
from costscope.sources.kinds import detect
from costscope.sources.traces import attrs_text, hex_id, read_trace_file
from scripts.loopback import loopback
from tests.conftest import SHARED

TRACES = SHARED / "traces"


def _read(path: Path) -> pl.DataFrame:
    return pl.concat(list(read_trace_file(path)))


@pytest.mark.parametrize(
    ("file", "spans", "services", "errors"),
    [
        ("zipkin_lens_testdata/smartthings-mobile-web-install.json", 1041, 16, 2),
        ("zipkin_lens_testdata/smartthings-oauth-authorization.json", 175, 8, 2),
        ("zipkin_lens_testdata/messaging-kafka.json", 28, 2, 3),
        ("zipkin_lens_testdata/yelp.json", 16, 6, 0),
        ("jaeger_fixtures/jaeger.ui_01.uimodel.json", 5, 2, 1),
        ("jaeger_fixtures/jaeger-ui.oltp2jaeger-multi-out.apiv1.json", 4, 1, 0),
        ("jaeger_fixtures/jaeger.otel_traces_01.otlp.json", 4, 1, 4),
        ("otlp_proto_examples/trace.json", 1, 1, 0),
    ],
)
def test_real_trace_files(file: str, spans: int, services: int, errors: int) -> None:
    df = _read(TRACES / file)
    assert (df.height, df["service"].n_unique(), (df["status"] == "ERROR").sum()) == (spans, services, errors)
    assert df["trace_id"].str.len_chars().unique().to_list() == [32]
    assert (df["duration_ns"] >= 0).all() and (df["approx_bytes"] > 0).all()


def test_otlp_from_the_real_sdk(tmp_path: Path) -> None:
    """Spans made by the OpenTelemetry Python SDK, encoded by its OTLP encoder, as JSON Lines."""
    from google.protobuf.json_format import MessageToDict
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import Status, StatusCode

    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "checkout"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    lines = []
    for i in range(20):
        with tracer.start_as_current_span("POST /checkout", attributes={"http.route": "/checkout"}) as root:
            with tracer.start_as_current_span("SELECT", attributes={"db.system": "postgresql", "rows": i}):
                pass
            if i % 10 == 0:
                root.set_status(Status(StatusCode.ERROR, "declined"))
        # the protobuf JSON mapping writes ids in base64 and int64s as strings
        doc = MessageToDict(encode_spans(exporter.get_finished_spans()))
        lines.append(json.dumps(doc))
        exporter.clear()
    path = tmp_path / "sdk.otlp.jsonl"
    path.write_text("\n".join(lines) + "\n")
    df = _read(path)
    assert df.height == 40 and df["trace_id"].n_unique() == 20
    assert set(df["operation"]) == {"POST /checkout", "SELECT"}
    assert (df["status"] == "ERROR").sum() == 2
    child = df.filter(pl.col("operation") == "SELECT").row(0, named=True)
    assert child["parent_span_id"] in set(df["span_id"])
    assert json.loads(child["attrs"])["db.system"] == "postgresql"


def test_hex_and_base64_ids() -> None:
    assert hex_id("5B8EFFF798038103D269B633813FC60C", 32) == "5b8efff798038103d269b633813fc60c"
    assert hex_id("W47/95gDgQPSabYzgT/GDA==", 32) == "5b8efff798038103d269b633813fc60c"
    assert hex_id("a03ee8fff1dcd9b9", 32) == "0000000000000000a03ee8fff1dcd9b9"
    assert hex_id("", 16) is None and hex_id("not an id!", 16) is None


@pytest.mark.parametrize(
    ("text", "line"),
    [('{"resourceSpans": [\n', 2), ('{"resourceSpans": []}\n{"resourceSpans": [}\n', 2)],
)
def test_malformed_trace_json_names_the_line(tmp_path: Path, text: str, line: int) -> None:
    path = tmp_path / "bad.otlp.json"
    path.write_text(text)
    with pytest.raises(ParseError) as err:
        _read(path)
    assert err.value.line == line and err.value.file == str(path)


def test_a_folder_of_trace_files_is_a_trace_source(tmp_path: Path) -> None:
    (tmp_path / "st.zipkin.json").write_text(
        (TRACES / "zipkin_lens_testdata/smartthings-mobile-web-install.json").read_text()
    )
    ws = costscope.analyze([str(tmp_path)], db=tmp_path / "db")
    ops = ws.analysis().traces.operations
    assert ops["spans"].sum() == 1041 and ops["service"].n_unique() == 16


# --- Jaeger and Tempo, shaped as they document their APIs -----------------------------------------------


def _jaeger_trace(trace_id: str, service: str) -> dict[str, object]:
    return {
        "traceID": trace_id,
        "processes": {"p1": {"serviceName": service, "tags": []}},
        "spans": [
            {"traceID": trace_id, "spanID": trace_id[:16], "operationName": "GET /x", "references": [],
             "startTime": 1764064800000000, "duration": 1500, "processID": "p1",
             "tags": [{"key": "span.kind", "type": "string", "value": "server"}]},
            {"traceID": trace_id, "spanID": trace_id[16:], "operationName": "SELECT", "processID": "p1",
             "references": [{"refType": "CHILD_OF", "traceID": trace_id, "spanID": trace_id[:16]}],
             "startTime": 1764064800000100, "duration": 700,
             "tags": [{"key": "error", "type": "bool", "value": True}]},
        ],
    }  # fmt: skip


def _otlp_trace(trace_id: str, service: str) -> dict[str, object]:
    spans = [
        {"traceId": trace_id, "spanId": trace_id[:16], "name": "GET /x", "kind": 2,
         "startTimeUnixNano": "1764064800000000000", "endTimeUnixNano": "1764064800002000000"},
        {"traceId": trace_id, "spanId": trace_id[16:], "parentSpanId": trace_id[:16], "name": "SELECT", "kind": 3,
         "startTimeUnixNano": "1764064800000100000", "endTimeUnixNano": "1764064800000900000"},
    ]  # fmt: skip
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]}
    return {"batches": [{"resource": resource, "scopeSpans": [{"spans": spans}]}]}


@contextmanager
def api(routes: dict[str, object]) -> Iterator[str]:
    """A loopback server answering JSON per path; ``routes`` values may be callables of the query."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            answer = routes.get(parts.path)
            if callable(answer):
                answer = answer(parse_qs(parts.query))
            status, body = (200, answer) if answer is not None else (404, {"error": "not found"})
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    with loopback(Handler) as url:
        yield url


def _analyze(tmp_path: Path, url: str, kind: str) -> costscope.Workspace:
    cfg = tmp_path / "costscope.yaml"
    cfg.write_text(f"sources:\n  - {{name: t, kind: {kind}, url: '{url}', sample_lines: 50}}\n")
    return costscope.analyze([], db=tmp_path / "db", config=cfg)


def test_jaeger_query_api(tmp_path: Path) -> None:
    ids = [f"{i:032x}" for i in range(1, 9)]
    seen: list[dict[str, list[str]]] = []

    def traces(q: dict[str, list[str]]) -> dict[str, object]:
        seen.append(q)
        service = q["service"][0]
        chosen = ids[:5] if service == "api" else ids[3:]  # two traces are found under both services
        return {"data": [_jaeger_trace(t, service) for t in chosen], "total": 0, "limit": 0, "offset": 0}

    routes = {"/api/services": {"data": ["api", "db"], "total": 2}, "/api/traces": traces}
    with api(routes) as url:
        ops = _analyze(tmp_path, url, "jaeger").analysis().traces.operations
    assert ops["traces"].sum() == 2 * 8  # each of 8 traces once, two operations each
    assert ops["error_spans"].sum() == 8
    assert all(q["limit"] == ["50"] and int(q["end"][0]) > int(q["start"][0]) > 10**15 for q in seen)


@pytest.mark.parametrize("metrics", [True, False])
def test_tempo_api(tmp_path: Path, metrics: bool) -> None:
    ids = [f"{i:032x}" for i in range(1, 5)]
    routes: dict[str, object] = {
        "/api/search/tags": {"tagNames": ["service.name", "http.route"]},
        "/api/search/tag/service.name/values": {"tagValues": [{"type": "string", "value": "api"}]},
        "/api/search": {"traces": [{"traceID": t, "rootServiceName": "api", "rootTraceName": "GET /x",
                                    "startTimeUnixNano": "1764064800000000000", "durationMs": 2} for t in ids]},
    }  # fmt: skip
    for t in ids:
        routes[f"/api/traces/{t}"] = _otlp_trace(t, "api")
    if metrics:  # TraceQL metrics: 40 spans of each operation over the window, not the 4 sampled
        routes["/api/metrics/query_range"] = {
            "series": [
                {"labels": [{"key": "resource.service.name", "value": {"stringValue": "api"}},
                            {"key": "name", "value": {"stringValue": op}}],
                 "samples": [{"timestampMs": "1764064800000", "value": 40}]}
                for op in ("GET /x", "SELECT")
            ]
        }  # fmt: skip
    with api(routes) as url:
        ops = _analyze(tmp_path, url, "tempo").analysis().traces.operations
    assert dict(zip(ops["operation"], ops["spans"], strict=True)) == (
        {"GET /x": 40.0, "SELECT": 40.0} if metrics else {"GET /x": 4.0, "SELECT": 4.0}
    )


def test_tempo_missing_is_a_source_error(tmp_path: Path) -> None:
    with api({}) as url, pytest.raises(costscope.SourceError, match="404"):
        _analyze(tmp_path, url, "tempo")


_VALUES = st.one_of(
    st.text(), st.integers(), st.floats(), st.booleans(), st.none(), st.lists(st.integers(), max_size=3)
)


@given(st.dictionaries(st.text(), _VALUES, max_size=6))
def test_attributes_text_is_what_json_dumps_writes(attrs: dict[str, object]) -> None:
    plain = {k: v if isinstance(v, str | int | float | bool) else str(v) for k, v in attrs.items()}
    assert attrs_text(attrs) == json.dumps(plain)


@pytest.mark.parametrize("answer", ["v1", "v2"])
def test_a_saved_tempo_trace_by_id_reads_as_its_spans(tmp_path: Path, answer: str) -> None:
    """``curl tempo/api/traces/<id>`` (``batches``) and ``/api/v2/traces/<id>`` (``trace``) saved
    to files: the spans of the OTLP document they wrap (oracle: the document's own span count)."""
    source = SHARED / "realworld" / "traces" / "tempo" / "trace-with-queue-database.otlp.json"
    doc = json.loads(source.read_text())
    wrapped = {"batches": doc["resourceSpans"]} if answer == "v1" else {"trace": doc, "status": "COMPLETE"}
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(wrapped))
    assert detect(path) == "traces"
    spans = pl.concat(list(read_trace_file(path)))
    expected = sum(len(ss["spans"]) for rs in doc["resourceSpans"] for ss in rs["scopeSpans"])
    assert spans.height == expected > 0
    assert spans.equals(pl.concat(list(read_trace_file(source))))
