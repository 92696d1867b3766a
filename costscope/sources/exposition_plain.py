"""Expositions in their plain shape, taken apart without the columnar parser's fifty-odd steps.

A node_exporter scrape is a few thousand lines; there the polars steps of the columnar parser cost
more than the lines do. Almost every exposition is *plain*: ``# HELP name text`` and ``# TYPE name
type`` with single spaces, sample lines with single spaces and no escapes, quotes, braces or
exemplars, no blank-only lines, no ``\r``, no OpenMetrics ``# EOF`` or ``# UNIT``, nothing wrong.
``plain_chunk`` takes such a block apart with one of two splitters that give the same columns:
the compiled one (``_plain_lines.c``, one pass over the lines' bytes) where the install could
build it, else ``split_python`` (str.partition, one regex check of the sample lines, one polars
query for the label pairs). It gives up (returns ``None``) where anything is not plain, and the
columnar parser — the one that names errors — reads the block instead. Where it does answer, its
frames and families are the columnar parser's, row for row (tests/sources/test_exposition_plain.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import polars as pl
import pyarrow as pa

from costscope.sources.exposition_lines import (
    _FAST,
    _NAME,
    MAX_LINE_BYTES,
    METRIC_TYPES,
    families_of,
    split_pairs,
    unescape,
)

if TYPE_CHECKING:
    from costscope.sources._plain_lines import CompiledComments

try:
    from costscope.sources._plain_lines import split as _split
except ImportError:  # installed without a C compiler: split_python gives the same columns
    _split = None  # type: ignore[assignment]

# at most this many lines for the Python splitter: there the columnar parser catches up (measured:
# lines of five labels break even near 10k lines, kube-apiserver's 23k lines of few labels too; at
# 50k it is 20 % faster). The compiled one stays ahead at any size (1.8-4.7x, 10k-125k lines).
PLAIN_MAX_LINES = 10_000
_KEYWORDS = frozenset({"HELP", "TYPE", "UNIT", "EOF"})
_NAMES = re.compile(rf"(?:{_NAME}\n)*")
_TEXT_SAMPLES = {"line": pl.Int64, "run": pl.Int32, "value": pl.String, "timestamp": pl.String}


@dataclass(slots=True)
class PlainComments:
    """What the ``# HELP`` and ``# TYPE`` lines of a plain block said, in order of first mention."""

    order: dict[str, None] = field(default_factory=dict)  # families in order of first mention
    helps: dict[str, str] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    type_lines: dict[str, int] = field(default_factory=dict)


class PlainChunk(NamedTuple):
    """A plain block taken apart: its comments, the columnar parser's two frames, the families seen."""

    said: PlainComments
    samples: pl.DataFrame
    labels: pl.DataFrame
    families: set[str]


def _comments(lines: list[tuple[int, str]]) -> PlainComments | None:
    """Read HELP and TYPE lines; None where one is not plain, repeats a family, or is wrong."""
    said = PlainComments()
    order, helps, types, type_lines = said.order, said.helps, said.types, said.type_lines
    for line, text in lines:
        head = text[:7]
        if head == "# HELP ":
            name, _, rest = text[7:].partition(" ")
            # str.split would have eaten leading blanks, the columnar parser a line's '\r' or '\n'
            if name in helps or rest[:1].isspace() or rest.endswith(("\r", "\n")):
                return None
            helps[name] = unescape(rest)
        elif head == "# TYPE ":
            name, _, kind = text[7:].partition(" ")
            kind = kind.strip()
            if name in types or kind not in METRIC_TYPES:
                return None
            types[name] = "unknown" if kind == "untyped" else kind
            type_lines[name] = line
        else:
            if _names_keyword(text):
                return None
            continue
        order[name] = None
    if order and not _NAMES.fullmatch("\n".join(order) + "\n"):
        return None
    return said


def _names_keyword(comment: str) -> bool:
    """Whether a comment other than ``# HELP ``/``# TYPE `` is an odd-spaced HELP or TYPE, a UNIT or an
    EOF: the columnar parser's."""
    parts = comment.split(None, 2)
    return len(parts) > 1 and parts[1] in _KEYWORDS


