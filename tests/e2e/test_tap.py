"""`costscope tap`: the OpenTelemetry SDK's own OTLP/HTTP exporters send to it over real HTTP."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from costscope.store import Store
from tests import servers

RESOURCE = Resource.create({"service.name": "cart", "service.instance.id": "c-1"})


def _wait_listening(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        try:
            httpx.post(url + "/v1/nothing", content=b"", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("tap did not listen")


def test_the_sdk_exporters_send_to_the_tap_and_every_count_is_exact(tmp_path: Path) -> None:
    port = servers.free_port()
    url = f"http://127.0.0.1:{port}"
    db, out = tmp_path / "c.duckdb", tmp_path / "out.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "costscope", "tap", "--listen", f"127.0.0.1:{port}", "--duration", "12s",
         "--db", str(db), "--json", str(out), "--report", str(tmp_path / "r.html"), "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
    )  # fmt: skip
    try:
        _wait_listening(url, proc)
        # traces: protobuf, gzip, batched as the SDK batches them
        tracer_provider = TracerProvider(resource=RESOURCE)
        tracer_provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=url + "/v1/traces", compression=Compression.Gzip))
        )
        tracer = tracer_provider.get_tracer("cart")
        for i in range(300):
            with (
                tracer.start_as_current_span("add-item", attributes={"item": i % 5}),
                tracer.start_as_current_span("db.query"),
            ):
                pass
        tracer_provider.shutdown()
        # metrics: a counter over 4 × 3 attribute sets and a histogram over 2, one export
        reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=url + "/v1/metrics"), 600_000)
        meter_provider = MeterProvider(resource=RESOURCE, metric_readers=[reader])
        meter = meter_provider.get_meter("cart", "0.3")
        counter = meter.create_counter("cart.items.added", unit="{item}")
        histogram = meter.create_histogram("cart.checkout.duration", unit="s")
        for region in ("eu", "us", "ap", "sa"):
            for tier in ("free", "pro", "team"):
                counter.add(1, {"region": region, "tier": tier})
        for tier in ("free", "pro"):
            histogram.record(0.2, {"tier": tier})
        meter_provider.shutdown()
        # logs
        logger_provider = LoggerProvider(resource=RESOURCE)
        logger_provider.add_log_record_processor(
            SimpleLogRecordProcessor(OTLPLogExporter(endpoint=url + "/v1/logs"))
        )
        logger = logger_provider.get_logger("cart")
        for i in range(30):
            logger.emit(severity_number=SeverityNumber.WARN, body=f"cart {i} is close to its item limit")
        logger_provider.shutdown()
        # bad input: a 400 with a reason, never a crash
        bad = httpx.post(
            url + "/v1/traces", content=b"\xff\x00garbage", headers={"Content-Type": "application/x-protobuf"}
        )
        assert bad.status_code == 400 and "protobuf" in bad.json()["message"]
        bad_json = httpx.post(
            url + "/v1/metrics", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert bad_json.status_code == 400 and "JSON" in bad_json.json()["message"]
        bad_gzip = httpx.post(
            url + "/v1/logs", content=gzip.compress(b"x")[:-4] + b"zzzz",
            headers={"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
        )  # fmt: skip
        assert bad_gzip.status_code == 400
        assert httpx.post(url + "/v2/traces", content=b"").status_code == 404
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr.decode()
    with Store.open(db, read_only=True) as s:
        spans = s.query("SELECT count(*) AS n, count(DISTINCT trace_id) AS t FROM spans").row(0)
        series = dict(s.query("SELECT metric, series FROM metric_meta").iter_rows())
        lines = s.query("SELECT sum(lines) AS n FROM log_templates")["n"][0]
        warnings = s.query("SELECT message FROM source_errors")["message"].to_list()
    assert spans == (600, 300)
    assert series == {"cart_items_added_total": 12, "cart_checkout_duration_seconds": 2 * (15 + 1 + 2)}
    assert lines == 30
    assert any("refused" in w and "protobuf" in w for w in warnings)
    doc = json.loads(out.read_text())
    assert doc["totals"]["series"] == 12 + 36 and doc["snapshot"]["status"] == "complete"


def test_tap_refuses_a_bad_listen_address(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "costscope", "tap", "--listen", "nonsense", "--db", str(tmp_path / "c.duckdb")],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2 and "HOST:PORT" in proc.stderr and "Traceback" not in proc.stderr
