"""The vectorised engine against the straightforward per-trace loop the benchmark times: same numbers."""

from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from costscope.pricing import cost_model
from costscope.simulate.engine import simulate
from costscope.simulate.red import cumsum_within

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
from sampling import POLICIES, generate
from sampling_reference import reference


def _close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str | bool):
        return a == b
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return bool(a == pytest.approx(b, rel=1e-9, abs=1e-12))


@pytest.mark.parametrize(
    ("shuffle", "years"),
    [(False, False), (True, False), (False, True)],
    ids=["grouped", "interleaved", "years"],
)
def test_engine_equals_the_per_trace_loop(shuffle: bool, years: bool) -> None:
    spans = generate(40_000, seed=5)
    if shuffle:  # spans of a trace need not arrive together
        spans = spans.sample(fraction=1.0, shuffle=True, seed=1)
    if years:  # a broken clock: a span too long to pack with its operation into one sort key
        spans = spans.with_columns(
            duration_ns=pl.when(pl.int_range(pl.len()) == 7).then(2**60).otherwise("duration_ns")
        )
    model = cost_model("honeycomb")
    sim = simulate(spans, POLICIES, model, period_s=3600.0)
    summary, red = reference(spans.rows(named=True), POLICIES, model, 3600.0)
    ours = {r["policy"]: r for r in sim.summary.iter_rows(named=True)}
    for row in summary:
        for key, value in row.items():
            assert _close(ours[row["policy"]][key], value), (
                row["policy"],
                key,
                ours[row["policy"]][key],
                value,
            )
    rows = {(r["policy"], r["service"], r["operation"]): r for r in sim.red.iter_rows(named=True)}
    assert rows.keys() == red.keys()
    for key, expected in red.items():
        for column, value in expected.items():
            assert _close(rows[key][column], value), (key, column, rows[key][column], value)
        if "rate_ci_low" not in expected:
            assert rows[key]["rate_ci_low"] is None


def test_lost_roots_and_spans_from_many_batches() -> None:
    """A trace without a parentless span takes its earliest span as root; its rows may be scattered."""
    spans = generate(2_000, seed=9)
    orphaned = spans.with_columns(
        parent_span_id=pl.when(pl.col("trace_id") == spans["trace_id"][0])
        .then(pl.lit("gone"))
        .otherwise(pl.col("parent_span_id"))
    )
    batches = pl.concat([orphaned[1::2], orphaned[::2]])
    model = cost_model("honeycomb")
    sim = simulate(batches, POLICIES, model, period_s=3600.0)
    summary, _ = reference(batches.rows(named=True), POLICIES, model, 3600.0)
    for row in summary:
        ours = sim.summary.filter(pl.col("policy") == row["policy"]).row(0, named=True)
        assert all(_close(ours[k], v) for k, v in row.items()), row["policy"]


@given(st.lists(st.lists(st.floats(0.001, 1e6), min_size=1, max_size=30), max_size=40))
def test_cumsum_within_segments_adds_like_a_loop(segments: list[list[float]]) -> None:
    values = np.array([v for seg in segments for v in seg])
    counts = np.array([len(seg) for seg in segments], dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)[: len(segments)]
    expected = [acc for seg in segments for acc in itertools.accumulate(seg)]
    for limit in (0, 10**6):  # the grouped scan and the loop of numpy calls
        assert cumsum_within(values, starts, counts, loop_limit=limit).tolist() == expected