def _said(parts: CompiledComments) -> PlainComments | None:
    """The compiled splitter's HELP and TYPE lines as ``_comments`` reads them (names already checked)."""
    mentions, help_names, help_texts, escaped, type_names, kinds, type_lines, others = parts
    helps, types = dict(zip(help_names, help_texts, strict=True)), dict(zip(type_names, kinds, strict=True))
    if len(helps) < len(help_names) or len(types) < len(type_names):
        return None  # a family's HELP or TYPE said twice
    if any(_names_keyword(text) for _, text in others):
        return None
    if escaped:
        helps = {name: unescape(text) for name, text in helps.items()}
    return PlainComments(
        dict.fromkeys(mentions), helps, types, dict(zip(type_names, type_lines, strict=True))
    )


class PlainLines(NamedTuple):
    """A plain block's lines taken apart, numbers still text: what both splitters give."""

    said: PlainComments
    samples: pl.DataFrame  # line, run, value, timestamp (value and timestamp as text)
    # sample names by runs of equal names (a histogram's buckets, one metric's series): each
    # run's name and first line; a sample's ``run`` indexes them
    run_names: list[str]
    run_lines: list[int]
    labels: pl.DataFrame  # line, label, value


def split_python(block: list[str], first: int) -> PlainLines | None:
    """Take a block's lines apart with str.partition and check them with ``_FAST``; None where one is
    not plain, or the block is over ``PLAIN_MAX_LINES``."""
    if len(block) > PLAIN_MAX_LINES:
        return None
    sample_lines: list[int] = []
    texts: list[str] = []
    runs: list[int] = []
    run_names: list[str] = []
    run_lines: list[int] = []
    values: list[str] = []
    stamps: list[str | None] = []
    block_lines: list[int] = []
    blocks: list[str] = []
    comments: list[tuple[int, str]] = []
    for line, text in enumerate(block, first):
        if not text:
            continue
        if text[0] == "#":
            comments.append((line, text))
            continue
        # taken apart before it is checked: a line of any other shape fails _FAST below
        name, brace, rest = text.partition("{")
        if brace:
            pairs, _, rest = rest.partition("}")
            rest = rest[1:]
            if pairs:
                block_lines.append(line)
                blocks.append(pairs)
        else:
            name, _, rest = text.partition(" ")
        value, space, stamp = rest.partition(" ")
        if not run_names or name != run_names[-1]:
            run_names.append(name)
            run_lines.append(line)
        sample_lines.append(line)
        texts.append(text)
        runs.append(len(run_names) - 1)
        values.append(value)
        stamps.append(stamp if space else None)
    said = _comments(comments)
    if said is None or (texts and max(map(len, texts)) * 4 > MAX_LINE_BYTES):
        return None
    if texts and not pl.Series(texts, dtype=pl.String).str.contains(_FAST).all():
        return None
    labels = _labels(block_lines, blocks)
    if labels is None:
        return None
    samples = pl.DataFrame(
        {"line": sample_lines, "run": runs, "value": values, "timestamp": stamps}, schema=_TEXT_SAMPLES
    )
    return PlainLines(said, samples, run_names, run_lines, labels)


def _strings(rows: int, offsets: bytes, data: bytes, bitmap: bytes | None = None, nulls: int = 0) -> pa.Array:
    validity = None if bitmap is None else pa.py_buffer(bitmap)
    return pa.LargeStringArray.from_buffers(rows, pa.py_buffer(offsets), pa.py_buffer(data), validity, nulls)


def _numbers(rows: int, data: bytes, kind: pa.DataType | None = None) -> pa.Array:
    return pa.Array.from_buffers(kind or pa.int64(), rows, [None, pa.py_buffer(data)])


