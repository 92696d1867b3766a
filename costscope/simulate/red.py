"""RED per service × operation: the truth from every span, and the estimate from the kept ones.

Estimates are Horvitz–Thompson: a kept trace kept with probability ``p`` stands for ``1/p``
traces. Counts come with the HT variance at the trace level (``Σ n_t² (1-p_t)/p_t²``, ``n_t``
the operation's spans in trace ``t``); error rates with the linearised variance of the ratio
(``Σ (1-p_t)/p_t² (e_t - r̂ n_t)² / n̂²``). Quantiles are the smallest duration whose cumulative
weight reaches ``q`` of the total (unweighted: the ``ceil(q·n)``-th smallest).

Everything works on a ``SpanIndex``'s arrays: one packed sort key per span orders spans by
(operation, duration), so the truth is one sort and each policy sorts only what it keeps.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from costscope.simulate.span_index import SpanIndex

Z95 = 1.959964
QUANTILES = (0.5, 0.95, 0.99)
_SLACK = 1 - 1e-12  # cumulative weights are sums of floats: reaching q·total within rounding counts


def _op_duration_order(index: SpanIndex, rows: np.ndarray) -> np.ndarray:
    """``rows`` sorted by (operation, duration)."""
    packed = index.by_op_duration
    if packed is None:  # a duration too long to pack: the exact two-key sort
        return rows[np.lexsort((index.duration_ns[rows], index.oix[rows]))]
    keys = packed[rows]
    # numpy's single-threaded sort wins on small inputs, polars' parallel one on large ones
    order = np.argsort(keys) if keys.size < 2_000_000 else pl.Series(keys).arg_sort().to_numpy()
    return rows[order]


def _sorted_durations(index: SpanIndex) -> np.ndarray:
    """Every span's duration (ns), sorted by (operation, duration)."""
    packed = index.by_op_duration
    if packed is None:
        return index.duration_ns[np.lexsort((index.duration_ns, index.oix))]
    shift = 63 - index.op_bits
    return np.sort(packed) & ((1 << shift) - 1)


def _offsets(counts: np.ndarray) -> np.ndarray:
    return np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)


def truth(index: SpanIndex, period_s: float) -> pl.DataFrame:
    """Per operation from every span: ``n``, ``e``, rate, error rate and p50/p95/p99 (ms)."""
    n_ops = index.ops.height
    n = np.bincount(index.oix, minlength=n_ops)
    e = np.bincount(index.oix[index.err], minlength=n_ops)
    durations = _sorted_durations(index)
    first = _offsets(n)
    columns: dict[str, object] = {"oix": np.arange(n_ops, dtype=np.uint32), "n": n, "e": e}
    for q in QUANTILES:
        rank = np.maximum(np.ceil(n * q).astype(np.int64), 1)
        columns[f"p{round(q * 100)}_true"] = durations[np.minimum(first + rank - 1, len(durations) - 1)] / 1e6
    return pl.DataFrame(columns).with_columns(
        rate_true=pl.col("n") / period_s, error_rate_true=pl.col("e") / pl.col("n")
    )


