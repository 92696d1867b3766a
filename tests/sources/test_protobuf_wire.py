"""The protobuf wire read column-wise: varints, fixed values and every field of many records at once,
checked against messages protobuf itself serialised."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.proto.trace.v1 import trace_pb2

from costscope.sources.protobuf_wire import I64, LEN, VARINT, fixed, padded, slices, varints, walk
from tests.protobuf_encoding import varint


@given(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=50))
def test_varints(values: list[int]) -> None:
    encoded = [varint(v) for v in values]
    arr = padded(b"".join(encoded))
    starts = np.cumsum([0] + [len(e) for e in encoded[:-1]]).astype(np.int64)
    got, size, long = varints(arr, starts)
    assert got.tolist() == values
    assert np.broadcast_to(size, starts.shape).tolist() == [len(e) for e in encoded]
    assert long is None or not long.any()


def test_a_varint_past_ten_bytes_is_flagged() -> None:
    arr = padded(b"\xff" * 11 + b"\x01")
    _, _, long = varints(arr, np.array([0], dtype=np.int64))
    assert long is not None and long.tolist() == [True]


@given(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=20), st.integers(0, 7))
def test_fixed_reads_unaligned(values: list[int], shift: int) -> None:
    arr = padded(b"\x00" * shift + b"".join(v.to_bytes(8, "little") for v in values))
    starts = shift + 8 * np.arange(len(values), dtype=np.int64)
    assert fixed(arr, starts, 8).tolist() == values
    assert fixed(arr, starts, 4).tolist() == [v & 0xFFFFFFFF for v in values]


def test_slices_gather_ranges_end_to_end() -> None:
    arr = padded(b"abcdefghij")
    offsets, data = slices(
        arr, np.array([0, 5, 2, 9], dtype=np.int64), np.array([2, 0, 3, 1], dtype=np.int64)
    )
    assert offsets.tolist() == [0, 2, 2, 5, 6]
    assert data.tobytes() == b"abcdej"


_SPANS = st.builds(
    trace_pb2.Span,
    trace_id=st.binary(max_size=16),
    name=st.text(max_size=300),
    kind=st.integers(0, 2**31 - 1),
    start_time_unix_nano=st.integers(0, 2**64 - 1),
    dropped_attributes_count=st.integers(0, 2**32 - 1),
)


@given(st.lists(_SPANS, min_size=1, max_size=30))
def test_walk_reads_every_record_as_protobuf_wrote_it(spans: list[trace_pb2.Span]) -> None:
    encoded = [s.SerializeToString() for s in spans]
    arr = padded(b"".join(encoded))
    lengths = np.array([len(e) for e in encoded], dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    wires = {1: LEN, 5: LEN, 6: VARINT, 7: I64}
    fields = walk(arr, starts, starts + lengths, wires)
    n = len(spans)
    assert not fields.bad.any()
    names = fields.column(5, n, "start"), fields.column(5, n)
    assert [arr[s : s + int(n_)].tobytes().decode() for s, n_ in zip(*names, strict=True)] == [
        s.name for s in spans
    ]
    assert fields.column(6, n).tolist() == [s.kind for s in spans]
    assert fields.column(7, n).tolist() == [s.start_time_unix_nano for s in spans]
    assert fields.count(1, n).tolist() == [int(bool(s.trace_id)) for s in spans]


def test_walk_marks_what_it_cannot_read() -> None:
    good = trace_pb2.Span(name="ok").SerializeToString()
    records = [
        good,
        good[:-1],
        b"\x0b\x00",
        b"\x00",
        b"\x28\x01",
    ]  # truncated, a group, field 0, wrong wire type
    arr = padded(b"".join(records))
    lengths = np.array([len(r) for r in records], dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    fields = walk(arr, starts, starts + lengths, {5: LEN})
    assert fields.bad.tolist() == [False, True, True, True, True]


@given(
    st.lists(
        st.one_of(
            st.sampled_from([b"", b"a", b"ab" * 4, b"x" * 24, b"x" * 25, b"y" * 60]), st.binary(max_size=40)
        ),
        max_size=60,
    )
)
def test_first_equal_finds_each_ranges_first_twin(chunks: list[bytes]) -> None:
    from costscope.sources.protobuf_wire import first_equal

    arr = padded(b"".join(b"\x0a" + c for c in chunks))
    lengths = np.array([len(c) for c in chunks], dtype=np.int64)
    starts = np.cumsum(lengths + 1) - lengths
    seen: dict[bytes, int] = {}
    assert first_equal(arr, starts, lengths).tolist() == [seen.setdefault(c, i) for i, c in enumerate(chunks)]
