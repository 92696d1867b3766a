"""OpenTelemetry consistent probability sampling: thresholds on the trace id's 56 random bits.

From the OpenTelemetry specification (trace/tracestate-probability-sampling): the randomness
``R`` of a trace is its ``rv`` tracestate value when present, else the least significant 56 bits
of the trace id. A sampler with threshold ``T`` (``0 <= T < 2^56``) keeps the trace when
``R >= T``: the probability is ``(2^56 - T) / 2^56`` and the adjusted count ``1 / p``. ``T`` is
written to ``tracestate`` as ``ot=th:<hex>`` — up to 14 hex digits with trailing zeros removed
(``th:0`` keeps everything). Samplers configured with a probability round the threshold.
"""

from __future__ import annotations

from fractions import Fraction

import polars as pl

MAX_THRESHOLD = 1 << 56
PRECISION_HEX = 14


def threshold(probability: float) -> int:
    """The rejection threshold ``T`` for a sampling probability (rounded to the nearest)."""
    if not 0.0 < probability <= 1.0:
        raise ValueError(f"sampling probability must be in (0, 1], got {probability}")
    # exact rational arithmetic on the given double: 2^56 is beyond a double's 53-bit mantissa
    return round((1 - Fraction(probability)) * MAX_THRESHOLD) % MAX_THRESHOLD


def probability(t: int) -> float:
    """The exact probability that threshold ``t`` keeps a trace."""
    return (MAX_THRESHOLD - t) / MAX_THRESHOLD


def encode_th(t: int) -> str:
    """The ``th`` tracestate value of threshold ``t``: 14 hex digits, trailing zeros removed."""
    text = f"{t:014x}".rstrip("0")
    return text or "0"


def decode_th(value: str) -> int:
    """The threshold a ``th`` tracestate value encodes (missing digits are zeros)."""
    if not value or len(value) > PRECISION_HEX or any(c not in "0123456789abcdef" for c in value):
        raise ValueError(f"invalid th value {value!r}")
    return int(value.ljust(PRECISION_HEX, "0"), 16)


def randomness(trace_id: str, rv: str | None = None) -> int:
    """The 56 random bits of a trace: its ``rv`` (14 hex digits) or the trace id's low 56 bits."""
    if rv is not None:
        return int(rv, 16)
    return int(trace_id[-PRECISION_HEX:], 16)


def randomness_expr(trace_id: pl.Expr) -> pl.Expr:
    """``randomness`` as a polars expression over hex trace ids (UInt64)."""
    return trace_id.str.slice(-PRECISION_HEX, PRECISION_HEX).str.to_integer(base=16).cast(pl.UInt64)
