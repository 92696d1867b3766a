"""Protobuf wire format read column-wise with numpy: the fields of many records at once.

A plain loop over decoded messages pays Python for every field of every record; here each round
reads one field of *every* record still open, so the Python cost is per round (the most fields
one record has), not per record. Only what the wire says is read: tags, varints, fixed64 values
and the position and length of length-delimited fields; what they mean is the caller's.

Anything the walk cannot read plainly (a truncated varint, a length past its record, a group, a
deprecated wire type) marks its record ``bad``; callers decode those records with the real
``protobuf`` classes, which raise or read them as protobuf does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]
Words = npt.NDArray[np.uint64]

_PAD = 32  # zero bytes after the data: a tag and a value read past its end stay in bounds
VARINT, I64, LEN, I32 = 0, 1, 2, 5


@dataclass(frozen=True)
class Fields:
    """The fields a walk kept, by field number: per round that met the field, the records it was
    met in, where its value starts, and its value (varint, fixed64, fixed32) or length
    (length-delimited); and per record whether the walk could not read it plainly."""

    parts: dict[int, list[tuple[Ints, Ints, Words]]]
    bad: npt.NDArray[np.bool_]

    def rows(self, number: int) -> tuple[Ints, Ints, Words]:
        """Field ``number``'s records, starts and values, in round order: a later occurrence of the
        field in one record is a later row."""
        parts = self.parts.get(number, [])
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
        return (
            np.concatenate([part[0] for part in parts]),
            np.concatenate([part[1] for part in parts]),
            np.concatenate([part[2] for part in parts]),
        )

    def last(self, number: int) -> tuple[Ints, Ints, Words]:
        """``rows`` of a singular field: its last occurrence in each record only (protobuf's rule)."""
        records, starts, values = self.rows(number)
        if len(self.parts.get(number, [])) > 1 and np.bincount(records).max() > 1:
            at = np.arange(len(records))[::-1]
            records, first = np.unique(records[::-1], return_index=True)
            at = at[first]
            starts, values = starts[at], values[at]
        return records, starts, values

    def column(self, number: int, n: int, which: str = "value") -> npt.NDArray[Any]:
        """A singular field's value (``which="value"``) or start per record, 0 where it is absent."""
        records, starts, values = self.last(number)
        source = values if which == "value" else starts
        out = np.zeros(n, dtype=source.dtype)
        out[records] = source
        return out

    def count(self, number: int, n: int) -> Ints:
        """How many times each record holds field ``number``."""
        return np.bincount(self.rows(number)[0], minlength=n)


def padded(data: bytes) -> npt.NDArray[np.uint8]:
    """The bytes as a numpy array with zero padding after them (see ``_PAD``)."""
    arr = np.zeros(len(data) + _PAD, dtype=np.uint8)
    arr[: len(data)] = np.frombuffer(data, dtype=np.uint8)
    return arr


def varints(arr: npt.NDArray[np.uint8], pos: Ints) -> tuple[Words, Ints | int, npt.NDArray[np.bool_] | None]:
    """The varints starting at ``pos``: values, lengths in bytes, and which ran past ten bytes
    (``1`` and ``None`` when every value is under 128, one byte each, as most lengths are)."""
    b = arr[pos]
    if b.max(initial=0) < 0x80:
        return b.astype(np.uint64), 1, None
    value = (b & 0x7F).astype(np.uint64)
    size = np.ones(pos.shape, dtype=np.int64)
    more = b >= 0x80
    for k in range(1, 10):
        at = np.flatnonzero(more)
        if not at.size:
            break
        b = arr[pos[at] + k]
        value[at] |= (b & 0x7F).astype(np.uint64) << np.uint64(7 * k)
        size[at] += 1
        more[at] = b >= 0x80
    return value, size, more


def fixed(arr: npt.NDArray[np.uint8], pos: Ints, width: int) -> Words:
    """Little-endian fixed-width (4 or 8 byte) unsigned values at ``pos`` (unaligned reads through a
    view whose items overlap: one gather, no index per byte)."""
    overlapping = np.ndarray(shape=(len(arr) - width + 1,), dtype=f"<u{width}", buffer=arr, strides=(1,))
    return overlapping[pos].astype(np.uint64)


def walk(arr: npt.NDArray[np.uint8], starts: Ints, ends: Ints, wires: Mapping[int, int]) -> Fields:
    """The fields ``wires`` names (number -> wire type) of the records ``arr[starts[i]:ends[i]]``, one
    field of every open record a round, the records of one round taken by their tag (most rounds
    have one or two); other fields are skipped, and a named field of another wire type marks its
    record bad (protobuf would read it as unknown)."""
    bad = np.zeros(len(starts), dtype=bool)
    live = np.flatnonzero(starts < ends)
    p, e = starts[live], ends[live]
    parts: dict[int, list[tuple[Ints, Ints, Words]]] = {}
    while live.size:
        # a tag and a value are read at most 20 bytes past the data: within the padding
        tags, size, long = varints(arr, p)  # one byte for fields 1 to 15, as nearly every message has
        p = p + size
        wrong: list[npt.NDArray[Any]] = [] if long is None else [np.flatnonzero(long)]
        lo, hi = int(tags.min()), int(tags.max())
        distinct = [lo] if lo == hi else np.unique(tags).tolist()
        nxt = p if len(distinct) == 1 else np.empty_like(p)
        for tag in distinct:
            at: slice | Ints = slice(None) if len(distinct) == 1 else np.flatnonzero(tags == tag)
            number, kind = tag >> 3, tag & 7
            if number == 0 or wires.get(number, kind) != kind or kind not in (VARINT, I64, LEN, I32):
                # a group, a field number 0, or a named field of another wire type
                wrong.append(np.arange(live.size)[at])
                continue
            q = p[at]
            if kind in (I64, I32):
                value = fixed(arr, q, 8 if kind == I64 else 4)
                start, after = q, q + (8 if kind == I64 else 4)
            else:
                value, vsize, vlong = varints(arr, q)
                if vlong is not None:
                    wrong.append(np.arange(live.size)[at][vlong])
                start = q + vsize
                after = (
                    start + np.minimum(value, np.uint64(len(arr))).astype(np.int64) if kind == LEN else start
                )
                if kind == VARINT:
                    start = q
            if number in wires:
                parts.setdefault(number, []).append((live[at], start, value))
            if len(distinct) == 1:
                nxt = after
            else:
                nxt[at] = after
        ok = nxt <= e
        if wrong:
            ok[np.concatenate(wrong)] = False
        more = ok & (nxt < e)
        if not ok.all():
            bad[live[~ok]] = True
        if not more.all():
            live, nxt, e = live[more], nxt[more], e[more]
        p = nxt
    return Fields(parts, bad)


def slices(
    arr: npt.NDArray[np.uint8], starts: Ints, lengths: Ints
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
    """The byte ranges gathered end to end: Arrow-style (64-bit) offsets and data."""
    offsets = np.zeros(len(starts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    idx = np.arange(int(offsets[-1]), dtype=np.int64) + np.repeat(starts - offsets[:-1], lengths)
    return offsets, arr[idx]


def outside(
    data: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64], allowed: npt.NDArray[np.bool_]
) -> npt.NDArray[np.bool_]:
    """Which of the ranges ``data[offsets[i]:offsets[i + 1]]`` hold a byte ``allowed`` (a 256-entry
    table) does not allow: one running count over the data, then O(1) a range."""
    count = np.zeros(len(data) + 1, dtype=np.int64)
    np.cumsum(~allowed.take(data), out=count[1:])
    return count[offsets[1:]] > count[offsets[:-1]]


_SHORT = 24  # ranges this long or shorter are compared as three 8-byte words
# the low v bytes of a word, v = 0..8
_MASKS = np.array([(1 << (8 * v)) - 1 for v in range(9)], dtype=np.uint64)


def first_equal(arr: npt.NDArray[np.uint8], starts: Ints, lengths: Ints) -> Ints:
    """For each byte range, the index of the first range with the same bytes (exact). Short ranges
    are grouped by a hash of their length and words and each checked against its group's first;
    a hash collision only leaves a range its own first. Longer ranges are grouped by polars on
    views of their bytes."""
    import polars as pl

    from costscope.sources.json_objects import byte_views

    n = len(starts)
    long = np.flatnonzero(lengths > _SHORT)
    short: slice | Ints = slice(None) if not long.size else np.flatnonzero(lengths <= _SHORT)
    at, size = starts[short], lengths[short]
    mix = np.uint64(0x9E3779B97F4A7C15)
    hashed = size.astype(np.uint64) * mix
    words = []
    for k in range(_SHORT // 8):
        # a word past the range is masked whole: where it is read from does not matter
        word = fixed(arr, np.minimum(at + 8 * k, len(arr) - 8), 8) & _MASKS.take(np.clip(size - 8 * k, 0, 8))
        words.append(word)
        hashed = (hashed ^ word) * mix
    hashed ^= hashed >> np.uint64(31)
    leader = (
        pl.DataFrame({"h": hashed})
        .with_row_index("i")
        .select(pl.col("i").first().over("h"))
        .to_series()
        .to_numpy()
    )
    same = size == size[leader]
    for word in words:
        same &= word == word[leader]
    index = np.arange(len(size), dtype=np.int64)
    first = np.where(same, leader, index).astype(np.int64)
    if not long.size:
        return first
    out = np.arange(n, dtype=np.int64)
    out[short] = np.asarray(short)[first]
    views = pl.DataFrame({"b": byte_views(arr, starts[long], lengths[long])}).with_row_index("i")
    out[long] = long[views.select(pl.col("i").first().over("b")).to_series().to_numpy()]
    return out
