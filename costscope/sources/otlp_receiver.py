"""An OTLP/HTTP receiver: what flows through a collector, measured where there is no backend to ask.

``/v1/traces``, ``/v1/metrics`` and ``/v1/logs`` take protobuf (``application/x-protobuf``) or
JSON (``application/json``), gzip-encoded or not, as the OpenTelemetry SDKs and the collector's
``otlphttp`` exporter send them. Each request is decoded and handed to the sinks at once: series
to the metrics sink, log lines to the logs sink (mined into templates there), spans to the traces
sink; payloads are never kept. A body that is too large is a 413, one that cannot be decoded a
400 naming why: never a crash. It binds to loopback unless told otherwise.
"""

from __future__ import annotations

import json
import threading
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import polars as pl

from costscope.errors import ParseError
from costscope.sources.otlp import _proto_class, json_signal
from costscope.sources.otlp_logs import log_chunk, log_rows
from costscope.sources.otlp_metrics import MetricsFrames
from costscope.sources.otlp_traces import proto_spans_frame
from costscope.sources.sinks import LogsSink, MetricsSink, TracesSink
from costscope.sources.traces import frame, otlp_spans

MAX_BODY_BYTES = 64 << 20  # compressed or not; what the collector's default max_request_body_size allows
PATHS = {"/v1/traces": "traces", "/v1/metrics": "metrics", "/v1/logs": "logs"}


@dataclass
class TapStats:
    """What the receiver took in so far."""

    requests: int = 0
    rejected: int = 0
    spans: int = 0
    points: int = 0
    records: int = 0
    bytes: int = 0  # request bodies as received (compressed where they were)
    reasons: dict[str, int] = field(default_factory=dict)  # why requests were refused, and how often


def _unzipped(body: bytes, encoding: str) -> bytes:
    """The body as sent before its Content-Encoding (gzip, bounded) was applied."""
    if encoding == "gzip":
        try:
            return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(body, MAX_BODY_BYTES * 4)
        except zlib.error as exc:
            raise ParseError(f"invalid gzip body: {exc}") from None
    if encoding not in ("", "identity"):
        raise ParseError(f"unsupported Content-Encoding {encoding!r} (gzip or none)")
    return body


def decode(signal: str, body: bytes, content_type: str, encoding: str) -> dict[str, Any]:
    """One request body as an OTLP JSON dict; ``ParseError`` saying why it can't be."""
    from google.protobuf.json_format import MessageToDict
    from google.protobuf.message import DecodeError

    body = _unzipped(body, encoding)
    if content_type.startswith("application/json"):
        try:
            doc = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ParseError(f"invalid JSON: {exc}") from None
        if json_signal(doc) not in (signal, None) or not isinstance(doc, dict):
            raise ParseError(f"not an OTLP {signal} request")
        return doc
    if content_type and not content_type.startswith("application/x-protobuf"):
        raise ParseError(
            f"unsupported Content-Type {content_type!r} (application/x-protobuf or application/json)"
        )
    msg = _proto_class(signal)()
    try:
        msg.ParseFromString(body)
    except DecodeError as exc:
        raise ParseError(f"invalid OTLP {signal} protobuf: {exc}") from None
    return MessageToDict(msg)


class OtlpReceiver:
    """Receives OTLP/HTTP on ``host:port`` and feeds the sinks, one request at a time."""

    def __init__(
        self, host: str, port: int, metrics: MetricsSink, logs: LogsSink, traces: TracesSink
    ) -> None:
        self.stats = TapStats()
        self._lock = threading.Lock()  # the sinks write one DuckDB connection: one request at a time
        self._metrics = MetricsFrames(metrics)
        self._logs, self._traces = logs, traces
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                receiver._handle(self)

            def log_message(self, format: str, *args: object) -> None:
                pass  # requests are counted, not logged: a busy collector sends thousands a second

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="costscope-tap", daemon=True)

    @property
    def address(self) -> str:
        """``host:port`` it listens on (the port the OS gave when 0 was asked)."""
        host, port = self._server.server_address[:2]
        return f"{host if isinstance(host, str) else host.decode()}:{port}"

    def start(self) -> None:
        """Start accepting requests in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, let running requests end, and flush what the sinks hold."""
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            self._metrics.close()

    def _refuse(self, h: BaseHTTPRequestHandler, status: int, reason: str) -> None:
        with self._lock:
            self.stats.rejected += 1
            key = reason.split(":")[0][:80]
            self.stats.reasons[key] = self.stats.reasons.get(key, 0) + 1
        data = json.dumps({"code": 3, "message": reason}).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        signal = PATHS.get(h.path.split("?", 1)[0])
        if signal is None:
            self._refuse(h, 404, f"no such path {h.path[:100]!r}: /v1/traces, /v1/metrics or /v1/logs")
            return
        try:
            length = int(h.headers.get("Content-Length", ""))
        except ValueError:
            self._refuse(h, 411, "a Content-Length is needed")
            return
        if length > MAX_BODY_BYTES:
            self._refuse(h, 413, f"body of {length} bytes is over {MAX_BODY_BYTES}")
            h.close_connection = True
            return
        body = h.rfile.read(length)
        content_type = (h.headers.get("Content-Type") or "").lower()
        encoding = (h.headers.get("Content-Encoding") or "").lower()
        try:
            if signal == "traces" and not content_type.startswith("application/json"):
                # spans straight from the message: several times faster than through JSON
                self._take_spans(proto_spans_frame(_unzipped(body, encoding)), len(body))
            else:
                self._take(signal, decode(signal, body, content_type, encoding), len(body))
        except ParseError as exc:
            self._refuse(h, 400, exc.message)
            return
        except (TypeError, ValueError, KeyError, AttributeError) as exc:  # untrusted shapes
            self._refuse(h, 400, f"malformed OTLP {signal}: {type(exc).__name__}")
            return
        reply = b"{}" if content_type.startswith("application/json") else b""
        h.send_response(200)
        h.send_header("Content-Type", "application/json" if reply else "application/x-protobuf")
        h.send_header("Content-Length", str(len(reply)))
        h.end_headers()
        h.wfile.write(reply)

    def _take_spans(self, spans: pl.DataFrame, size: int) -> None:
        with self._lock:
            self._traces.add(spans)
            self.stats.spans += spans.height
            self.stats.requests += 1
            self.stats.bytes += size

    def _take(self, signal: str, doc: dict[str, Any], size: int) -> None:
        # decoding ran outside the lock (on the request's thread); only the sinks are serialised
        if signal == "traces":
            self._take_spans(frame(otlp_spans(doc)), size)
            return
        chunk = log_chunk(log_rows(doc)) if signal == "logs" else None
        with self._lock:
            if chunk is None:
                before = self._metrics.points
                self._metrics.add(doc)
                self.stats.points += self._metrics.points - before
            else:
                if chunk.height:
                    self._logs.add(chunk, '{source="otlp"}')
                self.stats.records += chunk.height
            self.stats.requests += 1
            self.stats.bytes += size


__all__ = ["MAX_BODY_BYTES", "OtlpReceiver", "TapStats", "decode"]
