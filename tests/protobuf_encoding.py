"""Protobuf wire pieces written by hand, for inputs the ``protobuf`` classes would not serialise."""

from __future__ import annotations


def varint(v: int) -> bytes:
    """``v`` as a base-128 varint."""
    out = bytearray()
    while True:
        out.append((v & 0x7F) | (0x80 if v > 0x7F else 0))
        v >>= 7
        if not v:
            return bytes(out)


def field(number: int, payload: bytes) -> bytes:
    """A length-delimited field: tag, length, bytes."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload
