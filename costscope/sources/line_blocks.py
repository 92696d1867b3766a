"""Reading a text stream as blocks of whole lines, each line's length bounded.

Reading line by line costs a Python call per line (half a second per million lines here);
reading a few MiB at a time and splitting on ``\\n`` costs one. Memory stays bounded by the
block size: a line longer than a block is never held whole — its head is kept and the rest of it
skipped, as a bounded ``readline`` would.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

BLOCK_CHARS = 16 << 20


def _skip_line(stream: IO[str], block_chars: int) -> str:
    """Read past the end of the current line; return what follows it in the last block read."""
    while data := stream.read(block_chars):
        end = data.find("\n")
        if end >= 0:
            return data[end + 1 :]
    return ""


def _bounded(lines: list[str], keep: int) -> list[str]:
    if lines and max(map(len, lines)) > keep:
        return [line[:keep] for line in lines]
    return lines


def line_blocks(stream: IO[str], keep: int, block_chars: int = BLOCK_CHARS) -> Iterator[list[str]]:
    """Lists of the stream's lines, without their ``\\n``; a line over ``keep`` chars is cut to ``keep``.

    A ``\\r`` before the ``\\n`` stays on the line. An empty stream yields nothing; a last line
    without ``\\n`` is a line.
    """
    for lines, _ in ended_line_blocks(stream, keep, block_chars):
        yield lines


def ended_line_blocks(
    stream: IO[str], keep: int, block_chars: int = BLOCK_CHARS
) -> Iterator[tuple[list[str], bool]]:
    """``line_blocks``, each block with whether its last line ended with ``\\n`` (only the
    stream's very last line may not: what a line weighs on disk depends on it)."""
    carry = ""
    while data := stream.read(block_chars):
        data = carry + data if carry else data
        end = data.rfind("\n")
        if end < 0:
            if len(data) > keep:  # one line longer than a block: keep its head, skip the rest
                yield [data[:keep]], True
                carry = _skip_line(stream, block_chars)
            else:
                carry = data
            continue
        carry = data[end + 1 :]
        yield _bounded(data[:end].split("\n"), keep), True
    if carry:
        lines = carry.split("\n")
        ended = lines[-1] == ""
        yield _bounded(lines[:-1] if ended else lines, keep), ended
