"""Writing and reading the metric tables: metric_meta, metric_series, series_labels.

Series arrive from a source one at a time and are buffered into columns; every
``batch_size`` series the buffer goes to DuckDB as Arrow, where the series id is computed as
the xor of ``hash(label || "=" || value)`` over its pairs (a label name has no "=", so the pair text is unambiguous; a two-argument hash would let equal values cancel out). That id is stable across runs (the same label
set always gets the same id), is order-independent, and lets label economics remove one label
from a series' identity with a single xor.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
import pyarrow as pa

from costscope.store.database import SnapshotWriter

DEFAULT_BATCH = 50_000

# A series repeated within one batch (the same labels twice in an exposition) is stored once.
_IDS = """
CREATE OR REPLACE TEMP TABLE _cs_ids AS
SELECT s.seq, s.metric, s.family, coalesce(h.series_id, 0::UBIGINT) AS series_id
FROM _cs_series s
LEFT JOIN (
    SELECT seq, bit_xor(hash(label || '=' || value)) AS series_id FROM _cs_labels GROUP BY seq
) h USING (seq)
"""
_INSERT_SERIES = """
INSERT INTO metric_series (snapshot_id, source, metric, family, series_id)
SELECT DISTINCT $snap, $source, metric, family, series_id FROM _cs_ids
"""
_INSERT_LABELS = """
INSERT INTO series_labels (snapshot_id, source, metric, series_id, label, value)
SELECT DISTINCT $snap, $source, i.metric, i.series_id, l.label, l.value
FROM _cs_labels l JOIN _cs_ids i USING (seq)
"""


class MetricsWriter:
    """Buffers series and metadata of one source and appends them to the snapshot."""

    def __init__(self, snapshot: SnapshotWriter, source: str, batch_size: int = DEFAULT_BATCH):
        self.snapshot = snapshot
        self.source = source
        self.batch_size = batch_size
        self.series_written = 0
        self._meta: dict[str, tuple[str | None, str | None, str | None]] = {}
        self._reset()

    def _reset(self) -> None:
        self._s_seq: list[int] = []
        self._s_metric: list[str] = []
        self._s_family: list[str] = []
        self._l_seq: list[int] = []
        self._l_label: list[str] = []
        self._l_value: list[str] = []

    def series(self, metric: str, family: str, labels: Sequence[tuple[str, str]]) -> None:
        """Buffer one series (``labels`` without ``__name__``)."""
        seq = len(self._s_seq)
        self._s_seq.append(seq)
        self._s_metric.append(metric)
        self._s_family.append(family)
        for label, value in labels:
            self._l_seq.append(seq)
            self._l_label.append(label)
            self._l_value.append(value)
        if seq + 1 >= self.batch_size:
            self.flush()

    def metadata(
        self, family: str, type_: str | None, help_: str | None = None, unit: str | None = None
    ) -> None:
        """Record what the source says about a metric family (type, help, unit)."""
        self._meta[family] = (type_, help_, unit)

    def flush(self) -> None:
        """Send the buffered series to DuckDB."""
        if not self._s_seq:
            return
        series = pa.table(
            {
                "seq": pa.array(self._s_seq, pa.int32()),
                "metric": pa.array(self._s_metric, pa.string()),
                "family": pa.array(self._s_family, pa.string()),
            }
        )
        labels = pa.table(
            {
                "seq": pa.array(self._l_seq, pa.int32()),
                "label": pa.array(self._l_label, pa.string()),
                "value": pa.array(self._l_value, pa.string()),
            }
        )
        self._insert(series, labels)
        self._reset()

    def _insert(self, series: pa.Table | pl.DataFrame, labels: pa.Table | pl.DataFrame) -> None:
        conn = self.snapshot.conn
        conn.register("_cs_series", series)
        conn.register("_cs_labels", labels)
        try:
            conn.execute(_IDS)
            params = {"snap": self.snapshot.id, "source": self.source}
            conn.execute(_INSERT_SERIES, params)
            conn.execute(_INSERT_LABELS, params)
        finally:
            conn.execute("DROP TABLE IF EXISTS _cs_ids")
            conn.unregister("_cs_series")
            conn.unregister("_cs_labels")
        self.series_written += len(series)

    def frames(self, series: pl.DataFrame, labels: pl.DataFrame) -> None:
        """Write series given as columns: ``series`` (seq, metric, family), ``labels`` (seq, label, value)."""
        self.flush()
        self._insert(series.select("seq", "metric", "family"), labels.select("seq", "label", "value"))

    def close(self) -> int:
        """Flush, write one metric_meta row per family; return the number of distinct series."""
        self.flush()
        meta = pl.DataFrame(
            {
                "family": list(self._meta),
                "type": [m[0] for m in self._meta.values()],
                "help": [m[1] for m in self._meta.values()],
                "unit": [m[2] for m in self._meta.values()],
            },
            schema={"family": pl.String, "type": pl.String, "help": pl.String, "unit": pl.String},
        )
        conn = self.snapshot.conn
        conn.register("_cs_meta", meta.to_arrow())
        try:
            conn.execute(
                """
                INSERT INTO metric_meta (snapshot_id, source, metric, type, help, unit, series)
                SELECT ?, ?, s.family, m.type, m.help, m.unit, count(DISTINCT (s.metric, s.series_id))
                FROM metric_series s LEFT JOIN _cs_meta m USING (family)
                WHERE s.snapshot_id = ? AND s.source = ?
                GROUP BY s.family, m.type, m.help, m.unit
                """,
                [self.snapshot.id, self.source, self.snapshot.id, self.source],
            )
            (row,) = conn.execute(
                "SELECT coalesce(sum(series), 0) FROM metric_meta WHERE snapshot_id = ? AND source = ?",
                [self.snapshot.id, self.source],
            ).fetchall()
        finally:
            conn.unregister("_cs_meta")
        return int(row[0])
