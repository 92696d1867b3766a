"""OTLP protobuf spans read off the wire column-wise, without a Python step per span.

``protobuf`` parses a traces message only down to each span's bytes (a reduced schema whose
``spans`` are ``repeated bytes``: upb walks the outer messages in C); ``protobuf_wire`` then reads
the fields of all spans, their attributes and their values a round at a time. What a span holds
that this reading does not take plainly — an array, key-value list or bytes attribute value, a key
twice in one span, a field sent twice where protobuf would merge, anything malformed — sends that
span (or, for bytes that are no valid UTF-8, the batch) back to the real ``opentelemetry-proto``
classes, so the result is what decoding the messages gives. One difference is left: strings this
reading does not use (the scope's name, a status message, event names) are not checked for UTF-8.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from costscope.sources import protobuf_wire as wire
from costscope.sources.json_objects import NotText, float_texts, json_strings, objects
from costscope.sources.protobuf_wire import I64, LEN, VARINT, Fields, Ints

Flags = npt.NDArray[np.bool_]

# a span's fields (opentelemetry/proto/trace/v1/trace.proto) and the wire type each must have
_TRACE_ID, _SPAN_ID, _PARENT, _NAME, _KIND, _START, _END, _ATTRIBUTES, _STATUS = 1, 2, 4, 5, 6, 7, 8, 9, 15
_SPAN_WIRES = {1: LEN, 2: LEN, 3: LEN, 4: LEN, 5: LEN, 6: VARINT, 7: I64, 8: I64, 9: LEN, 10: VARINT,
               11: LEN, 12: VARINT, 13: LEN, 14: VARINT, 15: LEN, 16: wire.I32}  # fmt: skip
# AnyValue's oneof: the kinds read here (string, bool, int, double); array, kvlist and bytes are not
_STRING, _BOOL, _INT, _DOUBLE = 1, 2, 3, 4
_ANY_WIRES = {_STRING: LEN, _BOOL: VARINT, _INT: VARINT, _DOUBLE: I64}
_ANY_WIRES_ALL = {**_ANY_WIRES, 5: LEN, 6: LEN, 7: LEN}


@cache
def _reduced_traces() -> Any:
    """``TracesData`` reduced to what locates the spans: resources as bytes, spans as bytes."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    field = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(
        name="costscope/otlp_traces_reduced.proto", package="costscope_reduced", syntax="proto3"
    )
    scope = proto.message_type.add(name="ScopeSpans")
    scope.field.add(name="spans", number=2, type=field.TYPE_BYTES, label=field.LABEL_REPEATED)
    resource = proto.message_type.add(name="ResourceSpans")
    resource.field.add(name="resource", number=1, type=field.TYPE_BYTES, label=field.LABEL_REPEATED)
    resource.field.add(name="scope_spans", number=2, type=field.TYPE_MESSAGE, label=field.LABEL_REPEATED,
                       type_name=".costscope_reduced.ScopeSpans")  # fmt: skip
    top = proto.message_type.add(name="TracesData")
    top.field.add(name="resource_spans", number=1, type=field.TYPE_MESSAGE, label=field.LABEL_REPEATED,
                  type_name=".costscope_reduced.ResourceSpans")  # fmt: skip
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("costscope_reduced.TracesData"))


class WireRefused(Exception):
    """The batch is for the real classes to decode (they raise the right error, or read it right)."""


def _arrow(kind: pa.DataType, offsets: npt.NDArray[np.int64], data: npt.NDArray[np.uint8]) -> pa.Array:
    return pa.Array.from_buffers(kind, len(offsets) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _strings(arr: npt.NDArray[np.uint8], starts: Ints, lengths: Ints) -> pl.Series:
    """UTF-8 strings at the given byte ranges; ``WireRefused`` where one is not valid UTF-8
    (protobuf refuses such a string field)."""
    array = _arrow(pa.large_string(), *wire.slices(arr, starts, lengths))
    try:
        array.validate(full=True)
    except pa.ArrowInvalid:
        raise WireRefused from None
    return pl.Series(array)


def _binary(arr: npt.NDArray[np.uint8], starts: Ints, lengths: Ints) -> pl.Series:
    return pl.Series(_arrow(pa.large_binary(), *wire.slices(arr, starts, lengths)))


def _hex_ids(arr: npt.NDArray[np.uint8], starts: Ints, lengths: Ints) -> pl.Series:
    """Ids at the given byte ranges as lowercase hex, null where absent (empty); ids of one width
    (as every trace's and every span's are) are read as rows of a window, others byte by byte."""
    n = len(starts)
    width = int(lengths.max(initial=0))
    if width == 0:  # none has one (a parent id, on root spans)
        return (
            pl.Series([None], dtype=pl.String).extend_constant(None, n - 1)
            if n
            else pl.Series([], dtype=pl.String)
        )
    if width > 64 or not ((lengths == 0) | (lengths == width)).all():
        return _binary(arr, starts, lengths).bin.encode("hex").replace("", None)
    present = lengths == width
    every = bool(present.all())
    window = np.ndarray(shape=(len(arr) - width + 1, width), dtype=np.uint8, buffer=arr, strides=(1, 1))
    rows = window[starts if every else starts[present]]
    if every:
        offsets = np.arange(0, 2 * width * (n + 1), 2 * width, dtype=np.int64)
    else:
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lengths * 2, out=offsets[1:])
    if width % 2 == 0:  # two bytes' four digits a take
        digits = _hex_pairs().take(rows.view(np.uint16)).view(np.uint8)
    else:
        digits = (
            _hex_pairs().take(rows.astype(np.uint16)).view(np.uint8).reshape(len(rows), width, 4)[:, :, :2]
        )
    valid = None if every else pa.py_buffer(np.packbits(present, bitorder="little"))
    text = pa.Array.from_buffers(
        pa.large_string(),
        n,
        [valid, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(digits).ravel())],
    )
    return pl.Series(text)


@cache
def _hex_pairs() -> npt.NDArray[np.uint32]:
    """Each little-endian 16-bit value's two bytes as four lowercase hex digits (one 32-bit item)."""
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    value = np.arange(1 << 16)
    out = np.empty((1 << 16, 4), dtype=np.uint8)
    for i, byte in enumerate((value & 0xFF, value >> 8)):
        out[:, 2 * i] = digits[byte >> 4]
        out[:, 2 * i + 1] = digits[byte & 0xF]
    return out.view("<u4").ravel()


def _nested(
    arr: npt.NDArray[np.uint8], fields: Fields, number: int, wires: dict[int, int]
) -> tuple[Ints, Fields]:
    """The messages a length-delimited field holds: the record each is in, and their fields."""
    records, starts, lengths = fields.rows(number)
    return records, wire.walk(arr, starts, starts + lengths.astype(np.int64), wires)


def _pairs(arr: npt.NDArray[np.uint8], starts: Ints, lengths: Ints) -> tuple[pl.Series, Ints, Flags]:
    """Key-value messages at the given byte ranges: each one's text ('"key": value', as
    ``traces.attrs_text`` writes it), which of them first holds the same key (``first_equal``),
    and whether the real classes must read it."""
    m = len(starts)
    kv = wire.walk(arr, starts, starts + lengths, {1: LEN, 2: LEN})
    holder, av = _nested(arr, kv, 2, _ANY_WIRES_ALL)  # holder: the key-value each AnyValue is of
    kind = np.zeros(m, dtype=np.int64)  # 0: no value (what str(None) gives is written)
    value = np.zeros(m, dtype=np.uint64)
    string_at = np.zeros(m, dtype=np.int64)
    set_fields = np.zeros(m, dtype=np.int64)
    for number in _ANY_WIRES_ALL:
        records, at, values = av.rows(number)
        set_fields[holder] += av.count(number, len(holder))
        kind[holder[records]], value[holder[records]] = number, values
        if number == _STRING:
            string_at[holder[records]] = at
    odd = np.zeros(m, dtype=bool)
    odd[holder[av.bad]] = True
    # a oneof set twice is left to protobuf's rule; array, kvlist and bytes values to its classes
    odd |= (set_fields > 1) | (kind > _DOUBLE) | (kv.count(2, m) > 1) | kv.bad
    keys_at, keys_len = kv.column(1, m, "start"), kv.column(1, m).astype(np.int64)
    strings = np.flatnonzero(kind == _STRING)
    doubles = np.flatnonzero(kind == _DOUBLE)
    frame = pl.DataFrame({"kind": kind, "i": value.view(np.int64)})
    text = frame.select(
        pl.when(pl.col("kind") == _BOOL).then(pl.when(pl.col("i") != 0).then(pl.lit("true")).otherwise(pl.lit("false")))
        .when(pl.col("kind") == _INT).then(pl.col("i").cast(pl.String))
        .otherwise(pl.lit('"None"'))  # no value set: what str(None) gives
    ).to_series()  # fmt: skip
    if strings.size:
        text = text.scatter(strings, json_strings(arr, string_at[strings], value[strings].astype(np.int64)))
    if doubles.size:
        text = text.scatter(doubles, float_texts(value[doubles].view(np.float64)))
    pairs = pl.select(pl.concat_str(json_strings(arr, keys_at, keys_len), pl.lit(": "), text)).to_series()
    return pairs, wire.first_equal(arr, keys_at, keys_len), odd


