"""OTLP protobuf: decode + aggregate throughput, and `costscope tap`'s sustained rate.

1. **Decode + aggregate** a length-delimited OTLP protobuf traces file (``--spans`` spans in
   requests of 512, as the SDK's batch processor sends) into the span table's rows: costscope's
   reader vs a plain loop over the ``opentelemetry-proto`` messages (parse, walk every span, build
   the same rows), in one process. Target: >= 5x the plain loop.
2. **Tap**: `costscope tap` in its own process, the OpenTelemetry SDK (BatchSpanProcessor + the
   OTLP/HTTP protobuf exporter) as the load generator in this one: spans/s accepted and the tap's
   peak RSS. Targets: >= 50k spans/s on 2 cores, RSS <= 500 MiB. The SDK itself is slower than
   that here (it makes and encodes spans in Python on the same two cores), so:
3. **Tap, replayed**: the same SDK's spans, encoded once into OTLP/HTTP protobuf requests of 2,048
   spans beforehand, posted by two keep-alive clients: the rate the tap itself sustains.

Usage: python benchmarks/otlp.py [--spans N] [--tap-spans N] [--only decode|tap|replay]
"""

from __future__ import annotations

import argparse
import os
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _traces_file(path: Path, n: int) -> None:
    from opentelemetry.proto.common.v1 import common_pb2
    from opentelemetry.proto.resource.v1 import resource_pb2
    from opentelemetry.proto.trace.v1 import trace_pb2

    out = bytearray()
    for base in range(0, n, 512):
        msg = trace_pb2.TracesData()
        rs = msg.resource_spans.add(
            resource=resource_pb2.Resource(
                attributes=[
                    common_pb2.KeyValue(
                        key="service.name", value=common_pb2.AnyValue(string_value=f"svc{base % 7}")
                    )
                ]
            )
        )
        ss = rs.scope_spans.add()
        for i in range(base, min(n, base + 512)):
            span = ss.spans.add(
                trace_id=(i // 4).to_bytes(16, "big"),
                span_id=(i + 1).to_bytes(8, "big"),
                name=f"op{i % 20}",
                kind=2,
                start_time_unix_nano=1_700_000_000_000_000_000 + i,
                end_time_unix_nano=1_700_000_000_000_000_000 + i + 1_000_000,
            )
            span.attributes.add(key="http.route", value=common_pb2.AnyValue(string_value=f"/r{i % 30}"))
        data = msg.SerializeToString()
        out += struct.pack(">I", len(data)) + data
    path.write_bytes(bytes(out))


def _plain_spans(path: Path) -> int:
    from opentelemetry.proto.trace.v1 import trace_pb2

    data = path.read_bytes()
    rows, i = [], 0
    while i < len(data):
        (n,) = struct.unpack(">I", data[i : i + 4])
        msg = trace_pb2.TracesData()
        msg.ParseFromString(data[i + 4 : i + 4 + n])
        i += 4 + n
        for rs in msg.resource_spans:
            service = next(
                (a.value.string_value for a in rs.resource.attributes if a.key == "service.name"), ""
            )
            for ss in rs.scope_spans:
                for s in ss.spans:
                    rows.append({"trace_id": s.trace_id.hex(), "span_id": s.span_id.hex(), "service": service,
                                 "operation": s.name, "start": s.start_time_unix_nano,
                                 "duration": s.end_time_unix_nano - s.start_time_unix_nano,
                                 "attrs": {a.key: a.value.string_value for a in s.attributes}})  # fmt: skip
    return len(rows)


def _ours_spans(path: Path) -> int:
    from costscope.sources.otlp_traces import read_proto_traces

    return sum(f.height for f in read_proto_traces(path))


def decode(spans: int, runs: int = 5) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spans.pb"
        _traces_file(path, spans)
        readers = {"costscope": _ours_spans, "plain loop": _plain_spans}
        for fn in readers.values():
            fn(path)  # imports, first-call set-up and the first touch of memory out of the timing, for both
        times: dict[str, list[float]] = {name: [] for name in readers}
        for _ in range(runs):  # one of each a round, so a slow spell of a noisy machine hits both
            for name, fn in readers.items():
                t = time.perf_counter()
                got = fn(path)
                times[name].append(time.perf_counter() - t)
                assert got == spans, (name, got)
        ratios = sorted(p / c for c, p in zip(times["costscope"], times["plain loop"], strict=True))
        print(
            f"== decode + aggregate {spans:,} spans ({path.stat().st_size / 1e6:.0f} MB protobuf), {runs} rounds"
        )
        for name, ts in times.items():
            s = sorted(ts)[len(ts) // 2]
            print(f"  {name:11s} {s:6.2f} s  {spans / s:10,.0f} spans/s (median)")
        print(f"  ratio {ratios[len(ratios) // 2]:.2f}x, median of the rounds' ratios "
              f"({ratios[0]:.2f}-{ratios[-1]:.2f}; target >= 5x)")  # fmt: skip


def _start_tap(tmp: str) -> tuple[subprocess.Popen[bytes], int]:
    sys.path.insert(0, str(HERE.parent))
    from tests.servers import free_port

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "costscope", "tap", "--listen",
         f"127.0.0.1:{port}", "--db", f"{tmp}/c.duckdb", "--report", f"{tmp}/r.html", "-q"],
        stderr=subprocess.PIPE, cwd=tmp,
    )  # fmt: skip
    import httpx

    for _ in range(100):  # until it listens
        try:
            httpx.post(f"http://127.0.0.1:{port}/v1/nothing", content=b"", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    return proc, port


def _stop_tap(proc: subprocess.Popen[bytes]) -> float:
    """Peak RSS (MiB) of the tap, then Ctrl-C: it keeps what it received and writes its snapshot."""
    status = Path(f"/proc/{proc.pid}/status").read_text()
    rss = int(next(x for x in status.splitlines() if x.startswith("VmHWM")).split()[1]) / 1024
    proc.send_signal(2)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err.decode()[-2000:]
    return rss


def tap(spans: int) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    with tempfile.TemporaryDirectory() as tmp:
        proc, port = _start_tap(tmp)
        provider = TracerProvider(resource=Resource.create({"service.name": "load"}))
        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=f"http://127.0.0.1:{port}/v1/traces"),
                               max_queue_size=200_000, max_export_batch_size=2048, schedule_delay_millis=200)
        )  # fmt: skip
        tracer = provider.get_tracer("load")
        t = time.perf_counter()
        for i in range(spans):
            with tracer.start_as_current_span(f"op{i % 20}", attributes={"i": i % 100}):
                pass
        provider.force_flush()
        elapsed = time.perf_counter() - t
        provider.shutdown()
        rss = _stop_tap(proc)
        print(f"== tap: {spans:,} spans from the SDK in {elapsed:.1f} s = {spans / elapsed:,.0f} spans/s"
              f" (sender and receiver on the same 2 cores; target >= 50k/s); tap peak RSS {rss:.0f} MiB (<= 500)")  # fmt: skip


