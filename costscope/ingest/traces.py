"""Writing the trace tables: every span (``spans``) and rates per service × operation.

Spans are appended batch by batch as a source reads them (never a whole file in memory);
``close`` derives ``trace_operations`` in DuckDB from what was stored. Counts are weighted by
``sample_weight`` (1/rate where the input held only a sample) and cover ``period_s`` seconds
(the spans' time span, at least a minute).
"""

from __future__ import annotations

import polars as pl

from costscope.store.snapshot import SnapshotWriter

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
        self._first: int | None = None
        self._last: int | None = None

    def add(self, spans: pl.DataFrame) -> None:
        """Append a batch of spans (columns of ``sources.traces.SPAN_SCHEMA``)."""
        if spans.is_empty():
            return
        self.snapshot.append("spans", spans.with_columns(source=pl.lit(self.source)))
        self.spans += spans.height
        lo = int(spans["start_unix_ns"].min() or 0)  # type: ignore[arg-type]
        hi = int((spans["start_unix_ns"] + spans["duration_ns"]).max() or 0)  # type: ignore[arg-type]
        self._first = lo if self._first is None else min(self._first, lo)
        self._last = hi if self._last is None else max(self._last, hi)

    def close(self) -> int:
        """Write the per-operation rates; returns the spans read."""
        if not self.spans:
            return 0
        period = max(60.0, ((self._last or 0) - (self._first or 0)) / 1e9)
        self.snapshot.conn.execute(
            _OPERATIONS, {"snap": self.snapshot.id, "source": self.source, "period": period}
        )
        return self.spans
