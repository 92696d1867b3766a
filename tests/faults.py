"""A fault-injecting HTTP proxy on loopback, in front of a real server.

Rules pick requests by path substring and occurrence; a fault is a delay, a status (with
``Retry-After``), a connection reset, or a body cut short of its ``Content-Length``. The proxy
counts requests and the most it saw in flight at once (for "good citizen" checks).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import httpx

from scripts.loopback import loopback


@dataclass
class Fault:
    """What to do to the requests whose path contains ``path``: the ``times`` first ones (all: -1)."""

    path: str
    kind: str  # delay | status | reset | truncate
    times: int = 1
    seconds: float = 0.0
    status: int = 503
    retry_after: str | None = None
    seen: int = 0


@dataclass
class FaultProxy:
    """Forwards to ``upstream`` and applies ``faults``."""

    upstream: str
    faults: list[Fault] = field(default_factory=list)
    requests: list[tuple[float, str]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    bytes_sent: int = 0  # response bodies passed on, uncompressed
    lock: threading.Lock = field(default_factory=threading.Lock)

    def pick(self, path: str) -> Fault | None:
        with self.lock:
            for f in self.faults:
                if f.path in path and (f.times < 0 or f.seen < f.times):
                    f.seen += 1
                    return f
        return None


@contextmanager
def fault_proxy(upstream: str, faults: list[Fault] | None = None) -> Iterator[tuple[str, FaultProxy]]:
    """Serve a ``FaultProxy`` on a free loopback port: yields (its URL, the proxy)."""
    proxy = FaultProxy(upstream, faults or [])
    client = httpx.Client(timeout=60)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            with proxy.lock:
                proxy.requests.append((time.monotonic(), self.path))
                proxy.in_flight += 1
                proxy.max_in_flight = max(proxy.max_in_flight, proxy.in_flight)
            try:
                self._serve()
            finally:
                with proxy.lock:
                    proxy.in_flight -= 1

        def _serve(self) -> None:
            fault = proxy.pick(self.path)
            if fault is not None and fault.kind == "delay":
                time.sleep(fault.seconds)
            if fault is not None and fault.kind == "reset":
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
                self.connection.close()
                self.close_connection = True
                return
            if fault is not None and fault.kind == "status":
                body = b'{"status":"error","error":"injected"}'
                self.send_response(fault.status)
                if fault.retry_after is not None:
                    self.send_header("Retry-After", fault.retry_after)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            upstream = client.get(proxy.upstream + self.path, headers={"Accept-Encoding": "identity"})
            body = upstream.content
            with proxy.lock:
                proxy.bytes_sent += len(body)
            self.send_response(upstream.status_code)
            self.send_header("Content-Type", upstream.headers.get("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if fault is not None and fault.kind == "truncate":
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

    try:
        with loopback(Handler) as url:
            yield url, proxy
    finally:
        client.close()
