"""Prometheus text format and OpenMetrics: a fast, strict-by-default, columnar parser.

Lines are parsed in chunks, as polars columns: one Rust regular expression takes every sample
line apart (name, label block, value, timestamp, exemplar), a second splits label blocks into
pairs, and values are parsed by polars with Go's ``ParseFloat`` rules. Only comment lines
(``# TYPE``/``# HELP``/``# UNIT``/``# EOF``, a few per family), escaped label values and bad
lines are handled in Python. The output is two frames per chunk — samples and their label
pairs — which is also the shape the store writes, so no per-sample Python object is made.

In the text format it is as lax as Prometheus' own parser (blank lines, blanks before a token,
spaces around ``=`` and ``,``, a trailing comma; unknown escapes kept as written); an exposition
that says it is OpenMetrics is held to that grammar. It never judges values (negative counters,
non-cumulative buckets): costscope counts series. What is accepted, and why: docs/exposition.md.
The line grammar itself is ``exposition_lines``.

Malformed input raises ``ParseError`` naming the file, the line and the offending text; with
``lenient=True`` bad lines are skipped and counted instead (``ExpositionParser.skipped``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import NamedTuple

import polars as pl

from costscope.errors import ParseError
from costscope.sources.exposition_lines import (
    _FAST,
    _NAME_RE,
    _OM_COMMENT,
    MAX_LINE_BYTES,
    METRIC_TYPES,
    SUFFIXES,
    _fast,
    _openmetrics_lines,
    _slow,
    family_map,
    unescape,
)
from costscope.sources.exposition_plain import PlainChunk, plain_chunk

CHUNK_LINES = 200_000


class Sample(NamedTuple):
    """One sample line: its name, metric family, labels (without __name__), value, timestamp."""

    name: str
    family: str
    labels: tuple[tuple[str, str], ...]
    value: float
    timestamp: float | None


@dataclass(slots=True)
class Family:
    """What ``# TYPE``, ``# HELP`` and ``# UNIT`` said about a metric family."""

    name: str
    type: str = "unknown"
    help: str | None = None
    unit: str | None = None


class Chunk(NamedTuple):
    """Parsed sample lines: ``samples`` (line, name, family, value, timestamp) and ``labels``
    (line, label, value), joined on the line number."""

    samples: pl.DataFrame
    labels: pl.DataFrame


