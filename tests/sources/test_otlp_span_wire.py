"""OTLP spans read off the wire column-wise equal what the ``opentelemetry-proto`` classes decode.

The oracle is ``proto_spans`` over messages parsed by protobuf itself; every case goes through
both and the frames must be equal, row for row. Spans are built from parts serialised one after
another, which protobuf reads as one merged span: fields out of order, a singular field sent
twice (the last wins), a status sent twice (merged), repeated attributes.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2
from polars.testing import assert_frame_equal

from costscope.errors import ParseError
from costscope.sources.otlp_traces import _parsed, proto_spans, read_proto_traces, wire_spans
from tests.protobuf_encoding import field, varint


def _traces(resources: list[tuple[bytes, list[bytes]]]) -> bytes:
    """A ``TracesData`` message: per resource, its attributes message and its spans' bytes."""
    return b"".join(
        field(1, field(1, resource) + field(2, b"".join(field(2, s) for s in spans)))
        for resource, spans in resources
    )


def _resource(service: str, **extra: str) -> bytes:
    attrs = {"service.name": service, **extra}
    return resource_pb2.Resource(
        attributes=[
            common_pb2.KeyValue(key=k, value=common_pb2.AnyValue(string_value=v)) for k, v in attrs.items()
        ]
    ).SerializeToString()


def _same(raws: list[bytes]) -> None:
    """The wire reading equals protobuf's own decoding of the same messages."""
    expected = proto_spans([_parsed(r) for r in raws])
    assert_frame_equal(wire_spans(raws), expected)


def _kv(key: str, value: Any) -> common_pb2.KeyValue:
    if value is None:
        return common_pb2.KeyValue(key=key)
    any_value = common_pb2.AnyValue()
    if isinstance(value, bool):
        any_value.bool_value = value
    elif isinstance(value, int):
        any_value.int_value = value
    elif isinstance(value, float):
        any_value.double_value = value
    elif isinstance(value, bytes):
        any_value.bytes_value = value
    elif isinstance(value, list):
        any_value.array_value.values.extend(_kv("", v).value for v in value)
    elif isinstance(value, dict):
        any_value.kvlist_value.values.extend(_kv(k, v) for k, v in value.items())
    elif value == "<empty AnyValue>":
        return common_pb2.KeyValue(key=key, value=common_pb2.AnyValue())
    else:
        any_value.string_value = value
    return common_pb2.KeyValue(key=key, value=any_value)


_SCALARS = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ["GET", "/api/orders", "200", 'say "hi"', "back\\slash", "tab\there", "ünïcode", "日本", "😀"]
    ),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.none(),
    st.just("<empty AnyValue>"),
)
_VALUES = st.one_of(
    _SCALARS,
    st.binary(max_size=8),
    st.lists(st.one_of(st.text(max_size=5), st.integers(-5, 5)), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(-5, 5), max_size=2),
)
_KEYS = st.one_of(
    st.sampled_from(
        ["http.route", "http.request.method", "db.statement", "k", "", "exception.stacktrace.long.key"]
    ),
    st.text(max_size=20),
)


@st.composite
def _span_parts(draw: Any) -> list[trace_pb2.Span]:
    """One span as one to three parts, serialised back to back (protobuf merges them)."""
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        span = trace_pb2.Span()
        if draw(st.booleans()):
            span.trace_id = draw(
                st.sampled_from([bytes(range(16)), b"\x01" * 16, b"", b"\xff" * 8, b"\x05" * 5])
            )
        if draw(st.booleans()):
            span.span_id = draw(st.sampled_from([bytes(range(8)), b"\x02" * 8, b""]))
        if draw(st.booleans()):
            span.parent_span_id = draw(st.sampled_from([b"\x03" * 8, b"", b"\x00" * 8]))
        if draw(st.booleans()):
            span.name = draw(st.one_of(st.text(max_size=40), st.sampled_from(["GET /", "çà", ""])))
        if draw(st.booleans()):
            span.kind = draw(st.sampled_from([0, 1, 2, 3, 4, 5, 6, 99, 2**31 - 1]))
        if draw(st.booleans()):
            span.start_time_unix_nano = draw(st.integers(0, 2**64 - 1))
        if draw(st.booleans()):
            span.end_time_unix_nano = draw(st.integers(0, 2**64 - 1))
        if draw(st.booleans()):
            span.status.code = draw(st.sampled_from([0, 1, 2, 7]))
            span.status.message = draw(st.text(max_size=5))
        if draw(st.booleans()):
            span.trace_state = "a=b"
            span.dropped_attributes_count = 3
            span.events.add(name="ev", time_unix_nano=5)
            span.flags = 0x301
        for key, value in draw(st.lists(st.tuples(_KEYS, _VALUES), max_size=5)):
            span.attributes.append(_kv(key, value))
        parts.append(span)
    return parts


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_span_parts(), min_size=0, max_size=6), min_size=1, max_size=3))
def test_any_spans_read_as_protobuf_reads_them(resources: list[list[list[trace_pb2.Span]]]) -> None:
    raws = [
        _traces([(_resource(f"svc{i}"), [b"".join(p.SerializeToString() for p in parts) for parts in spans])])
        for i, spans in enumerate(resources)
    ]
    _same(raws)


