"""Prometheus text format and OpenMetrics: a fast, strict-by-default parser.

One compiled regular expression takes a whole sample line (name, labels, value, timestamp,
exemplar); a second splits the label block into pairs. Lines the fast path rejects go through
a careful path that says exactly what is wrong. Where this parser is laxer than the spec:
it accepts blank lines and spaces around ``=`` and ``,`` in both formats, a trailing comma in
a label block, and any escape after a backslash (kept as written), like Prometheus' own
text parser; it does not check that counters are non-negative or that histogram buckets
are cumulative, which costs nothing to store and is not our business.

Malformed input raises ``ParseError`` with the file, line number and offending text; with
``lenient=True`` the bad line is skipped and counted instead (``ExpositionParser.skipped``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from costscope.errors import ParseError

METRIC_TYPES = frozenset(
    {
        "counter",
        "gauge",
        "histogram",
        "gaugehistogram",
        "summary",
        "info",
        "stateset",
        "unknown",
        "untyped",
    }
)
# sample-name suffixes that belong to a family of the given types
_SUFFIXES: dict[str, tuple[str, ...]] = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
    "summary": ("_sum", "_count", "_created"),
    "info": ("_info",),
}
MAX_LINE_BYTES = 1 << 20  # a 1 MiB line is a broken or hostile exposition, not a metric

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
_QVAL = r'"(?:[^"\\\n]|\\.)*"'
_PAIRS = (
    rf"(?:[ \t]*{_LABEL}[ \t]*=[ \t]*{_QVAL}[ \t]*,)*(?:[ \t]*{_LABEL}[ \t]*=[ \t]*{_QVAL})?[ \t]*"
)
_LINE = re.compile(
    rf"({_NAME})[ \t]*(?:\{{({_PAIRS})\}})?[ \t]+([^ \t#]+)(?:[ \t]+([^ \t#]+))?[ \t]*(#.*)?"
)
_PAIR = re.compile(rf'({_LABEL})[ \t]*=[ \t]*"((?:[^"\\\n]|\\.)*)"')
_EXEMPLAR = re.compile(rf"#[ \t]*\{{{_PAIRS}\}}[ \t]+([^ \t]+)(?:[ \t]+([^ \t]+))?[ \t]*")
_ESCAPE = re.compile(r"\\(.)")
_UNESCAPE = {"n": "\n", "\\": "\\", '"': '"'}


def _unescape(value: str) -> str:
    if "\\" not in value:
        return value
    return _ESCAPE.sub(lambda m: _UNESCAPE.get(m.group(1), m.group(0)), value)


def _number(text: str) -> float | None:
    """A Prometheus float (Go's ParseFloat): Python's float() minus its digit separators."""
    if "_" in text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _valid_exemplar(text: str) -> bool:
    m = _EXEMPLAR.fullmatch(text)
    if m is None:
        return False
    value, ts = m.groups()
    return _number(value) is not None and (ts is None or _number(ts) is not None)


class Sample(NamedTuple):
    """One sample line: its name, metric family, labels (without __name__), value, timestamp."""

    name: str
    family: str
    labels: tuple[tuple[str, str], ...]
    value: float
    timestamp: float | None


@dataclass
class Family:
    """What ``# TYPE``, ``# HELP`` and ``# UNIT`` said about a metric family."""

    name: str
    type: str = "unknown"
    help: str | None = None
    unit: str | None = None


class ExpositionParser:
    """Parses one exposition (file or scrape) line by line; keeps families and skip counts."""

    def __init__(self, file: str = "<exposition>", *, lenient: bool = False) -> None:
        self.file = file
        self.lenient = lenient
        self.families: dict[str, Family] = {}
        self.skipped = 0
        self.first_error: ParseError | None = None
        self.openmetrics = False
        self._eof = False
        self._seen_samples: set[str] = set()  # families that already had samples

    def _fail(self, lineno: int, message: str, text: str) -> None:
        error = ParseError(message, file=self.file, line=lineno, text=text)
        if not self.lenient:
            raise error
        self.skipped += 1
        if self.first_error is None:
            self.first_error = error

    def family_of(self, name: str) -> str:
        """The family a sample name belongs to (``x_bucket`` → ``x`` when x is a histogram)."""
        fams = self.families
        if name in fams and fams[name].type not in _SUFFIXES:
            return name
        for suffix in (
            "_bucket",
            "_sum",
            "_count",
            "_total",
            "_created",
            "_gsum",
            "_gcount",
            "_info",
        ):
            if name.endswith(suffix):
                base = name[: -len(suffix)]
                fam = fams.get(base)
                if fam is not None and suffix in _SUFFIXES.get(fam.type, ()):
                    return base
        return name

    def parse(self, lines: Iterable[str]) -> Iterator[Sample]:
        """Yield every sample of ``lines`` (with or without line endings)."""
        line_re, pair_re, unescape = _LINE.fullmatch, _PAIR.findall, _unescape
        family_of = self.family_of
        seen = self._seen_samples
        for lineno, raw in enumerate(lines, 1):
            line = raw.rstrip("\r\n")
            if not line or line.isspace():
                continue
            if self._eof:
                self._fail(lineno, "content after # EOF", line)
                continue
            if line[0] == "#":
                self._comment(lineno, line)
                continue
            if len(line) > MAX_LINE_BYTES:
                self._fail(lineno, f"line longer than {MAX_LINE_BYTES} bytes", line)
                continue
            m = line_re(line)
            if m is None:
                self._fail(lineno, self._explain(line), line)
                continue
            name, block, value_text, ts_text, exemplar = m.groups()
            value = _number(value_text)
            if value is None:
                self._fail(lineno, f"invalid sample value {value_text!r}", line)
                continue
            timestamp = None
            if ts_text is not None:
                timestamp = _number(ts_text)
                if timestamp is None or math.isnan(timestamp) or math.isinf(timestamp):
                    self._fail(lineno, f"invalid timestamp {ts_text!r}", line)
                    continue
            if exemplar is not None and not _valid_exemplar(exemplar):
                self._fail(lineno, "invalid exemplar", line)
                continue
            if block:
                pairs = pair_re(block)
                labels = tuple((k, unescape(v)) for k, v in pairs)
                if len(labels) > 1 and len({k for k, _ in labels}) != len(labels):
                    self._fail(lineno, "duplicate label name", line)
                    continue
            else:
                labels = ()
            family = family_of(name)
            seen.add(family)
            yield Sample(name, family, labels, value, timestamp)

    def _comment(self, lineno: int, line: str) -> None:
        parts = line.split(None, 3)
        keyword = parts[1] if len(parts) > 1 else ""
        if keyword == "EOF" and len(parts) == 2:
            self._eof = True
            self.openmetrics = True
            return
        if keyword not in ("HELP", "TYPE", "UNIT"):
            return  # a free comment
        if len(parts) < 3 or not re.fullmatch(_NAME, parts[2]):
            self._fail(lineno, f"# {keyword} needs a valid metric name", line)
            return
        name = parts[2]
        rest = parts[3] if len(parts) > 3 else ""
        fam = self.families.get(name)
        if fam is None:
            fam = self.families[name] = Family(name)
        if keyword == "HELP":
            fam.help = _unescape(rest)
        elif keyword == "UNIT":
            self.openmetrics = True
            fam.unit = rest
        else:
            kind = rest.strip()
            if kind not in METRIC_TYPES:
                self._fail(lineno, f"unknown metric type {kind!r}", line)
            elif fam.type != "unknown" and fam.type != kind:
                self._fail(lineno, f"second # TYPE for {name}", line)
            elif name in self._seen_samples:
                self._fail(lineno, f"# TYPE for {name} after its samples", line)
            else:
                fam.type = "unknown" if kind == "untyped" else kind

    @staticmethod
    def _explain(line: str) -> str:
        """Say why a sample line failed the fast path."""
        m = re.match(_NAME, line)
        if line.startswith("{"):
            return "quoted (UTF-8) metric names are not supported"
        if not m:
            return "invalid metric name"
        rest = line[m.end() :].lstrip(" \t")
        if not rest:
            return "missing sample value"
        if rest.startswith("{"):
            close = _scan_labels(rest)
            if close is None:
                return "invalid label block"
            rest = rest[close + 1 :]
            if not rest.strip():
                return "missing sample value"
            if rest[0] not in " \t":
                return "missing space before the sample value"
        elif rest is line[m.end() :]:
            return "invalid character in metric name"
        fields = rest.split()
        if len(fields) > 2 and not fields[2].startswith("#"):
            return "unexpected text after the timestamp"
        return "invalid sample line"


def _scan_labels(text: str) -> int | None:
    """Index of the ``}`` closing a well-formed label block starting at ``text[0]``, else None."""
    m = re.match(rf"\{{{_PAIRS}\}}", text)
    return m.end() - 1 if m else None


def parse_text(text: str, file: str = "<exposition>", *, lenient: bool = False) -> list[Sample]:
    """Every sample in an exposition given as one string (small inputs and tests)."""
    return list(ExpositionParser(file, lenient=lenient).parse(text.split("\n")))
