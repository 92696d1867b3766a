"""Log template mining: which log statement each line came from, with one default configuration.

Two stages, so that Python only ever sees *distinct* shapes of lines:

1. **Masking, in polars (Rust regex), per chunk of lines.** Every token that holds a digit (numbers,
   ids, IPs, hex, timestamps, versions, paths and URLs with ids) becomes ``<*>``, split at the
   usual key/value punctuation first so that ``size=123`` keeps ``size=``; quoted strings, e-mail
   addresses and UUIDs too. Runs of ``<*>`` collapse into one (a variable may hold spaces). The
   masked lines are de-duplicated with their counts: a log of millions of lines has thousands of
   shapes.
2. **Clustering of the shapes** (Drain-family): shapes with the same number of tokens and the
   same leading constant tokens are candidates; a shape joins the most similar template when at
   least ``SIMILARITY`` of the positions agree, and the differing positions become ``<*>``.
   Positions holding a token seen with many different values in a template are variables.

Deterministic (the same lines in the same order give the same ids), streaming (state is the
templates and a bounded cache of shapes), and the same configuration for every input: no
per-dataset regexes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import polars as pl

WILDCARD = "<*>"
MIN_VALUES = 4  # distinct values at one position that make it a variable
MAX_SHAPES = 500_000  # distinct masked shapes remembered (bounded memory)
OVERFLOW_SHAPE = "<overflow: more distinct line shapes than costscope keeps>"
CHUNK_LINES = 100_000
_DELIMS = r"\s=:,()\[\]{}\"';|@"
_RUNS = re.compile(r"<\*>(?:[\s:,./-]*<\*>)+")
# masks applied in order; each pattern is Rust regex syntax
_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
_DAYS = "Mon|Tue|Wed|Thu|Fri|Sat|Sun"
_ZONES = "UTC|GMT|[ECMP][SD]T|CES?T"
_UNITS = "bytes?|[KMGT]i?B|ms|us|ns|s|secs?|seconds?|mins?|minutes?|hours?|%"
_MASKS = (
    (r"(\.{3,})", " $1 "),  # dot leaders (``store operation......0x1``) separate words from values
    (r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b", "<*>"),
    (r"[\w.+-]+@[\w-]+\.[\w.-]+", "<*>"),  # e-mail addresses
    (r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"']+", "<*>"),  # URLs
    (r"[\w-]+(?:\.[\w-]+)+:\d+", "<*>"),  # host:port
    (r"(^|[\s(\"'=\[])(?:[\w.-]*/)+[^\s\"')\]]*", "${1}<*>"),  # paths, URL paths with query strings
    (rf"\b(?:{_DAYS}|{_MONTHS}|{_ZONES})\b", "<*>"),  # dates spelled out
    (rf"[^{_DELIMS}]*[0-9][^{_DELIMS}]*", "<*>"),  # any token holding a digit
    (r"\(\)|\[\]|\{\}|\"\"|''", "(<*>)"),  # an empty value is a value
    (rf"<\*>\s*(?:{_UNITS})\b", "<*>"),  # a quantity's unit belongs to it
    (r"\b\w+\(<\*>\)", "<*>"),  # a value wrapped in a word: LOCAL(0)
    (r"<\*>(?:[\s:,./()-]*<\*>\)?)+", "<*>"),  # a run of variables is one variable
)


def mask_expr(column: str = "line") -> pl.Expr:
    """The polars expression that masks the variables of ``column``."""
    expr = pl.col(column).str.strip_chars()
    for pattern, repl in _MASKS:
        expr = expr.str.replace_all(pattern, repl)
    return expr


_TOKEN = re.compile(r"<\*>|[^\s=:,()\[\]{}]+|[=:,()\[\]{}]")


def _tokens(shape: str) -> list[re.Match[str]]:
    return list(_TOKEN.finditer(shape))


class TemplateMiner:
    """Streaming template miner: feed chunks of lines; templates are settled by ``finalize``.

    Shapes (masked lines) are remembered with their counts. Among shapes with the same number of
    tokens, a position is a variable when at least ``MIN_VALUES`` shapes agree everywhere else and
    differ there (or one of them already holds ``<*>`` there): enumerations with few values
    (``VM Started``/``VM Paused``) stay apart, user names and keys merge. Repeated until stable.
    """

    def __init__(self, min_values: int = MIN_VALUES) -> None:
        self.min_values = min_values
        self._shape_ids: dict[str, int] = {}
        self.shapes: list[str] = []
        self.counts: list[int] = []

    def add_shapes(self, shapes: Iterable[str], counts: Iterable[int] | None = None) -> list[int]:
        """Shape ids of masked ``shapes`` (new shapes are remembered)."""
        out = []
        counts_iter = iter(counts) if counts is not None else None
        for shape in shapes:
            n = next(counts_iter) if counts_iter is not None else 1
            sid = self._shape_ids.get(shape)
            if sid is None:
                if len(self.shapes) >= MAX_SHAPES:
                    shape = OVERFLOW_SHAPE  # bounded memory: the rest share one bucket
                    sid = self._shape_ids.get(shape)
                if sid is None:
                    sid = len(self.shapes)
                    self._shape_ids[shape] = sid
                    self.shapes.append(shape)
                    self.counts.append(0)
            self.counts[sid] += n
            out.append(sid)
        return out

    def add_lines(self, lines: pl.Series | list[str]) -> pl.Series:
        """Mask one chunk of lines and remember its shapes → the shape id of each line, in order."""
        frame = pl.DataFrame({"line": pl.Series("line", lines, dtype=pl.String)}).with_columns(
            shape=mask_expr("line")
        )
        uniq = frame.group_by("shape", maintain_order=True).len()
        ids = pl.DataFrame(
            {
                "shape": uniq["shape"],
                "shape_id": self.add_shapes(uniq["shape"].to_list(), uniq["len"].to_list()),
            },
            schema={"shape": pl.String, "shape_id": pl.Int64},
        )
        return frame.join(ids, on="shape", how="left", maintain_order="left")["shape_id"]

    def finalize(self) -> tuple[list[int], list[str]]:
        """(template id per shape id, template texts): the templates of everything seen so far."""
        by_length: dict[int, list[int]] = {}
        toks = [_tokens(s) for s in self.shapes]
        for sid, t in enumerate(toks):
            by_length.setdefault(len(t), []).append(sid)
        generalized: list[tuple[str, ...]] = [tuple(m.group() for m in t) for t in toks]
        for length in sorted(by_length):
            self._generalize(by_length[length], generalized, length)
        template_of: dict[tuple[int, tuple[str, ...]], int] = {}
        texts: list[str] = []
        ids = []
        for sid, g in enumerate(generalized):
            key = (len(g), g)
            tid = template_of.get(key)
            if tid is None:
                tid = template_of[key] = len(texts)
                texts.append(_render(self.shapes[sid], toks[sid], g))
            ids.append(tid)
        return ids, texts

    def _needed(self, key: tuple[str, ...], i: int) -> int:
        """Distinct values that make position ``i`` a variable, given the tokens around it."""
        if i == 0:
            return self.min_values * 2  # a first word is rarely a value
        if key[i - 1] == "=":
            return 2  # what follows "=" nearly always is
        return self.min_values

    def _generalize(self, sids: list[int], generalized: list[tuple[str, ...]], length: int) -> None:
        changed = True
        while changed:
            changed = False
            current = {generalized[s] for s in sids}
            for i in range(length):
                buckets: dict[tuple[str, ...], set[str]] = {}
                for t in current:
                    buckets.setdefault(t[:i] + t[i + 1 :], set()).add(t[i])
                merge = {
                    k
                    for k, values in buckets.items()
                    if (len(values) >= self._needed(k, i) or (WILDCARD in values and len(values) > 1))
                    and _has_constant(k)
                }
                if not merge:
                    continue
                changed = True
                for s in sids:
                    t = generalized[s]
                    if t[i] != WILDCARD and t[:i] + t[i + 1 :] in merge:
                        generalized[s] = (*t[:i], WILDCARD, *t[i + 1 :])
                current = {generalized[s] for s in sids}


def _has_constant(tokens: tuple[str, ...]) -> bool:
    """Whether a template keeps a word: one made of wildcards and punctuation says nothing."""
    return any(t != WILDCARD and any(c.isalpha() for c in t) for t in tokens)


def _render(shape: str, tokens: list[re.Match[str]], generalized: tuple[str, ...]) -> str:
    out, last = [], 0
    for m, g in zip(tokens, generalized, strict=True):
        out.append(shape[last : m.start()])
        out.append(g)
        last = m.end()
    out.append(shape[last:])
    return _RUNS.sub(WILDCARD, "".join(out))


def _chunks(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def mine_templates(lines: Iterable[str] | pl.Series, *, chunk_lines: int = CHUNK_LINES) -> pl.DataFrame:
    """One row per input line: ``line_no``, ``template_id`` and the ``template`` text."""
    miner = TemplateMiner()
    parts = []
    source = lines.to_list() if isinstance(lines, pl.Series) else lines
    for chunk in _chunks(source, chunk_lines):
        parts.append(miner.add_lines(chunk))
    shape_ids = pl.concat(parts) if parts else pl.Series("shape_id", [], dtype=pl.Int64)
    template_ids, texts = miner.finalize()
    mapping = pl.DataFrame(
        {"shape_id": list(range(len(template_ids))), "template_id": template_ids},
        schema={"shape_id": pl.Int64, "template_id": pl.Int64},
    )
    names = pl.DataFrame({"template_id": list(range(len(texts))), "template": texts},
                         schema={"template_id": pl.Int64, "template": pl.String})  # fmt: skip
    return (
        shape_ids.to_frame("shape_id")
        .with_row_index("line_no")
        .join(mapping, on="shape_id", how="left", maintain_order="left")
        .join(names, on="template_id", how="left", maintain_order="left")
        .select(pl.col("line_no").cast(pl.Int64), "template_id", "template")
    )