def replay(spans: int) -> None:
    import httpx
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "load"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("load")
    for i in range(spans):
        with tracer.start_as_current_span(f"op{i % 20}", attributes={"i": i % 100}):
            pass
    finished = exporter.get_finished_spans()
    bodies = [encode_spans(finished[i : i + 2048]).SerializeToString() for i in range(0, len(finished), 2048)]
    from concurrent.futures import ThreadPoolExecutor

    with tempfile.TemporaryDirectory() as tmp:
        proc, port = _start_tap(tmp)
        url = f"http://127.0.0.1:{port}/v1/traces"
        headers = {"Content-Type": "application/x-protobuf"}

        def post(part: list[bytes]) -> None:
            with httpx.Client(timeout=60) as client:
                for body in part:
                    assert client.post(url, content=body, headers=headers).status_code == 200

        t = time.perf_counter()
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(post, [bodies[0::2], bodies[1::2]]))
        elapsed = time.perf_counter() - t
        rss = _stop_tap(proc)
        import duckdb

        with duckdb.connect(f"{tmp}/c.duckdb", read_only=True) as db:
            (counted,) = db.execute("SELECT sum(spans) FROM trace_operations").fetchone() or (0,)
        assert round(counted) == len(finished), (counted, len(finished))  # every span counted
        print(f"== tap, replayed: {len(finished):,} spans in {len(bodies)} requests in {elapsed:.1f} s ="
              f" {len(finished) / elapsed:,.0f} spans/s (target >= 50k/s); tap peak RSS {rss:.0f} MiB (<= 500)")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spans", type=int, default=200_000)
    ap.add_argument("--tap-spans", type=int, default=200_000)
    ap.add_argument("--only", choices=("decode", "tap", "replay"))
    args = ap.parse_args()
    os.environ.setdefault("OTEL_BSP_EXPORT_TIMEOUT", "60000")
    if args.only in (None, "decode"):
        decode(args.spans)
        sys.stdout.flush()
    if args.only in (None, "tap"):
        tap(args.tap_spans)
        sys.stdout.flush()
    if args.only in (None, "replay"):
        replay(args.tap_spans)


if __name__ == "__main__":
    main()
