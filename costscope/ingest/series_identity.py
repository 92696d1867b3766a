"""A series' identity: its id, and the id's parts, from its metric name and labels.

A series id is the xor of ``pair_hash`` = hash of the text ``label=value`` over its labels and
``__name__``. A label name has no ``=``, so the text is unambiguous (hashing the two separately
would let equal values cancel out under xor). The id does not depend on label order, tells
series of different metrics apart (so ``series_labels`` need not repeat the metric name on every
row, which keeps a snapshot's open transaction small), is the same for the same series in every
run (for one polars version: the hash is polars' own, seeded with ``HASH_SEED``), and lets label
economics take one label out of a series' identity with one more xor of the stored ``pair_hash``.
"""

from __future__ import annotations

import numpy as np
import polars as pl

HASH_SEED = 0x636F_7374  # "cost"


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
    if len(_descents(label_seq)) > MAX_RUNS:  # no order to speak of
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
