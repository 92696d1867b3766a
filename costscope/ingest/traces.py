"""Writing the trace tables: every span (``spans``) and rates per service × operation.

Spans are appended batch by batch as a source reads them (never a whole file in memory);
``close`` derives ``trace_operations`` in DuckDB from what was stored. Counts are weighted by
``sample_weight`` (1/rate where the input held only a sample) and cover ``period_s`` seconds:
the time the captures cover (``ingest.captures``; a trace file is one), at least a minute.
"""

from __future__ import annotations

import polars as pl

from costscope.ingest.attributes import AttributeTally
from costscope.ingest.captures import Captures
from costscope.simulate.span_index import timed_window
from costscope.store.snapshot import SnapshotWriter

APPEND_SPANS = 20_000
_OPERATIONS = """
INSERT INTO trace_operations
    (snapshot_id, source, service, operation, spans, traces, bytes, error_spans, period_s, p50_ms, p99_ms)
SELECT $snap, $source, service, operation, sum(sample_weight), count(DISTINCT trace_id),
       sum(approx_bytes * sample_weight), sum(CASE WHEN status = 'ERROR' THEN sample_weight ELSE 0 END),
       $period, quantile_cont(duration_ns, 0.5) / 1e6, quantile_cont(duration_ns, 0.99) / 1e6
FROM spans WHERE snapshot_id = $snap AND source = $source
GROUP BY service, operation
"""


class TracesWriter:
    """Appends one source's spans and, at the end, its per-operation rates."""

    def __init__(self, snapshot: SnapshotWriter, source: str) -> None:
        self.snapshot = snapshot
        self.source = source
        self.spans = 0
        self.captures = Captures()
        self.attributes = AttributeTally()
        self._pending: list[pl.DataFrame] = []
        self._pending_rows = 0

    def add(self, spans: pl.DataFrame) -> None:
        """Append a batch of spans (columns of ``sources.traces.SPAN_SCHEMA``)."""
        if spans.is_empty():
            return
        spans = self.attributes.add(spans, "sample_weight")  # OTLP: what each resource copies onto its spans
        # small batches (a tap's requests) are gathered: one DuckDB append per APPEND_SPANS spans
        self._pending.append(spans)
        self._pending_rows += spans.height
        if self._pending_rows >= APPEND_SPANS:
            self.flush()
        self.spans += spans.height
        if window := timed_window(spans):
            self.captures.see(*window)  # integer ns: sums stay exact

    def flush(self) -> None:
        """Append the spans gathered so far."""
        if self._pending:
            batch = pl.concat(self._pending, how="vertical_relaxed")
            self.snapshot.append("spans", batch.with_columns(source=pl.lit(self.source)))
            self._pending, self._pending_rows = [], 0

    def close(self) -> int:
        """Write the per-operation rates; returns the spans read."""
        self.flush()
        if not self.spans:
            return 0
        period = max(60.0, (self.captures.covered() or 0) / 1e9)
        self.snapshot.conn.execute(
            _OPERATIONS, {"snap": self.snapshot.id, "source": self.source, "period": period}
        )
        self.snapshot.append(
            "otel_attributes", self.attributes.rows("traces", period).with_columns(source=pl.lit(self.source))
        )
        return self.spans


# the 56 random bits of a W3C trace id (its last 14 hex digits), as OpenTelemetry's consistent sampling reads them
_R = "('0x' || right(trace_id, 14))::UBIGINT"
_R_MAX = float(1 << 56)


class CappedTracesWriter(TracesWriter):
    """A TracesWriter that keeps at most ``max_spans`` spans, by whole traces, under any input rate.

    Traces are kept when their random bits reach a threshold that rises (the keep probability
    halves) each time the cap is passed; stored spans of traces now below it are deleted. At close
    every kept span weighs 1/p, so counts are Horvitz–Thompson estimates of all that was received.
    """

    def __init__(self, snapshot: SnapshotWriter, source: str, max_spans: int) -> None:
        super().__init__(snapshot, source)
        self.max_spans = max_spans
        self.p = 1.0
        self.received = 0

    def add(self, spans: pl.DataFrame) -> None:
        """Keep the spans of traces above the threshold; halve the probability when over the cap."""
        self.received += spans.height
        spans = self.attributes.add(spans, "sample_weight")  # every span received, before any is dropped
        if self.p < 1.0:
            r = spans["trace_id"].str.slice(-14).str.to_integer(base=16, strict=False).cast(pl.Float64)
            spans = spans.filter(r.fill_null(0.0) >= (1.0 - self.p) * _R_MAX)
        super().add(spans)
        while self.spans > self.max_spans:
            self.flush()
            self.p /= 2
            conn = self.snapshot.conn
            conn.execute(
                f"DELETE FROM spans WHERE snapshot_id = ? AND source = ? AND {_R} < ?",
                [self.snapshot.id, self.source, (1.0 - self.p) * _R_MAX],
            )
            (kept,) = conn.execute(
                "SELECT count(*) FROM spans WHERE snapshot_id = ? AND source = ?",
                [self.snapshot.id, self.source],
            ).fetchall()[0]
            self.spans = int(kept)

    def close(self) -> int:
        """Weigh every kept span 1/p, then write the per-operation rates; returns the spans kept."""
        self.flush()
        if self.p < 1.0:
            self.snapshot.conn.execute(
                "UPDATE spans SET sample_weight = sample_weight / ? WHERE snapshot_id = ? AND source = ?",
                [self.p, self.snapshot.id, self.source],
            )
        return super().close()
