"""Blocks of whole lines: the same lines as splitting the text, each line's length bounded."""

from __future__ import annotations

import io
from itertools import chain

from hypothesis import given, settings
from hypothesis import strategies as st

from costscope.sources.line_blocks import line_blocks

_TEXT = st.text(alphabet=st.sampled_from(["a", "b", "\n", "\r", "é", " "]), max_size=300)


def _oracle(text: str, keep: int) -> list[str]:
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:keep] for line in lines]


@settings(max_examples=300, deadline=None)
@given(text=_TEXT, keep=st.integers(1, 40), block=st.integers(1, 64))
def test_blocks_hold_the_lines_of_the_text_each_cut_to_keep(text: str, keep: int, block: int) -> None:
    got = list(chain.from_iterable(line_blocks(io.StringIO(text, newline="\n"), keep, block)))
    assert got == _oracle(text, keep)


def test_a_line_longer_than_a_block_is_never_read_whole() -> None:
    class Counting(io.StringIO):
        largest = 0

        def read(self, size: int | None = -1) -> str:
            out = super().read(size)
            Counting.largest = max(Counting.largest, len(out))
            return out

    text = "short\n" + "x" * 100_000 + "\nafter\n"
    blocks = list(line_blocks(Counting(text, newline="\n"), keep=10, block_chars=1000))
    assert list(chain.from_iterable(blocks)) == ["short", "x" * 10, "after"]
    assert Counting.largest <= 1000


def test_an_empty_stream_yields_nothing_and_a_last_line_without_newline_is_a_line() -> None:
    assert list(line_blocks(io.StringIO(""), 10)) == []
    assert list(chain.from_iterable(line_blocks(io.StringIO("a\r\nb"), 10))) == ["a\r", "b"]
