"""Writing the metric tables: metric_meta, metric_series, series_labels.

Series arrive from a source as frames (or one at a time, buffered into frames). ``identify``
(ingest.series_identity) gives each series its id in polars — in the source's worker threads
where there are some, off the writing thread — and the writer appends the rows to DuckDB as
Arrow in large batches, which DuckDB takes much faster than many small ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from costscope.ingest.series_identity import identify
from costscope.store.snapshot import SnapshotWriter

DEFAULT_BATCH = 50_000
APPEND_ROWS = 500_000  # rows gathered before one append: DuckDB appends fewer, larger batches faster
# rows appended before they are committed (still under the running snapshot): an open
# transaction's appends stay in memory, about 50 MiB per million rows (store.snapshot)
COMMIT_ROWS = 4_000_000

# series pulled one by one, or counted by the backend (collect: counts): one source has either
_META = """
INSERT INTO metric_meta (snapshot_id, source, metric, type, help, unit, temporality, series)
WITH s AS (
    SELECT family, count(*) AS series FROM metric_series  -- one row a series, once deduplicated
    WHERE snapshot_id = $snap AND source = $source GROUP BY family
    UNION ALL
    SELECT family, sum(series) AS series FROM counted_series
    WHERE snapshot_id = $snap AND source = $source GROUP BY family
)
SELECT $snap, $source, s.family, m.type, m.help, m.unit, m.temporality, sum(s.series)
FROM s LEFT JOIN _cs_meta m USING (family)
GROUP BY s.family, m.type, m.help, m.unit, m.temporality
"""
# (column, what fills it): a family's key is DuckDB's hash of its name (store.schema.FAMILY_IDS)
_SERIES_COLUMNS = (
    ("metric", "metric"),
    ("family", "family"),
    ("series_id", "series_id"),
    ("family_id", "hash(family)"),
)
_LABEL_COLUMNS = (
    ("series_id", "series_id"), ("label", "label"), ("value", "value"), ("pair_hash", "pair_hash"),
    ("family_id", "hash(family)"),
)  # fmt: skip


class MetricsWriter:
    """Collects the series and metadata of one source and writes them into the snapshot."""

    def __init__(self, snapshot: SnapshotWriter, source: str, batch_size: int = DEFAULT_BATCH):
        self.snapshot = snapshot
        self.source = source
        self.batch_size = batch_size
        self._meta: dict[str, tuple[str | None, str | None, str | None, str | None]] = {}
        self._pending: list[tuple[pl.DataFrame, pl.DataFrame]] = []
        self._pending_rows = 0
        self._uncommitted = 0
        self._may_repeat = False  # whether a series may have come in two batches
        self._small: list[tuple[pl.DataFrame, pl.DataFrame]] = []  # frames(): small ones, gathered
        self._small_rows = 0
        self._reset()

    def _reset(self) -> None:
        self._s_metric: list[str] = []
        self._s_family: list[str] = []
        self._l_seq: list[int] = []
        self._l_label: list[str] = []
        self._l_value: list[str] = []

    def series(self, metric: str, family: str, labels: Sequence[tuple[str, str]]) -> None:
        """Buffer one series (``labels`` without ``__name__``)."""
        seq = len(self._s_metric)
        self._s_metric.append(metric)
        self._s_family.append(family)
        for label, value in labels:
            self._l_seq.append(seq)
            self._l_label.append(label)
            self._l_value.append(value)
        if seq + 1 >= self.batch_size:
            self.flush()

    def metadata(
        self,
        family: str,
        type_: str | None,
        help_: str | None = None,
        unit: str | None = None,
        *,
        temporality: str | None = None,
    ) -> None:
        """Record what the source says about a metric family (type, help, unit; OTLP's temporality)."""
        self._meta[family] = (type_, help_, unit, temporality)

    def flush(self) -> None:
        """Pass the series buffered by ``series()`` on."""
        if not self._s_metric:
            return
        series = pl.DataFrame(
            {"seq": range(len(self._s_metric)), "metric": self._s_metric, "family": self._s_family},
            schema={"seq": pl.Int64, "metric": pl.String, "family": pl.String},
        )
        labels = pl.DataFrame(
            {"seq": self._l_seq, "label": self._l_label, "value": self._l_value},
            schema={"seq": pl.Int64, "label": pl.String, "value": pl.String},
        )
        self._reset()
        self._may_repeat = True
        self.rows(*identify(series, labels))

    def frames(self, series: pl.DataFrame, labels: pl.DataFrame, unique: bool = False) -> None:
        """Write series given as columns: ``series`` (seq, metric, family), ``labels`` (seq, label, value).

        Small frames (a small file's) wait for others and are given their ids together: that
        frame work costs about a millisecond whatever the size, which a folder of files would
        pay once a file.
        """
        self._may_repeat |= not unique
        if series.height >= self.batch_size:
            self.rows(*identify(series, labels, unique))
            return
        self._small.append((series, labels))
        self._small_rows += series.height
        if self._small_rows >= self.batch_size:
            self._identify_small()

    def _identify_small(self) -> None:
        """Give the gathered small frames their ids in one pass (a seq names a series within
        its own frame only: each frame's are moved past the frames' before it)."""
        if not self._small:
            return
        gathered, self._small, self._small_rows = self._small, [], 0
        shifted: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])
        top = 0
        for frames in gathered:
            own = [frame["seq"].to_numpy() for frame in frames]
            for kept, seq in zip(shifted, own, strict=True):
                kept.append(seq + top)
            top += max(int(seq.max(initial=0)) for seq in own) + 1
        series, labels = (
            pl.concat([f[i] for f in gathered], how="vertical_relaxed").with_columns(
                pl.Series("seq", np.concatenate(shifted[i]), dtype=pl.Int64)
            )
            for i in (0, 1)
        )
        self.rows(*identify(series, labels), unique=False)

    def prepare(
        self, series: pl.DataFrame, labels: pl.DataFrame, unique: bool = False
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The rows ``frames`` would write, with their ids; touches no state (worker threads call it)."""
        return identify(series, labels, unique)

    def rows(self, series: pl.DataFrame, labels: pl.DataFrame, unique: bool = True) -> None:
        """Write rows already made by ``prepare`` (e.g. in a worker thread); ``unique=False``: a
        series may come again in another batch."""
        self._may_repeat |= not unique
        self._pending.append((series, labels))
        self._pending_rows += series.height + labels.height
        if self._pending_rows >= APPEND_ROWS:
            self._append()

    def _append(self) -> None:
        if not self._pending:
            return
        conn = self.snapshot.conn
        for i, (table, columns) in enumerate(
            (("metric_series", _SERIES_COLUMNS), ("series_labels", _LABEL_COLUMNS))
        ):
            frame = pl.concat([p[i] for p in self._pending], rechunk=False)
            # string views as polars holds them: no copy into Arrow's offset strings (DuckDB reads both)
            conn.register("_cs_batch", frame.to_arrow(compat_level=pl.CompatLevel.newest()))
            try:
                names, values = ", ".join(c for c, _ in columns), ", ".join(v for _, v in columns)
                conn.execute(
                    f"INSERT INTO {table} (snapshot_id, source, {names}) SELECT $snap, $source, {values} FROM _cs_batch",
                    {"snap": self.snapshot.id, "source": self.source},
                )
            finally:
                conn.unregister("_cs_batch")
        self._uncommitted += self._pending_rows
        self._pending, self._pending_rows = [], 0
        if self._uncommitted >= COMMIT_ROWS:
            self.snapshot.commit_rows()
            self._uncommitted = 0

    def _dedupe(self) -> None:
        """Keep one row per series (and label) where an input listed a series in two batches.

        Every analysis counts on it: a repeated label row would cancel itself out under xor.
        """
        conn = self.snapshot.conn
        key = [self.snapshot.id, self.source]
        ((dups,),) = conn.execute(
            "SELECT count(*) - count(DISTINCT series_id) FROM metric_series WHERE snapshot_id = ? AND source = ?",
            key,
        ).fetchall()
        if not dups:
            return
        for table in ("metric_series", "series_labels"):
            conn.execute(
                f"CREATE TEMP TABLE _cs_dedupe AS SELECT DISTINCT * FROM {table} WHERE snapshot_id = ? AND source = ?",
                key,
            )
            conn.execute(f"DELETE FROM {table} WHERE snapshot_id = ? AND source = ?", key)
            conn.execute(f"INSERT INTO {table} SELECT * FROM _cs_dedupe")
            conn.execute("DROP TABLE _cs_dedupe")

    def close(self) -> int:
        """Write what is pending and one metric_meta row per family; return the distinct series."""
        self.flush()
        self._identify_small()
        self._append()
        if self._may_repeat:
            self._dedupe()
        meta = pl.DataFrame(
            {
                "family": list(self._meta),
                "type": [m[0] for m in self._meta.values()],
                "help": [m[1] for m in self._meta.values()],
                "unit": [m[2] for m in self._meta.values()],
                "temporality": [m[3] for m in self._meta.values()],
            },
            schema={
                "family": pl.String,
                "type": pl.String,
                "help": pl.String,
                "unit": pl.String,
                "temporality": pl.String,
            },
        )
        conn = self.snapshot.conn
        conn.register("_cs_meta", meta.to_arrow())
        try:
            conn.execute(_META, {"snap": self.snapshot.id, "source": self.source})
            (row,) = conn.execute(
                "SELECT coalesce(sum(series), 0) FROM metric_meta WHERE snapshot_id = ? AND source = ?",
                [self.snapshot.id, self.source],
            ).fetchall()
        finally:
            conn.unregister("_cs_meta")
        return int(row[0])