class ExpositionParser:
    """Parses one exposition (file or scrape) chunk by chunk; keeps families and skip counts."""

    def __init__(
        self, file: str = "<exposition>", *, lenient: bool = False, openmetrics: bool = False
    ) -> None:
        self.file = file
        self.lenient = lenient
        self.strict_om = openmetrics  # the input says it is OpenMetrics: hold it to that grammar
        self.families: dict[str, Family] = {}
        self.skipped = 0
        self.first_error: ParseError | None = None
        self.openmetrics = openmetrics
        self._eof_line: int | None = None
        self._seen: set[str] = set()  # families that already had samples in earlier chunks
        # strict OpenMetrics never takes the plain path; an input with a block that is not plain
        # stops trying it (an attempt refused late in a block costs up to a third more)
        self._try_plain = not openmetrics
        # the families each keyword (HELP, TYPE, UNIT) was read for
        self._said: dict[str, set[str]] = {"HELP": set(), "TYPE": set(), "UNIT": set()}
        # the text format's departures that Prometheus scrapes anyway (a family's HELP or TYPE said
        # twice, a TYPE after its samples): read as Prometheus reads them, and counted here
        self.tolerated = 0
        self.first_tolerated: ParseError | None = None

    # --- errors ---------------------------------------------------------------------------

    def _error(self, line: int, message: str, text: str) -> ParseError:
        return ParseError(message, file=self.file, line=line, text=text)

    def _settle(self, errors: list[tuple[int, str, str]]) -> set[int]:
        """Raise the first error (strict) or count them all (lenient); returns bad line numbers."""
        if not errors:
            return set()
        errors.sort(key=lambda e: e[0])
        if not self.lenient:
            raise self._error(*errors[0])
        bad = {e[0] for e in errors}
        self.skipped += len(bad)
        if self.first_error is None:
            self.first_error = self._error(*errors[0])
        return bad

    def _tolerate(self, line: int, message: str, text: str) -> None:
        self.tolerated += 1
        if self.first_tolerated is None or line < (self.first_tolerated.line or 0):
            self.first_tolerated = self._error(line, message, text)

    # --- parsing --------------------------------------------------------------------------

    def chunks(self, lines: Iterable[str], chunk_lines: int = CHUNK_LINES) -> Iterator[Chunk]:
        """Parse ``lines`` (with or without line endings) in chunks of ``chunk_lines``."""
        it = iter(lines)
        return self.blocks(iter(lambda: list(islice(it, chunk_lines)), []))

    def blocks(self, blocks: Iterable[list[str]]) -> Iterator[Chunk]:
        """Parse blocks of consecutive lines (e.g. from ``line_blocks``), a chunk per block."""
        first = 1
        for block in blocks:
            if block:
                yield self._chunk(block, first)
                first += len(block)
        if self.strict_om and self._eof_line is None:
            self._settle([(max(first - 1, 1), "OpenMetrics must end with # EOF", "")])

    def parse(self, lines: Iterable[str]) -> Iterator[Sample]:
        """Yield every sample as a ``Sample`` (convenient, slower: for tests and small inputs)."""
        for chunk in self.chunks(lines):
            pairs: dict[int, list[tuple[str, str]]] = {}
            for line, label, value in chunk.labels.iter_rows():
                pairs.setdefault(line, []).append((label, value))
            for line, name, family, value, ts in chunk.samples.iter_rows():
                yield Sample(name, family, tuple(pairs.get(line, ())), value, ts)

    def _chunk(self, block: list[str], first: int) -> Chunk:
        if self._try_plain and self._eof_line is None:
            earlier = {name: fam.type for name, fam in self.families.items()}
            plain = plain_chunk(block, first, earlier)
            if plain is not None and self._fits(plain):
                return self._plain(plain)
            self._try_plain = False
        df = (
            pl.DataFrame({"text": block}, schema={"text": pl.String})
            .with_row_index("line", offset=first)
            .with_columns(pl.col("line").cast(pl.Int64), pl.col("text").str.strip_chars_end("\r\n"))
        )
        errors: list[tuple[int, str, str]] = []
        if self.strict_om:
            _openmetrics_lines(df.with_columns(blank=pl.Series(block).str.contains(r"^\r?\n?$")), errors)
        # blanks before a token are allowed in the text format, like Prometheus' own parser
        df = df.with_columns(pl.col("text").str.strip_chars_start(" \t")).filter(
            pl.col("text").str.strip_chars_end(" \t") != ""
        )
        is_comment = pl.col("text").str.starts_with("#")
        type_lines: dict[str, int] = {}
        self._om_meta: dict[str, int] = {}  # OpenMetrics: HELP/UNIT lines, which must precede samples too
        comments = df.filter(is_comment)
        for line, text in zip(comments["line"].to_list(), comments["text"].to_list(), strict=True):
            self._comment(line, text, errors, type_lines)
        rows = df.filter(~is_comment)
        if self._eof_line is not None:
            for line, text in rows.filter(pl.col("line") > self._eof_line).head(10_000).iter_rows():
                errors.append((line, "content after # EOF", text))
        rows = rows.with_columns(
            fast=pl.col("text").str.contains(_FAST) & (pl.col("text").str.len_bytes() <= MAX_LINE_BYTES)
        )
        fast_samples, fast_labels = _fast(rows.filter("fast"))
        slow_rows = rows.filter(~pl.col("fast"))
        exemplars = pl.DataFrame(schema={"line": pl.Int64, "text": pl.String, "name": pl.String})
        if slow_rows.height:  # the careful path costs a dozen steps: only when there is a line for it
            slow_samples, slow_labels, exemplars = _slow(slow_rows, errors)
            parsed, labels = pl.concat([fast_samples, slow_samples]), pl.concat([fast_labels, slow_labels])
        else:
            slow_samples, parsed, labels = slow_rows, fast_samples, fast_labels
        bad_values = pl.col("v").is_null() | (
            pl.col("ts").is_not_null() & (pl.col("t").is_null() | ~pl.col("t").is_finite())
        )
        for line, text, value, ts, v in (
            parsed.filter(bad_values).select("line", "text", "value", "ts", "v").iter_rows()
        ):
            if v is None:
                errors.append((line, f"invalid sample value {value!r}", text))
            else:
                errors.append((line, f"invalid timestamp {ts!r}", text))
        dup = (
            labels.group_by("line")
            .agg(n=pl.len(), u=pl.col("label").n_unique())
            .filter(pl.col("n") != pl.col("u"))
        )
        if dup.height:
            texts = dict(
                parsed.filter(pl.col("line").is_in(dup["line"].implode())).select("line", "text").iter_rows()
            )
            errors.extend((line, "duplicate label name", texts[line]) for line in dup["line"])
        samples = parsed.select(
            "line",
            "name",
            self._family_expr().alias("family"),
            pl.col("v").alias("value"),
            pl.col("t").alias("timestamp"),
        )
        if slow_samples.height:
            samples = samples.sort("line")
        self._type_after_samples(samples, type_lines, errors)
        self._type_after_samples(samples, self._om_meta, errors, "HELP or UNIT")
        if self.strict_om:
            self._exemplars(exemplars, samples, errors)
        bad = self._settle(errors)
        if bad:
            keep = ~pl.col("line").is_in(list(bad))
            samples, labels = samples.filter(keep), labels.filter(keep)
        self._seen.update(samples["family"].unique().to_list())
        return Chunk(samples, labels)

    def _fits(self, plain: PlainChunk) -> bool:
        """Whether a plain block agrees with the blocks before it: no family's HELP or TYPE said
        again, no TYPE after samples of an earlier block (the columnar parser refuses these in
        OpenMetrics and counts them in the text format)."""
        said, types = self._said, plain.said.types
        return (
            self._seen.isdisjoint(types)
            and said["HELP"].isdisjoint(plain.said.helps)
            and said["TYPE"].isdisjoint(types)
        )

    def _plain(self, plain: PlainChunk) -> Chunk:
        """Take up a plain block's families (``exposition_plain``) as ``_comment`` would."""
        helps, types, families = plain.said.helps, plain.said.types, self.families
        if not families:  # the first block (most often the only one): every family is new
            families.update(
                {name: Family(name, types.get(name, "unknown"), helps.get(name)) for name in plain.said.order}
            )
        else:
            for name in plain.said.order:
                fam = families.get(name)
                if fam is None:
                    families[name] = Family(name, types.get(name, "unknown"), helps.get(name))
                    continue
                if name in types:
                    fam.type = types[name]
                if name in helps:
                    fam.help = helps[name]
        self._said["HELP"].update(helps)
        self._said["TYPE"].update(types)
        self._seen.update(plain.families)
        return Chunk(plain.samples, plain.labels)

    def _family_expr(self) -> pl.Expr:
        mapping = family_map({fam.name: fam.type for fam in self.families.values()})
        if not mapping:
            return pl.col("name")
        return pl.col("name").replace_strict(mapping, default=pl.col("name"), return_dtype=pl.String)

    def _exemplars(
        self, lines: pl.DataFrame, samples: pl.DataFrame, errors: list[tuple[int, str, str]]
    ) -> None:
        """Exemplars only where OpenMetrics allows them: counters' _total, histograms' _bucket."""
        if not lines.height:
            return
        family = dict(
            samples.filter(pl.col("line").is_in(lines["line"].implode())).select("line", "family").iter_rows()
        )
        for line, text, name in lines.iter_rows():
            fam = self.families.get(family.get(line, name))
            kind = fam.type if fam else "unknown"
            if not (
                (kind == "counter" and name.endswith("_total"))
                or (kind in ("histogram", "gaugehistogram") and name.endswith("_bucket"))
            ):
                errors.append(
                    (line, f"exemplar on a {kind} sample {name} (only counters' _total and buckets)", text)
                )

    def _clash(self, name: str, kind: str) -> str | None:
        """Another family whose sample names ``name`` (a family of ``kind``) would share."""
        mine = {name, *(name + suffix for suffix in SUFFIXES.get(kind, ()))}
        for other in self.families.values():
            if other.name == name:
                continue
            theirs = {other.name, *(other.name + suffix for suffix in SUFFIXES.get(other.type, ()))}
            if mine & theirs:
                return other.name
        return None

    def _type_after_samples(
        self,
        samples: pl.DataFrame,
        type_lines: dict[str, int],
        errors: list[tuple[int, str, str]],
        keyword: str = "TYPE",
    ) -> None:
        if not type_lines:
            return
        first = dict(
            samples.filter(pl.col("family").is_in(list(type_lines)))
            .group_by("family")
            .agg(pl.col("line").min())
            .iter_rows()
        )
        for fam, line in type_lines.items():
            if fam in self._seen or first.get(fam, line + 1) < line:
                error = (line, f"# {keyword} for {fam} after its samples", f"# {keyword} {fam} ...")
                if self.strict_om:
                    errors.append(error)
                else:
                    self._tolerate(*error)

    def _comment(
        self, line: int, text: str, errors: list[tuple[int, str, str]], type_lines: dict[str, int]
    ) -> None:
        parts = text.split(None, 3)
        keyword = parts[1] if len(parts) > 1 else ""
        if self._eof_line is not None:
            errors.append((line, "content after # EOF", text))
            return
        if keyword == "EOF" and len(parts) == 2:
            self._eof_line = line
            self.openmetrics = True
            return
        if self.strict_om and not _OM_COMMENT.fullmatch(text):
            errors.append((line, "not an OpenMetrics HELP, TYPE, UNIT or EOF line", text))
            return
        if keyword not in ("HELP", "TYPE", "UNIT"):
            return  # a free comment
        if len(parts) < 3 or not _NAME_RE.fullmatch(parts[2]):
            errors.append((line, f"# {keyword} needs a valid metric name", text))
            return
        name = parts[2]
        rest = parts[3] if len(parts) > 3 else ""
        if name in self._said[keyword]:
            # a family split in two: OpenMetrics (and promtool) refuse it; Prometheus scrapes it,
            # the last HELP and TYPE winning, so a text-format exposition is read the same way
            if self.strict_om:
                errors.append((line, f"second # {keyword} for {name}", text))
                return
            self._tolerate(line, f"second # {keyword} for {name}", text)
        self._said[keyword].add(name)
        if self.strict_om and keyword != "TYPE":
            self._om_meta[name] = line
        fam = self.families.get(name)
        if fam is None:
            fam = self.families[name] = Family(name)
        if keyword == "HELP":
            fam.help = unescape(rest)
        elif keyword == "UNIT":
            self.openmetrics = True
            fam.unit = rest
            if (
                self.strict_om
                and rest
                and (not name.endswith("_" + rest) or fam.type in ("info", "stateset"))
            ):
                errors.append(
                    (
                        line,
                        f"unit {rest!r} does not fit {name} (a suffix of the name; no info or stateset)",
                        text,
                    )
                )
        else:
            kind = rest.strip()
            if kind not in METRIC_TYPES or (self.strict_om and kind == "untyped"):
                errors.append((line, f"unknown metric type {kind!r}", text))
            elif self.strict_om and (clash := self._clash(name, kind)):
                errors.append((line, f"{name} clashes with the samples of {clash}", text))
            else:
                fam.type = "unknown" if kind == "untyped" else kind
                # a second TYPE: the samples that came early are those before the first
                type_lines.setdefault(name, line)


def parse_text(text: str, file: str = "<exposition>", *, lenient: bool = False) -> list[Sample]:
    """Every sample in an exposition given as one string (small inputs and tests)."""
    lines = [line + "\n" for line in text.split("\n")]  # only \n ends a line (not str.splitlines' set)
    lines[-1] = lines[-1][:-1]
    return list(ExpositionParser(file, lenient=lenient).parse(lines if lines[-1] else lines[:-1]))