def _plain_span(i: int, **attrs: Any) -> bytes:
    span = trace_pb2.Span(
        trace_id=(i // 3 + 1).to_bytes(16, "big"), span_id=(i + 1).to_bytes(8, "big"), name=f"op{i % 4}", kind=2,
        start_time_unix_nano=1_700_000_000_000_000_000 + i, end_time_unix_nano=1_700_000_000_000_000_000 + 2 * i,
    )  # fmt: skip
    span.attributes.extend(_kv(k, v) for k, v in attrs.items())
    return span.SerializeToString()


@pytest.mark.parametrize(
    ("case", "spans"),
    [
        ("a key twice in one span: the dict keeps the first place, the last value",
         [_plain_span(0, a="1") + _plain_span(0, a="2", b=3)]),
        ("every value kind beside plain ones", [_plain_span(i, s="x", int=-(2**63), f=math.nan, t=True, n=None,
                                                           l=[1, "a"], m={"k": 1}, b=b"\x00") for i in range(5)]),
        ("escapes and non-ASCII in keys and values", [_plain_span(i, **{'q"k': "v\\", "ключ": "значение\n"}) for i in range(3)]),
        ("a long key and value", [_plain_span(1, **{"k" * 300: "v" * 70_000})]),
        ("no spans", []),
        ("a span with nothing set", [b""]),
        ("a 2-byte length and a multi-byte tag (flags)", [_plain_span(1, x="y" * 200) + varint(16 << 3 | 5) + b"\x01\x00\x00\x00"]),
        ("an unknown field of each wire type", [_plain_span(1, a="b") + varint(99 << 3 | 0) + b"\x05" + varint(98 << 3 | 1)
                                                + b"\x00" * 8 + varint(97 << 3 | 2) + b"\x01z" + varint(96 << 3 | 5) + b"\x00" * 4]),
        ("a known field with another wire type", [_plain_span(1) + varint(5 << 3 | 0) + b"\x07"]),
    ],
)  # fmt: skip
def test_wire_oddities_read_as_protobuf_reads_them(case: str, spans: list[bytes]) -> None:
    _same([_traces([(_resource("svc"), spans)])])


def test_resources_shared_between_messages_and_told_apart() -> None:
    one, other = _resource("checkout", zone="a"), _resource("checkout", zone="b")
    raws = [_traces([(one, [_plain_span(i)]), (other, [_plain_span(i + 10)])]) for i in range(4)]
    _same(raws)
    frame = wire_spans(raws)
    assert frame["resource_pairs"].list.eval(pl_value()).to_list()[:2] == [
        ["checkout", "a"],
        ["checkout", "b"],
    ]


def pl_value() -> Any:
    import polars as pl

    return pl.element().struct.field("value")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_traces([(_resource("s"), [_plain_span(1)])])[:-3], "invalid OTLP traces protobuf"),
        (_traces([(_resource("s"), [trace_pb2.Span(name="x").SerializeToString()[:-1] + b"\xff"])]), "invalid OTLP traces protobuf"),
        (_traces([(_resource("s"), [field(5, b"\xc3\x28")])]), "invalid OTLP traces protobuf"),  # a name that is no UTF-8
        (_traces([(_resource("s"), [_plain_span(1)[:-1] + field(9, field(1, b"\xff"))])]), "invalid OTLP traces protobuf"),
        (_traces([(_resource("s"), [_plain_span(1)[:-4]])]), "invalid OTLP traces protobuf"),
    ],
)  # fmt: skip
def test_malformed_messages_are_refused_as_protobuf_refuses_them(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        _parsed(body)
    with pytest.raises(ParseError, match=message):
        wire_spans([body])


def test_a_file_names_the_message_that_is_broken(tmp_path: Path) -> None:
    good = _traces([(_resource("s"), [_plain_span(i) for i in range(3)])])
    bad = good[:-2]
    path = tmp_path / "spans.pb"
    path.write_bytes(b"".join(struct.pack(">I", len(m)) + m for m in (good, good, bad)))
    with pytest.raises(ParseError, match="message 3: invalid OTLP traces protobuf") as caught:
        list(read_proto_traces(path))
    assert caught.value.file == str(path)


def test_file_frames_equal_protobuf_across_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import costscope.sources.otlp_traces as otlp_traces

    monkeypatch.setattr(otlp_traces, "PROTO_BATCH_BYTES", 2_000)  # many batches of a few messages
    raws = [_traces([(_resource(f"s{m % 3}"), [_plain_span(m * 10 + i, route=f"/r{i}") for i in range(9)])])
            for m in range(40)]  # fmt: skip
    path = tmp_path / "spans.pb"
    path.write_bytes(b"".join(struct.pack(">I", len(m)) + m for m in raws))
    import polars as pl

    got = pl.concat(list(read_proto_traces(path)))
    assert_frame_equal(got, proto_spans([_parsed(r) for r in raws]))
    assert got.height == 360


def test_plain_spans_are_read_without_the_protobuf_classes() -> None:
    from costscope.sources import otlp_span_wire

    spans = [_plain_span(i, route=f"/r{i % 3}", code=200, ok=True, ratio=0.5, q='x"y') for i in range(50)]
    raw, slow = otlp_span_wire.columns(spans)
    assert raw.height == 50
    assert slow.size == 0
    assert raw["attrs"][0] == '{"route": "/r0", "code": 200, "ok": true, "ratio": 0.5, "q": "x\\"y"}'


@pytest.mark.parametrize("width", [1, 5, 8, 16, 33])
def test_ids_of_one_width_as_hex(width: int) -> None:
    spans = [trace_pb2.Span(trace_id=bytes([i, 255 - i] * width)[:width], span_id=bytes([i]) * 8).SerializeToString()
             for i in range(0, 256, 5)]  # fmt: skip
    _same([_traces([(_resource("s"), spans)])])
