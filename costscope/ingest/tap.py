"""The tap: OTLP/HTTP received for a while, fed to every table as it arrives."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from costscope.errors import InputWarning, SourceError
from costscope.ingest.logs import LogsWriter
from costscope.ingest.reading import Reading
from costscope.ingest.traces import CappedTracesWriter
from costscope.sources.otlp_receiver import OtlpReceiver

MAX_TAP_SPANS = 1_000_000  # spans a tap keeps (whole traces, re-weighted) however much it receives


def collect_tap(r: Reading) -> None:
    """Listen for OTLP/HTTP for the source's duration (or until interrupted), feeding every table."""
    parts = urlsplit(r.source.url or "http://127.0.0.1:4318")
    host, port = parts.hostname or "127.0.0.1", parts.port if parts.port is not None else 4318
    logs = LogsWriter(r.snapshot, r.source.name)
    traces = CappedTracesWriter(r.snapshot, r.source.name, MAX_TAP_SPANS)
    try:
        receiver = OtlpReceiver(host, port, r.writer, logs, traces)
    except OSError as exc:
        raise SourceError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}", source=r.source.name
        ) from None
    receiver.start()
    started = time.monotonic()
    duration = r.source.duration_s
    try:
        while duration is None or time.monotonic() - started < duration:
            time.sleep(
                0.5 if duration is None else min(0.5, max(0.0, duration - (time.monotonic() - started)))
            )
            st = receiver.stats
            elapsed = time.monotonic() - started
            if r.progress:
                rate = st.spans / elapsed if elapsed else 0.0
                r.progress(
                    f"tap {receiver.address}: {rate:,.0f} spans/s, {st.points:,} points, {st.records:,} log records,"
                    f" {st.bytes / 1e6:,.1f} MB",
                    int(elapsed),
                    int(duration) if duration else 0,
                )
    except KeyboardInterrupt:
        pass  # an interrupted tap keeps what it received
    finally:
        receiver.stop()
        logs.close()
        traces.close()
    st = receiver.stats
    r.read = st.spans + st.points + st.records
    for reason, n in st.reasons.items():
        r.errors.append(InputWarning(f"{n} request(s) refused: {reason}", file=r.source.location))
    if traces.p < 1.0:
        r.errors.append(
            InputWarning(
                f"{traces.received:,} spans received, {traces.spans:,} kept (whole traces, 1 in {1 / traces.p:,.0f},"
                " re-weighted)",
                file=r.source.location,
            )
        )
    if not r.read:
        r.errors.append(InputWarning("the tap received nothing", file=r.source.location))
