"""Writing the metric tables: metric_meta, metric_series, series_labels.

Series arrive from a source as frames (or one at a time, buffered into frames). ``identify``
gives each series its id in polars — in the source's worker threads where there are some, off
the writing thread — and the writer appends the rows to DuckDB as Arrow in large batches, which
DuckDB takes much faster than many small ones.

A series id is the xor of ``pair_hash`` = hash of the text ``label=value`` over its labels and
``__name__``. A label name has no ``=``, so the text is unambiguous (hashing the two separately
would let equal values cancel out under xor). The id does not depend on label order, tells
series of different metrics apart (so ``series_labels`` need not repeat the metric name on every
row, which keeps a snapshot's open transaction small), is the same for the same series in every
run (for one polars version: the hash is polars' own, seeded with ``HASH_SEED``), and lets label
economics take one label out of a series' identity with one more xor of the stored ``pair_hash``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from costscope.store.snapshot import SnapshotWriter

DEFAULT_BATCH = 50_000
APPEND_ROWS = 500_000  # rows gathered before one append: DuckDB appends fewer, larger batches faster
HASH_SEED = 0x636F_7374  # "cost"
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


def identify(
    series: pl.DataFrame, labels: pl.DataFrame, unique: bool = False
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Give series their ids: (seq, metric, family) + (seq, label, value) → the tables' rows.

    ``unique`` promises that no label set repeats in the input (an API's answer); otherwise
    repeats (an exposition listing a series twice) are dropped here.
    """
    # Column operations and numpy, not frame queries: a query costs a fixed fraction of a
    # millisecond, which a folder of small files would pay a dozen times a file. Each run of
    # labels in seq order is xor-reduced per series in one numpy pass; a parser's labels are
    # one run, or two where a file's job and instance were appended after them.
    labels = labels if series.height else labels.clear()
    series = _by_seq(series)
    label_seq, series_seq = labels["seq"].to_numpy(), series["seq"].to_numpy()
    if len(breaks := _descents(label_seq)) > MAX_RUNS:  # no order to speak of
        labels = labels.sort("seq")
        label_seq = labels["seq"].to_numpy()
    at = _series_at(series_seq, label_seq)
    if not (owned := at >= 0).all():  # labels of no series go
        labels, label_seq, at = labels.filter(pl.Series(owned)), label_seq[owned], at[owned]
    breaks = _descents(label_seq)
    pair_hash = _pair_text(labels["label"], labels["value"]).hash(seed=HASH_SEED).alias("pair_hash")
    hashes = pair_hash.to_numpy()
    labels_xor = np.zeros(len(series_seq), dtype=np.uint64)
    for a, b in zip(np.r_[0, breaks], np.r_[breaks, len(label_seq)], strict=True):
        if a == b:
            continue
        run = label_seq[a:b]
        starts = np.flatnonzero(np.r_[True, run[1:] != run[:-1]])
        labels_xor[at[a + starts]] ^= np.bitwise_xor.reduceat(hashes[a:b], starts)  # a series once a run
    series_id = ("__name__=" + series["metric"]).hash(seed=HASH_SEED).to_numpy() ^ labels_xor
    series = pl.DataFrame(
        [series["metric"], series["family"], pl.Series("series_id", series_id, dtype=pl.UInt64)]
    )
    labels = pl.DataFrame(
        [
            pl.Series("series_id", series_id[at], dtype=pl.UInt64),
            labels["label"],
            labels["value"],
            pair_hash,
            series["family"].gather(at),  # the store keys label rows by their family (family_id)
        ]
    )
    # a repeat is rare and costly to look for row by row: one pass over the ids says if there is any
    if not unique and series.height and not series["series_id"].is_unique().all():
        series = series.unique(["series_id"], keep="first", maintain_order=True)
        labels = labels.unique(["series_id", "label"], keep="first", maintain_order=True)
    return series, labels


def _by_seq(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` in ``seq`` order (most often it is already: a parser's lines come in order)."""
    return frame if frame["seq"].is_sorted() else frame.sort("seq")


def _pair_text(label: pl.Series, value: pl.Series) -> pl.Series:
    """``label=value``: one concatenation where that pays for its query's fixed cost."""
    if len(label) < 50_000:
        return label + "=" + value
    return pl.select(pl.concat_str(label, pl.lit("="), value)).to_series()


MAX_RUNS = 8  # sorted runs of labels reduced one by one; more, and they are sorted first


def _descents(seq: np.ndarray) -> np.ndarray:
    """Where ``seq`` steps down: the starts of its sorted runs after the first."""
    return np.flatnonzero(seq[1:] < seq[:-1]) + 1


def _series_at(series_seq: np.ndarray, label_seq: np.ndarray) -> np.ndarray:
    """Each label's row in ``series_seq`` (sorted, distinct), or -1 where no series has its seq."""
    n = len(series_seq)
    if not n or not len(label_seq):
        return np.full(len(label_seq), -1, dtype=np.int64)
    lo, span = int(series_seq[0]), int(series_seq[-1]) - int(series_seq[0]) + 1
    if span <= 4 * n:  # seqs are line numbers, nearly dense: a lookup table beats a binary search
        table = np.full(span + 1, -1, dtype=np.int64)  # the last slot answers every seq outside
        table[series_seq - lo] = np.arange(n)
        offset = label_seq - lo
        return table[np.where((offset >= 0) & (offset < span), offset, span)]
    at = np.minimum(np.searchsorted(series_seq, label_seq), n - 1)
    return np.where(series_seq[at] == label_seq, at, -1)


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
        """Write series given as columns: ``series`` (seq, metric, family), ``labels`` (seq, label, value)."""
        self._may_repeat |= not unique
        self.rows(*identify(series, labels, unique))

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
