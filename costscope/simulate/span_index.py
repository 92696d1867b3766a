"""Spans as integer arrays, built once per comparison: what every policy is measured on.

Comparing policies reads the same spans many times, per trace (decisions, kept volume) and per
service × operation (RED). ``index_spans`` turns the rows into numpy arrays once — each span's
trace number ``tix`` and operation number ``oix``, its error flag and duration — and the trace
table the policies decide on (row ``tix`` is trace ``tix``).

Trace ids are compared by a 64-bit hash (a collision among a snapshot's ids is not a concern),
and the spans of a trace that arrive together — the usual case: APIs and files give a trace at a
time — are collapsed into runs first, so building the index is a few passes over the spans, not a
sort of them. Traces are numbered in hash order: the numbering depends on the ids, not on the
order the store returns rows in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from costscope.simulate.consistent import randomness_expr

TRACE_KEY_SEED = 0x7472
_INT64_MAX = np.iinfo(np.int64).max


def timed_window(spans: pl.DataFrame) -> tuple[int, int] | None:
    """The first start and last end (unix ns) of the spans that have a time; None when none has.

    A start of 0 is no time at all: Zipkin lets a span omit its timestamp, and it reads as 1970.
    """
    lo, hi = (
        spans.filter(pl.col("start_unix_ns") > 0)
        .select(
            pl.col("start_unix_ns").min().alias("lo"),
            (pl.col("start_unix_ns") + pl.col("duration_ns")).max().alias("hi"),
        )
        .row(0)
    )
    return None if lo is None else (int(lo), int(hi))


@dataclass(frozen=True)
class SpanIndex:
    """Per span: ``tix``, ``oix``, ``err``, ``duration_ns``; per trace: ``traces``; per operation: ``ops``."""

    tix: np.ndarray
    oix: np.ndarray
    err: np.ndarray
    duration_ns: np.ndarray
    traces: pl.DataFrame  # tix, trace_id, start_ns, duration_ms, error, spans, bytes, root_*, r, ...
    ops: pl.DataFrame  # oix, service, operation (sorted by name)
    roots: np.ndarray  # per trace, the row of its root span
    op_bits: int  # bits an ``oix`` needs
    by_op_duration: np.ndarray | None  # per span, sorts by (oix, duration); None: too long to pack


def _pack_op_duration(oix: np.ndarray, duration_ns: np.ndarray, op_bits: int) -> np.ndarray | None:
    shift = 63 - op_bits
    if duration_ns.size and int(duration_ns.max()) >> shift:
        return None
    packed: np.ndarray = (oix << shift) | duration_ns
    return packed


def _runs(trace_id: pl.Series) -> tuple[np.ndarray, np.ndarray, pl.Series, int]:
    """Start row of each run of equal trace ids, the run's trace number and id, and the number of traces."""
    if trace_id.is_empty():
        return np.zeros(0, np.int64), np.zeros(0, np.int64), trace_id, 0
    starts = np.flatnonzero((trace_id != trace_id.shift(1)).fill_null(True).to_numpy())
    # gathered strings point all over the spans' buffer; a compact copy is ~5× faster to hash and parse
    ids = pl.Series(trace_id.gather(starts).to_arrow())
    run_tix = (ids.hash(TRACE_KEY_SEED).rank("dense") - 1).to_numpy().astype(np.int64)
    return starts, run_tix, ids, int(run_tix.max()) + 1


def _per_trace(
    ufunc: np.ufunc, values: np.ndarray, starts: np.ndarray, run_tix: np.ndarray, n: int, init: object
) -> np.ndarray:
    """``ufunc`` reduced over each trace's spans: first within runs, then across a trace's runs."""
    per_run = ufunc.reduceat(values, starts) if starts.size else values[:0]
    out = np.full(n, init, dtype=per_run.dtype)
    if starts.size == n:  # a run per trace: nothing to combine
        out[run_tix] = per_run
    else:
        ufunc.at(out, run_tix, per_run)
    return out


