"""JSON objects written for many records at once equal what ``json.dumps`` writes, record by record."""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from costscope.sources.json_objects import NotText, byte_views, float_texts, json_strings, objects
from costscope.sources.protobuf_wire import padded


def _ranges(strings: list[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The strings laid end to end in one padded buffer, with a byte between each (as on the wire)."""
    data = b"".join(b"\x0a" + s for s in strings)
    lengths = np.array([len(s) for s in strings], dtype=np.int64)
    starts = np.cumsum(lengths + 1) - lengths
    return padded(data), starts, lengths


@given(st.lists(st.text(), max_size=30))
def test_json_strings_are_what_json_dumps_writes(texts: list[str]) -> None:
    arr, starts, lengths = _ranges([t.encode() for t in texts])
    assert json_strings(arr, starts, lengths).to_list() == [json.dumps(t) for t in texts]


@given(st.lists(st.binary(max_size=40), max_size=30))
def test_byte_views_hold_the_bytes(chunks: list[bytes]) -> None:
    arr, starts, lengths = _ranges(chunks)
    assert byte_views(arr, starts, lengths).to_list() == chunks


def test_bytes_that_are_no_utf8_are_refused() -> None:
    arr, starts, lengths = _ranges([b"ok", b"\xc3\x28"])
    with pytest.raises(NotText):
        json_strings(arr, starts, lengths)


@given(st.lists(st.floats(), max_size=10))
def test_floats_are_what_json_dumps_writes(values: list[float]) -> None:
    assert float_texts(np.array(values, dtype=np.float64)) == [json.dumps(v) for v in values]


@given(st.lists(st.tuples(st.integers(0, 6), st.text(max_size=5), st.integers()), max_size=40))
def test_objects_are_each_records_pairs_in_order(pairs: list[tuple[int, str, int]]) -> None:
    import polars as pl

    n = 7
    record = np.array([p[0] for p in pairs], dtype=np.int64)
    texts = pl.Series([f"{encode_basestring_ascii(k)}: {v}" for _, k, v in pairs], dtype=pl.String)
    expected = [
        "{" + ", ".join(f"{encode_basestring_ascii(k)}: {v}" for r, k, v in pairs if r == i) + "}"
        for i in range(n)
    ]
    assert objects(record, n, texts).to_list() == expected