def _attributes(arr: npt.NDArray[np.uint8], spans: Fields, n: int) -> tuple[pl.Series, Ints]:
    """Per span, its attributes as the JSON object ``traces.attrs_text`` writes; and the spans the
    real classes must read. Each distinct key-value message is read once (most repeat: a
    method, a status code, a route), then its text is taken for every span that holds it."""
    owner, starts, sizes = spans.rows(_ATTRIBUTES)
    lengths = sizes.astype(np.int64)
    first = wire.first_equal(arr, starts, lengths)
    distinct = np.flatnonzero(first == np.arange(len(first)))
    which = np.searchsorted(distinct, first)
    texts, same_key, odd = _pairs(arr, starts[distinct], lengths[distinct])
    # a key twice in one span is left to the dict the real reading builds
    twice = (
        pl.Series(owner * len(distinct) + same_key[which]).is_duplicated().to_numpy()
    )  # (span, key), exact
    slow = np.unique(owner[odd[which] | twice])
    return objects(owner, n, texts, which), slow


def located(raws: list[bytes]) -> tuple[list[bytes], list[bytes], Ints]:
    """The spans of ``TracesData`` messages as bytes, the distinct resources (as bytes), and the
    resource each span belongs to (an SDK sends its one resource with every batch)."""
    from google.protobuf.message import DecodeError

    reduced = _reduced_traces()
    spans: list[bytes] = []
    resources: dict[bytes, int] = {}
    of: list[int] = []
    counts: list[int] = []
    for raw in raws:
        try:
            msg = reduced.FromString(raw)
        except DecodeError:
            raise WireRefused from None
        for rs in msg.resource_spans:
            if len(rs.resource) > 1:  # protobuf merges a message sent twice
                raise WireRefused
            of.append(resources.setdefault(rs.resource[0] if rs.resource else b"", len(resources)))
            before = len(spans)
            for ss in rs.scope_spans:
                spans.extend(ss.spans)
            counts.append(len(spans) - before)
    return spans, list(resources), np.repeat(np.array(of, dtype=np.int64), counts)


def _status_codes(arr: npt.NDArray[np.uint8], spans: Fields, n: int) -> tuple[Ints, list[Ints]]:
    """Per span, its status code; and the spans the real classes must read."""
    owner, status = _nested(arr, spans, _STATUS, {2: LEN, 3: VARINT})
    code = np.zeros(n, dtype=np.uint64)
    code[owner] = status.column(3, len(owner))
    # a status sent twice is merged by protobuf; a code past int32 is cut by it
    slow = [owner[status.bad], np.flatnonzero(spans.count(_STATUS, n) > 1), np.flatnonzero(code > 0x7FFFFFFF)]
    return code.astype(np.int64), slow


def columns(spans: list[bytes]) -> tuple[pl.DataFrame, Ints]:
    """The span table's raw columns (ids as hex, null where absent; kind and status code as
    numbers; ``attrs`` as JSON text; ``i`` the span's index) for the spans read here, and the
    indices of those left to the real classes."""
    n = len(spans)
    lengths = np.fromiter(map(len, spans), dtype=np.int64, count=n)
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    arr = wire.padded(b"".join(spans))
    f = wire.walk(arr, starts, starts + lengths, _SPAN_WIRES)

    def last_bytes(number: int) -> tuple[Ints, Ints]:
        return f.column(number, n, "start"), f.column(number, n).astype(np.int64)

    kind = f.column(_KIND, n)
    code, slow = _status_codes(arr, f, n)
    try:
        attrs, slow_attributes = _attributes(arr, f, n)
    except NotText:
        raise WireRefused from None
    slow += [np.flatnonzero(f.bad), np.flatnonzero(kind > 0x7FFFFFFF), slow_attributes]
    counts = f.count(_ATTRIBUTES, n).astype(np.int32)
    raw = pl.DataFrame(
        {"trace": _hex_ids(arr, *last_bytes(_TRACE_ID)), "span": _hex_ids(arr, *last_bytes(_SPAN_ID)),
         "parent": _hex_ids(arr, *last_bytes(_PARENT)), "name": _strings(arr, *last_bytes(_NAME)),
         "kind": kind.astype(np.int64), "code": code,
         "start": f.column(_START, n), "end": f.column(_END, n),
         "attributes": counts, "attrs": attrs, "i": np.arange(n, dtype=np.int64)},
    )  # fmt: skip
    slow_spans = np.unique(np.concatenate(slow))
    if slow_spans.size:
        keep = np.ones(n, dtype=bool)
        keep[slow_spans] = False
        raw = raw.filter(pl.Series(keep))
    return raw, slow_spans