def _input_weights(weight: pl.Series, per_trace: Callable[..., np.ndarray], n_traces: int) -> pl.Series:
    """Each trace's weight from a sampled input (the largest of its spans'; null where none says)."""
    weight = weight.cast(pl.Float64)
    if weight.null_count() == 0 and weight.min() == weight.max():  # the usual case: every span alike
        return pl.Series([weight.first() if len(weight) else None] * n_traces, dtype=pl.Float64)
    return pl.Series(per_trace(np.fmax, weight.fill_null(np.nan).to_numpy(), np.nan)).fill_nan(None)


def _operations(spans: pl.DataFrame) -> tuple[np.ndarray, pl.DataFrame]:
    """Each span's operation number, and the operations (service, operation) in name order."""
    key = spans.select(pl.col("service").hash(1) ^ pl.col("operation").hash(2)).to_series()
    first = (
        spans.select("service", "operation").with_columns(key=key).filter(pl.col("key").is_first_distinct())
    )
    ops = first.sort("service", "operation", nulls_last=True).with_row_index("oix")
    oix = key.replace_strict(ops["key"], ops["oix"], return_dtype=pl.Int64).to_numpy()
    return oix, ops.drop("key")


def _roots(spans: pl.DataFrame, tix: np.ndarray, start: np.ndarray, n_traces: int) -> np.ndarray:
    """Row of each trace's root: its first span without a parent, else (a lost root) its earliest span."""
    n = spans.height
    parentless = np.flatnonzero(spans["parent_span_id"].is_null().to_numpy())
    root = np.full(n_traces, n, dtype=np.int64)
    np.minimum.at(root, tix[parentless], parentless)
    lost = root == n
    if lost.any():
        rows = np.flatnonzero(lost[tix])
        rows = rows[np.lexsort((rows, start[rows]))]  # earliest first, ties in row order
        traces, first = np.unique(tix[rows], return_index=True)
        root[traces] = rows[first]
    return root


def index_spans(spans: pl.DataFrame) -> SpanIndex:
    """The arrays and tables a comparison of policies needs, from span rows (``SPAN_SCHEMA``)."""
    n = spans.height
    starts, run_tix, run_ids, n_traces = _runs(spans["trace_id"])
    run_lengths = np.diff(np.append(starts, n))
    tix = np.repeat(run_tix, run_lengths)
    start = spans["start_unix_ns"].fill_null(0).to_numpy()
    duration = spans["duration_ns"].fill_null(0).to_numpy()
    err = (spans["status"] == "ERROR").fill_null(False).to_numpy()

    def per_trace(ufunc: np.ufunc, values: np.ndarray, init: object) -> np.ndarray:
        return _per_trace(ufunc, values, starts, run_tix, n_traces, init)

    first_run = np.full(n_traces, starts.size, dtype=np.int64)
    np.minimum.at(first_run, run_tix, np.arange(starts.size))
    start_ns = per_trace(np.minimum, start, _INT64_MAX)
    end_ns = per_trace(np.maximum, start + duration, -_INT64_MAX)
    oix, ops = _operations(spans)
    root = _roots(spans, tix, start, n_traces)
    traces = pl.DataFrame(
        {
            "tix": np.arange(n_traces, dtype=np.uint32),
            "trace_id": run_ids.gather(first_run),
            "start_ns": start_ns,
            "duration_ms": (end_ns - start_ns) / 1e6,
            "error": per_trace(np.logical_or, err, False),
            "spans": np.bincount(run_tix, weights=run_lengths, minlength=n_traces).astype(np.uint32),
            "bytes": per_trace(np.add, spans["approx_bytes"].fill_null(0).cast(pl.Int64).to_numpy(), 0),
            "input_weight": _input_weights(spans["sample_weight"], per_trace, n_traces),
            "root_service": ops["service"].gather(oix[root]),  # from the small table: compact strings
            "root_operation": ops["operation"].gather(oix[root]),
            "root_oix": oix[root],
            "r": run_ids.to_frame("id").select(randomness_expr(pl.col("id"))).to_series().gather(first_run),
        }
    ).with_columns(start_s=pl.col("start_ns") // 1_000_000_000)
    op_bits = max(1, (ops.height - 1).bit_length())
    duration = np.clip(duration, 0, None)
    return SpanIndex(
        tix=tix,
        oix=oix,
        err=err,
        duration_ns=duration,
        traces=traces,
        ops=ops,
        roots=root,
        op_bits=op_bits,
        by_op_duration=_pack_op_duration(oix, duration, op_bits),
    )
