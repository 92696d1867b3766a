"""JSON objects for many records at once, from keys and values where they lie in a buffer.

Each record's object is ``{"key": value, ...}`` exactly as ``json.dumps`` writes it (ASCII only,
", " and ": " separators). Strings are handed to polars as Arrow string views into the buffer
(nothing copied); a key or string value of plain printable ASCII is put between quotes by polars,
the rest (escapes, non-ASCII) and floats are written by the standard library one value at a time,
which is rare. Pairs are written in record order end to end, so each record's object is one range
of one buffer.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from costscope.sources.protobuf_wire import Ints, outside, slices

Bytes = npt.NDArray[np.uint8]
# bytes JSON writes as themselves between quotes: printable ASCII but '"' and '\'
PLAIN = np.zeros(256, dtype=bool)
PLAIN[0x20:0x7F] = True
PLAIN[[ord('"'), ord("\\")]] = False
_INLINE = 12  # an Arrow string view holds a string up to 12 bytes itself


class NotText(Exception):
    """A string's bytes are no valid UTF-8."""


def views(arr: Bytes, starts: Ints, lengths: Ints, kind: pa.DataType) -> pa.Array:
    """The byte ranges as an Arrow view array (``binary_view`` or ``string_view``) into ``arr``
    (which must have 12 bytes of padding after its data): nothing copied but the first 12 bytes
    of each. Nothing is validated."""
    n = len(starts)
    items = np.zeros((n, 4), dtype=np.uint32)
    items[:, 0] = lengths
    window = np.ndarray(shape=(len(arr) - _INLINE + 1, _INLINE), dtype=np.uint8, buffer=arr, strides=(1, 1))
    inline = lengths <= _INLINE
    kept = np.where(inline, lengths, 4)  # a longer string keeps its first 4 bytes as a prefix
    head = window[np.minimum(starts, len(arr) - _INLINE)]
    items.view(np.uint8).reshape(n, 16)[:, 4:] = np.where(np.arange(_INLINE) < kept[:, None], head, 0)
    long = np.flatnonzero(~inline)
    items[long, 2] = 0  # the buffer's index
    items[long, 3] = starts[long]
    return pa.Array.from_buffers(kind, n, [None, pa.py_buffer(items), pa.py_buffer(arr)])


def byte_views(arr: Bytes, starts: Ints, lengths: Ints) -> pl.Series:
    """The byte ranges as a polars Binary series of views into ``arr`` (see ``views``)."""
    return pl.Series(views(arr, starts, lengths, pa.binary_view()))


def string_views(arr: Bytes, starts: Ints, lengths: Ints) -> pl.Series:
    """``byte_views`` as a String series: the caller vouches for UTF-8 (polars does not check)."""
    return pl.Series(views(arr, starts, lengths, pa.string_view()))


def json_strings(arr: Bytes, starts: Ints, lengths: Ints) -> pl.Series:
    """The strings at the given byte ranges as ``json.dumps`` writes them (ASCII only): plain ones
    quoted by polars, the few with quotes, backslashes, control or non-ASCII characters by
    ``encode_basestring_ascii``. ``NotText`` where one is not UTF-8."""
    offsets, data = slices(arr, starts, lengths)
    other = np.flatnonzero(outside(data, offsets, PLAIN))
    plain_lengths = lengths.copy()
    plain_lengths[other] = 0  # never handed to polars as they are
    text = pl.select(
        pl.concat_str(pl.lit('"'), string_views(arr, starts, plain_lengths), pl.lit('"'))
    ).to_series()
    if not other.size:
        return text
    texts = []
    for i in other.tolist():
        try:
            texts.append(encode_basestring_ascii(data[offsets[i] : offsets[i + 1]].tobytes().decode()))
        except UnicodeDecodeError:
            raise NotText from None
    return text.scatter(other, texts)


def float_texts(values: npt.NDArray[np.float64]) -> list[str]:
    """Floats as ``json.dumps`` writes them (Python's repr; NaN, Infinity)."""
    return [json.dumps(float(x)) for x in values]


def objects(record: Ints, n: int, texts: pl.Series, which: Ints | None = None) -> pl.Series:
    """Per record (0..n-1), the JSON object of its pairs: ``record`` of each pair, and its text
    ('"key": value') — ``texts[which[i]]`` where ``which`` is given (pairs that repeat share a
    text), else ``texts[i]``. Pairs keep their order within a record; a record without pairs
    gets "{}"."""
    order = np.argsort(record, kind="stable")
    record = record[order]
    first = np.ones(len(record), dtype=bool)
    first[1:] = record[1:] != record[:-1]
    last = np.ones(len(record), dtype=bool)
    last[:-1] = record[1:] != record[:-1]
    # each text in its four places (alone, first, last, between), so a pair is one take
    table = pl.concat(
        [pl.select(pl.concat_str(pl.lit(before), pl.lit(texts), pl.lit(after))).to_series()
         for before, after in (("{", "}"), ("{", ""), (", ", "}"), (", ", ""))]
    )  # fmt: skip
    place = (~first).astype(np.int64) * 2 + (~last)
    picked = (np.arange(len(texts)) if which is None else which)[order]
    pieces = table.gather(place * len(texts) + picked).to_arrow(compat_level=pl.CompatLevel.oldest())
    if isinstance(pieces, pa.ChunkedArray):
        pieces = pieces.combine_chunks()
    _, offsets, data = pieces.buffers()
    piece_offsets = np.frombuffer(offsets, dtype=np.int64, count=len(pieces) + 1)
    counts = np.bincount(record, minlength=n)
    per_record = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=per_record[1:])
    written = pl.Series(pa.LargeStringArray.from_buffers(n, pa.py_buffer(piece_offsets[per_record]), data))
    if counts.all():
        return written
    return pl.select(pl.when(written == "").then(pl.lit("{}")).otherwise(written)).to_series()
