"""Small expositions in their plain shape, parsed with Python's string methods.

A node_exporter scrape is a few thousand lines; there the fifty-odd polars steps of the columnar
parser cost more than the lines do. Almost every such scrape is *plain*: ``# HELP name text``
and ``# TYPE name type`` with single spaces, sample lines with single spaces and no escapes,
quotes, braces or exemplars, no blank-only lines, no ``\r``, no OpenMetrics ``# EOF`` or
``# UNIT``, nothing wrong. ``plain_chunk`` takes such a block apart with str.partition, checks
every sample line against one regex and splits the label pairs in one polars query; it gives up
(returns ``None``) where anything is not plain, and the columnar parser — the one that names
errors — reads the block instead. Where it does answer, its frames and families are the columnar
parser's, row for row (tests/sources/test_exposition_plain.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

import polars as pl

from costscope.sources.exposition_lines import (
    _FAST,
    _NAME,
    MAX_LINE_BYTES,
    METRIC_TYPES,
    family_map,
    split_pairs,
    unescape,
)

# at most this many lines: there the columnar parser catches up (measured: lines of five labels
# break even near 10k lines, kube-apiserver's 23k lines of few labels too; at 50k it is 20 % faster)
PLAIN_MAX_LINES = 10_000
_KEYWORDS = frozenset({"HELP", "TYPE", "UNIT", "EOF"})
_NAMES = re.compile(rf"(?:{_NAME}\n)*")
_SAMPLES = {"line": pl.Int64, "name": pl.String, "family": pl.String, "value": pl.Float64,
            "timestamp": pl.Float64}  # fmt: skip


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
            parts = text.split(None, 2)
            if len(parts) > 1 and parts[1] in _KEYWORDS:
                return None  # an odd-spaced HELP/TYPE, a UNIT or an EOF: the columnar parser's
            continue
        order[name] = None
    if order and not _NAMES.fullmatch("\n".join(order) + "\n"):
        return None
    return said


def plain_chunk(block: list[str], first: int) -> PlainChunk | None:
    """A plain block of lines taken apart, or None where it is not plain.

    ``first`` is the number of the block's first line. Samples are (line, name, family, value,
    timestamp), labels (line, label, value): the columnar parser's frames.
    """
    if len(block) > PLAIN_MAX_LINES:
        return None
    sample_lines: list[int] = []
    texts: list[str] = []
    names: list[str] = []
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
        sample_lines.append(line)
        texts.append(text)
        names.append(name)
        values.append(value)
        stamps.append(stamp if space else None)
    said = _comments(comments)
    if said is None or (texts and max(map(len, texts)) * 4 > MAX_LINE_BYTES):
        return None
    if texts and not pl.Series(texts, dtype=pl.String).str.contains(_FAST).all():
        return None
    mapping = family_map({name: said.types.get(name, "unknown") for name in said.order})
    families = [mapping.get(name, name) for name in names]
    first_sample = dict(zip(reversed(families), reversed(sample_lines), strict=True))
    for fam, line in said.type_lines.items():
        if first_sample.get(fam, line + 1) < line:
            return None  # TYPE after its family's samples: an error the columnar parser names
    samples = pl.DataFrame(
        {
            "line": sample_lines,
            "name": names,
            "family": families,
            "value": pl.Series(values, dtype=pl.String).cast(pl.Float64, strict=False),
            "timestamp": pl.Series(stamps, dtype=pl.String).cast(pl.Float64, strict=False),
        },
        schema=_SAMPLES,
    )
    t = samples["timestamp"]
    if samples["value"].null_count() or t.null_count() != stamps.count(None) or not t.is_finite().all():
        return None  # a bad value or timestamp: an error the columnar parser names
    labels = _labels(block_lines, blocks)
    if labels is None:
        return None
    return PlainChunk(said, samples, labels, set(first_sample))


def _labels(lines: list[int], blocks: list[str]) -> pl.DataFrame | None:
    """Label pairs of plain label blocks; None where a line may name a label twice."""
    frame = pl.LazyFrame({"line": lines, "block": blocks}, schema={"line": pl.Int64, "block": pl.String})
    labels = split_pairs(frame).collect()
    # equal pairs hash alike, so as many hashes as rows means no line names a label twice
    # (a rare collision only sends the block to the columnar parser, which checks exactly)
    distinct = labels.select((pl.col("line").hash() ^ pl.col("label").hash()).n_unique()).item()
    return labels if distinct == labels.height else None