def split_compiled(block: list[str], first: int) -> PlainLines | None:
    """``split_python``'s answer from one pass in C (``_plain_lines``), as Arrow buffers."""
    assert _split is not None
    parts = _split(block, first)
    if parts is None:
        return None
    (
        comments,
        rows,
        lines,
        (run_names, run_lines, runs),
        values,
        stamps,
        pairs,
        pair_lines,
        labels,
        label_values,
    ) = parts
    said = _said(comments)
    if said is None:
        return None
    samples = {
        "line": _numbers(rows, lines),
        "run": _numbers(rows, runs, pa.int32()),
        "value": _strings(rows, *values),
        "timestamp": _strings(rows, *stamps),
    }
    pair_table = {
        "line": _numbers(pairs, pair_lines),
        "label": _strings(pairs, *labels),
        "value": _strings(pairs, *label_values),
    }
    return PlainLines(said, pl.DataFrame(samples), run_names, run_lines, pl.DataFrame(pair_table))


# the compiled splitter where the install could build it (a C compiler), else the Python one
split_lines = split_compiled if _split is not None else split_python


def plain_chunk(block: list[str], first: int, earlier: dict[str, str] | None = None) -> PlainChunk | None:
    """A plain block of lines taken apart, or None where it is not plain.

    ``first`` is the number of the block's first line; ``earlier`` the type of every family named
    in earlier blocks, in order of first mention (their suffixed sample names are theirs here
    too). Samples are (line, name, family, value, timestamp), labels (line, label, value): the
    columnar parser's frames.
    """
    parts = split_lines(block, first)
    if parts is None:
        return None
    said = parts.said
    # a family named before keeps its place and type (unless said again), as in ExpositionParser.families
    types = dict.fromkeys(said.order, "unknown")
    if earlier:
        types = {**earlier, **{name: kind for name, kind in types.items() if name not in earlier}}
    types.update(said.types)
    families = families_of(parts.run_names, types)
    first_sample = dict(zip(reversed(families), reversed(parts.run_lines), strict=True))
    for fam, line in said.type_lines.items():
        if first_sample.get(fam, line + 1) < line:
            return None  # TYPE after its family's samples: an error the columnar parser names
    samples = _samples(parts, families)
    t = samples["timestamp"]
    if (
        samples["value"].null_count()
        or t.null_count() != parts.samples["timestamp"].null_count()
        or (t.null_count() < t.len() and not t.is_finite().all())  # most expositions have no timestamps
    ):
        return None  # a bad value or timestamp: an error the columnar parser names
    return PlainChunk(said, samples, parts.labels, set(first_sample))


SMALL_BLOCK = 1024  # samples below which a query's fixed cost outweighs a Python loop


def _samples(parts: PlainLines, families: list[str]) -> pl.DataFrame:
    """(line, name, family, value, timestamp): each sample's name and family by its run."""
    raw = parts.samples
    numbers = (raw["value"].cast(pl.Float64, strict=False), raw["timestamp"].cast(pl.Float64, strict=False))
    # a small file's block: a query costs a fifth of a millisecond, this loop a tenth of that
    if raw.height < SMALL_BLOCK:
        runs = raw["run"].to_list()
        return pl.DataFrame(
            [
                raw["line"],
                pl.Series("name", [parts.run_names[r] for r in runs], dtype=pl.String),
                pl.Series("family", [families[r] for r in runs], dtype=pl.String),
                *numbers,
            ]
        )
    run = pl.col("run")  # one query: a Series method is a query of its own, each with its fixed cost
    return raw.select(
        "line",
        pl.lit(pl.Series("name", parts.run_names, dtype=pl.String)).gather(run).alias("name"),
        pl.lit(pl.Series("family", families, dtype=pl.String)).gather(run).alias("family"),
        *numbers,
    )


def _labels(lines: list[int], blocks: list[str]) -> pl.DataFrame | None:
    """Label pairs of plain label blocks; None where a line may name a label twice."""
    frame = pl.LazyFrame({"line": lines, "block": blocks}, schema={"line": pl.Int64, "block": pl.String})
    labels = split_pairs(frame).collect()
    # equal pairs hash alike, so as many hashes as rows means no line names a label twice
    # (a rare collision only sends the block to the columnar parser, which checks exactly)
    distinct = labels.select((pl.col("line").hash() ^ pl.col("label").hash()).n_unique()).item()
    return labels if distinct == labels.height else None