def _trace_op_counts(
    index: SpanIndex, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(trace, operation, spans, error spans) for every trace × operation among ``rows``."""
    bits = index.op_bits
    key = np.sort((index.tix[rows] << (bits + 1)) | (index.oix[rows] << 1) | index.err[rows])
    pair = key >> 1
    starts = (
        np.flatnonzero(np.concatenate(([True], pair[1:] != pair[:-1]))) if key.size else np.zeros(0, np.int64)
    )
    spans = np.diff(np.append(starts, key.size))
    errors = np.add.reduceat(key & 1, starts) if key.size else np.zeros(0, np.int64)
    return pair[starts] >> bits, pair[starts] & ((1 << bits) - 1), spans, errors


def _weighted_quantiles(index: SpanIndex, rows: np.ndarray, weight: np.ndarray) -> dict[str, np.ndarray]:
    """Per operation, the weighted p50/p95/p99 (ms) of the spans ``rows`` (``weight`` per trace); NaN: none kept."""
    n_ops = index.ops.height
    ordered = _op_duration_order(index, rows)
    count = np.bincount(index.oix[rows], minlength=n_ops)
    first = _offsets(count)
    last = first + count - 1
    present = count > 0
    cum_w = cumsum_within(weight[index.tix[ordered]], first[present], count[present])
    total = np.where(present, cum_w[np.clip(last, 0, None)] if cum_w.size else 0.0, 0.0)
    out = {}
    for q in QUANTILES:
        at = _first_reaching(cum_w, first, last + 1, q * total * _SLACK)
        values = np.full(n_ops, np.nan)
        values[present] = index.duration_ns[ordered[np.minimum(at, last)[present]]] / 1e6
        out[f"p{round(q * 100)}_est"] = values
    return out


def cumsum_within(
    values: np.ndarray, starts: np.ndarray, counts: np.ndarray, loop_limit: int = 20_000
) -> np.ndarray:
    """Cumulative sums restarting at each segment, added left to right as a loop would (the same rounding)."""
    if starts.size > loop_limit:  # many small segments: polars' grouped scan beats a numpy call per segment
        segment = np.repeat(np.arange(starts.size), counts)
        frame = pl.DataFrame({"s": segment, "v": values})
        out: np.ndarray = frame.select(pl.col("v").cum_sum().over("s")).to_series().to_numpy()
        return out
    out = np.empty_like(values)
    for a, n in zip(starts.tolist(), counts.tolist(), strict=True):
        np.cumsum(values[a : a + n], out=out[a : a + n])
    return out


def _first_reaching(cum: np.ndarray, lo: np.ndarray, hi: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per slice ``cum[lo:hi]`` (non-decreasing), the first index where it reaches ``target``: all slices at once."""
    lo, hi = lo.copy(), hi.copy()
    while (active := lo < hi).any():
        mid = (lo + hi) // 2
        reached = np.zeros_like(active)
        reached[active] = cum[mid[active]] >= target[active]
        hi = np.where(active & reached, mid, hi)
        lo = np.where(active & ~reached, mid + 1, lo)
    return lo


def estimates(index: SpanIndex, p_kept: np.ndarray, period_s: float, estimable: bool) -> pl.DataFrame:
    """Per operation, RED from the kept traces; ``p_kept[tix]`` is a kept trace's probability (NaN: dropped)."""
    n_ops = index.ops.height
    rows = np.flatnonzero(~np.isnan(p_kept)[index.tix])
    trace, op, spans, errors = _trace_op_counts(index, rows)
    p = p_kept[trace]
    var_w = (1 - p) / p**2
    n_hat = np.bincount(op, weights=spans / p, minlength=n_ops)
    e_hat = np.bincount(op, weights=errors / p, minlength=n_ops)
    var_n = np.bincount(op, weights=spans**2 * var_w, minlength=n_ops)
    with np.errstate(divide="ignore", invalid="ignore"):
        r_hat = e_hat / n_hat
        var_r = np.bincount(op, weights=var_w * (errors - r_hat[op] * spans) ** 2, minlength=n_ops) / n_hat**2
    kept = n_hat > 0
    out = (
        pl.DataFrame(
            {
                "oix": np.arange(n_ops, dtype=np.uint32),
                "rate_est": n_hat / period_s,
                "error_rate_est": r_hat,
                "var_n": var_n,
                "var_r": var_r,
            }
            | _weighted_quantiles(index, rows, 1.0 / np.nan_to_num(p_kept, nan=1.0))
        )
        .filter(pl.Series(kept))
        .fill_nan(None)
    )
    half_n = Z95 * pl.col("var_n").sqrt() / period_s
    half_r = Z95 * pl.col("var_r").sqrt()
    if estimable:
        out = out.with_columns(
            rate_ci_low=pl.col("rate_est") - half_n, rate_ci_high=pl.col("rate_est") + half_n,
            error_rate_ci_low=(pl.col("error_rate_est") - half_r).clip(lower_bound=0),
            error_rate_ci_high=(pl.col("error_rate_est") + half_r).clip(upper_bound=1),
        )  # fmt: skip
    else:
        out = out.with_columns(
            [pl.lit(None, pl.Float64).alias(c) for c in ("rate_ci_low", "rate_ci_high", "error_rate_ci_low", "error_rate_ci_high")]
        )  # fmt: skip
    return out.drop("var_n", "var_r")
