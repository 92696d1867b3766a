"""The plain fast path gives the columnar parser's frames and families, or steps aside.

Every comparison parses the same lines twice: once as ``ExpositionParser`` does (plain path first)
and once with the plain path switched off. Where the columnar parser raises, the plain path must
have stepped aside (returned None), so the error a user sees is the same. Every test runs with
each of the two splitters (the compiled one and the Python one), and the two are compared with
each other too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from unittest.mock import patch

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costscope.errors import ParseError
from costscope.sources import exposition_plain
from costscope.sources.exposition import CHUNK_LINES, ExpositionParser
from costscope.sources.exposition_plain import (
    PLAIN_MAX_LINES,
    PlainLines,
    plain_chunk,
    split_compiled,
    split_python,
)
from tests.conftest import EXPOSITION, REALWORLD

COMPILED = exposition_plain._split is not None

REAL_FILES = sorted(
    p
    for root in (EXPOSITION, REALWORLD / "metrics", REALWORLD / "openmetrics")
    if root.is_dir()
    for p in root.rglob("*")
    if p.is_file() and p.suffix in (".txt", ".prom")
)


@pytest.fixture(autouse=True, scope="module", params=["compiled", "python"])
def splitter(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the module's tests once with each splitter."""
    if request.param == "compiled" and not COMPILED:
        pytest.skip("costscope.sources._plain_lines is not built (no C compiler at install)")
    split = split_compiled if request.param == "compiled" else split_python
    with patch.object(exposition_plain, "split_lines", split):
        yield request.param


def test_the_compiled_splitter_is_built() -> None:
    if not COMPILED and os.environ.get("CI") != "true":
        pytest.skip("no C compiler at install: the Python splitter does the work")
    assert COMPILED, "CI installs a C compiler (scripts/check.sh): _plain_lines must be built"


def _same_split(lines: list[str]) -> bool:
    """The two splitters agree (both None, or equal columns); True where they took the lines."""
    with patch.object(exposition_plain, "PLAIN_MAX_LINES", len(lines)):  # the Python one's cap is for speed
        ours, theirs = split_compiled(lines, 1), split_python(lines, 1)
    if ours is None or theirs is None:
        assert ours is theirs, "one splitter took lines the other refused"
        return False
    assert isinstance(ours, PlainLines)
    assert ours.said == theirs.said
    assert ours.samples.equals(theirs.samples)
    assert (ours.run_names, ours.run_lines) == (theirs.run_names, theirs.run_lines)
    assert ours.labels.equals(theirs.labels)
    return True


Parsed = tuple[pl.DataFrame, pl.DataFrame, dict[str, object], int]


def _parse(
    lines: list[str], *, plain: bool, chunk_lines: int = CHUNK_LINES, lenient: bool = False
) -> Parsed | str:
    """Samples, labels, families and lines skipped of ``lines``, or the error message the parser raised."""
    parser = ExpositionParser("x.prom", lenient=lenient)
    try:
        if plain:
            chunks = list(parser.chunks(lines, chunk_lines))
        else:
            with patch("costscope.sources.exposition.plain_chunk", return_value=None):
                chunks = list(parser.chunks(lines, chunk_lines))
    except ParseError as exc:
        return str(exc)
    samples = pl.concat([c.samples for c in chunks]) if chunks else pl.DataFrame()
    labels = pl.concat([c.labels for c in chunks]) if chunks else pl.DataFrame()
    return samples, labels, dict(parser.families), parser.skipped


def _agree(text: str, ended: bool = False, *, chunk_lines: int = CHUNK_LINES, lenient: bool = False) -> bool:
    """Both paths give the same result; True where the plain path took the (first block's) lines itself.

    ``ended``: lines keep their ``\\n``, as ``ExpositionParser.chunks`` also takes them.
    """
    lines = [line + "\n" for line in text.split("\n")] if ended else text.split("\n")
    if COMPILED:
        _same_split(lines)
    took = plain_chunk(lines, 1) is not None
    ours = _parse(lines, plain=True, chunk_lines=chunk_lines, lenient=lenient)
    columnar = _parse(lines, plain=False, chunk_lines=chunk_lines, lenient=lenient)
    if isinstance(columnar, str):
        assert not took, f"plain path accepted what the columnar parser refuses: {columnar}"
        assert ours == columnar
        return took
    assert not isinstance(ours, str)
    assert ours[0].equals(columnar[0])
    # label rows are joined on the line: the columnar parser puts its careful path's rows last
    assert ours[1].sort("line", maintain_order=True).equals(columnar[1].sort("line", maintain_order=True))
    assert ours[2:] == columnar[2:]
    return took


def test_the_real_files_are_there() -> None:
    if not REAL_FILES:
        pytest.skip(f"{EXPOSITION} is missing (../shared/fixtures)")
    assert len(REAL_FILES) >= 20


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_real_files_parse_alike_on_both_paths(path: Path) -> None:
    _agree(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", REAL_FILES[:12], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_small_and_large_blocks_make_the_same_samples(path: Path) -> None:
    """A small block's samples are made in a Python loop, a larger one's in one query: alike."""
    lines = path.read_text(encoding="utf-8").split("\n")
    with patch.object(exposition_plain, "SMALL_BLOCK", 0):
        by_query = plain_chunk(lines, 1)
    with patch.object(exposition_plain, "SMALL_BLOCK", 10**9):
        by_loop = plain_chunk(lines, 1)
    if by_query is None:
        assert by_loop is None
        return
    assert by_loop is not None
    assert by_loop.samples.equals(by_query.samples)
    assert by_loop.samples.schema == by_query.samples.schema


def test_a_node_exporter_scrape_takes_the_plain_path() -> None:
    path = EXPOSITION / "node_exporter" / "e2e-output.txt"
    if not path.exists():
        pytest.skip(f"{path} is missing (../shared/fixtures)")
    assert _agree(path.read_text(encoding="utf-8"))


PLAIN = """\
# HELP http_requests_total Requests \\\\ served.\\nSecond line.
# TYPE http_requests_total counter
http_requests_total{code="200",path="/a,b=c"} 1027 1395066363000
http_requests_total{code="400",} 3
# a free comment
# HELP rpc_duration_seconds RPC latency.
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds_sum +Inf
rpc_duration_seconds_count NaN
no_help_or_type{} 1e3
untyped_total 1
"""


def test_a_plain_exposition_takes_the_plain_path() -> None:
    assert _agree(PLAIN)


# (name, text): each is not plain; the columnar parser reads it (and names what is wrong)
NOT_PLAIN = [
    ("escaped quote", 'm{a="x\\"y"} 1'),
    ("brace in a value", 'm{a="}"} 1'),
    ("exemplar", 'm_total{a="b"} 1 # {t="1"} 1'),
    ("tab before the value", "m\t1"),
    ("two spaces", "m  1"),
    ("blank before the block", 'm {a="b"} 1'),
    ("blank first", " m 1"),
    ("blank-only line", "m 1\n   \nn 2"),
    ("carriage return", "m 1\r\nn 2\r"),
    ("tab-spaced HELP", "#\tHELP m text\nm 1"),
    ("HELP with two spaces", "# HELP m  text\nm 1"),
    ("HELP ending in a carriage return", "# HELP m text\r\nm 1"),
    ("TYPE with a tab", "# TYPE m\tcounter\nm 1"),
    ("second HELP", "# HELP m a\n# HELP m b\nm 1"),
    ("second TYPE", "# TYPE m gauge\n# TYPE m gauge\nm 1"),
    ("unknown type", "# TYPE m meter\nm 1"),
    ("UNIT", "# UNIT m_seconds seconds\nm_seconds 1"),
    ("EOF", "m 1\n# EOF"),
    ("bad name in TYPE", "# TYPE 0m gauge\nm 1"),
    ("TYPE after samples", "m 1\n# TYPE m gauge"),
    ("bad value", "m one"),
    ("bad timestamp", "m 1 soon"),
    ("infinite timestamp", "m 1 +Inf"),
    ("duplicate label", 'm{a="1",a="2"} 1'),
    ("value starting with a comma", 'm{a=",x"} 1'),
    ("empty pair", "m{,} 1"),
    ("two commas", 'm{a="b",,} 1'),
    ("empty block with a blank", "m {} 1"),
]


@pytest.mark.parametrize(("case", "text"), NOT_PLAIN, ids=[c for c, _ in NOT_PLAIN])
def test_what_is_not_plain_goes_to_the_columnar_parser(case: str, text: str) -> None:
    assert plain_chunk(text.split("\n"), 1) is None, case
    assert not _agree(text)


@pytest.mark.parametrize("text", ["# HELP m text", "# HELP m text\n# TYPE m gauge", "# free\n# HELP m"])
def test_line_endings_are_not_help_text(text: str) -> None:
    _agree(text, ended=True)


def test_a_value_ending_in_equals_is_still_one_pair() -> None:
    assert _agree('m{a="x=",b="=y="} 1')
    labels = plain_chunk(['m{a="x=",b="=y="} 1'], 1)
    assert labels is not None
    assert labels.labels.rows() == [(1, "a", "x="), (1, "b", "=y=")]


def test_long_blocks_go_to_the_columnar_parser_without_the_compiled_splitter(splitter: str) -> None:
    taken = plain_chunk(["m 1"] * (PLAIN_MAX_LINES + 1), 1)
    assert (taken is not None) == (splitter == "compiled")


def test_every_block_of_the_text_format_and_never_strict_openmetrics() -> None:
    assert plain_chunk(["m 1"], 1) is not None
    with patch("costscope.sources.exposition.plain_chunk", wraps=plain_chunk) as spy:
        list(ExpositionParser("x.om", openmetrics=True).chunks(["m 1", "# EOF"]))
        list(ExpositionParser("x.prom").chunks(["m 1", "n 2", "o 3"], chunk_lines=1))
    assert spy.call_count == 3


def test_after_a_block_that_is_not_plain_the_rest_go_to_the_columnar_parser() -> None:
    lines = ["m 1", 'n{a="x\\"y"} 2', "o 3", "p 4"]  # an escaped quote in the second block
    with patch("costscope.sources.exposition.plain_chunk", wraps=plain_chunk) as spy:
        chunks = list(ExpositionParser("x.prom").chunks(lines, chunk_lines=1))
    assert spy.call_count == 2
    assert [c.samples["name"].item() for c in chunks] == ["m", "n", "o", "p"]


# (name, text, lines per block): each block is plain, what joins them is for the columnar parser
ACROSS_BLOCKS = [
    ("HELP in one block, TYPE in the next", "# HELP m x\n# TYPE m counter\nm_total 1", 1),
    ("a family's samples in two blocks", '# TYPE h histogram\nh_bucket{le="1"} 1\nh_count 1\nh_sum 2', 2),
    ("second HELP in the next block", "# HELP m a\nm 1\n# HELP m b\nn 1", 2),
    ("second TYPE in the next block", "# TYPE m gauge\nm 1\n# TYPE m gauge\nn 1", 2),
    ("TYPE after the last block's samples", "m_total 1\nn 2\n# TYPE m counter", 2),
    ("samples after an EOF", "m 1\n# EOF\nn 2", 2),
    ("earlier family claims a suffix", "# TYPE s summary\nx 1\ns_count 3\ns_sum 1", 2),
]


@pytest.mark.parametrize(("case", "text", "size"), ACROSS_BLOCKS, ids=[c for c, _, _ in ACROSS_BLOCKS])
@pytest.mark.parametrize("lenient", [False, True])
def test_blocks_after_the_first_parse_alike_on_both_paths(
    case: str, text: str, size: int, lenient: bool
) -> None:
    _agree(text, chunk_lines=size, lenient=lenient)


_names = st.sampled_from(["m", "m_total", "m_bucket", "m_sum", "m_count", "n", "n_info", "a:b"])
# mostly plain pieces, some not: the plain path must both answer and step aside
_label_values = st.one_of(
    *[st.text(alphabet="ab=, :", max_size=4)] * 6,
    st.text(alphabet='a"}{\\\t#', max_size=3),
    st.text(alphabet="é\x00\u3000\x85\n a", max_size=3),  # bytes past ASCII, NUL, blanks only Python knows
)
_pairs = st.lists(st.tuples(st.sampled_from(["a", "b", "le", "0x"]), _label_values), max_size=3)
_values = st.sampled_from(["1", "-2.5", "+Inf", "NaN", "1e3"] * 4 + ["x", "", "0x1", "1,5"])
_sample = st.builds(
    lambda name, pairs, comma, value, ts, sep: (
        name
        + (
            "{" + ",".join(f'{k}="{v}"' for k, v in pairs) + ("," if comma and pairs else "") + "}"
            if pairs
            else ""
        )
        + sep
        + value
        + (f" {ts}" if ts else "")
    ),
    _names,
    _pairs,
    st.booleans(),
    _values,
    st.sampled_from([None] * 8 + ["1395066363000", "-1", "inf", "z"]),
    st.sampled_from([" "] * 8 + ["  ", "\t", "\u3000"]),
)
_comment = st.builds(
    lambda keyword, name, rest: f"# {keyword} {name}{rest}",
    st.sampled_from(["HELP", "TYPE"] * 8 + ["UNIT"]),
    st.sampled_from(["m", "n", "m"] * 3 + ["0bad"]),
    st.sampled_from(
        [" counter", " histogram", " summary", " info", " untyped", " gauge", " text \\n", ""] * 3
        + [" meter", "  x", " x\r", " \u3000x", " \x85x", " é", " counter\u3000", " gauge\x1f", "\u2028"]
    ),
)
_odd_lines = st.sampled_from(["", "# free", "", "#\tHELP m x", "   "])
_line = st.one_of(*[_sample] * 6, *[_comment] * 2, _odd_lines)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(_line, max_size=10),
    st.booleans(),
    st.sampled_from([CHUNK_LINES, CHUNK_LINES, 1, 2, 3]),
    st.booleans(),
)
def test_generated_expositions_parse_alike_on_both_paths(
    lines: list[str], ended: bool, chunk_lines: int, lenient: bool
) -> None:
    _agree("\n".join(lines), ended, chunk_lines=chunk_lines, lenient=lenient)
