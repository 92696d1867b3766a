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
FIRST_WORD_VALUES = 32  # ... at the first position, which names the statement
MAX_SHAPES = 500_000  # distinct masked shapes remembered (bounded memory)
OVERFLOW_SHAPE = "<overflow: more distinct line shapes than costscope keeps>"
CHUNK_LINES = 100_000
_DELIMS = r"\s=:,()\[\]{}\"';|@"
_RUNS = re.compile(r"<\*>(?:[\s:,./-]*<\*>)+")
_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
_DAYS = "Mon|Tue|Wed|Thu|Fri|Sat|Sun"
_ZONES = "UTC|GMT|[ECMP][SD]T|CES?T"
_UNITS = "bytes?|[KMGT]i?B|ms|us|ns|s|secs?|seconds?|mins?|minutes?|hours?|%"
# a quoted string is one value (user input, a name), even of several words; not a JSON key (followed
# by ":"), and not a quoted structure such as an access log's request line ("GET /path HTTP/1.1")
_QUOTED = (
    r"""(^|[\s=:(\[,])"(?:[^"\\/]|\\.)+"([\s,.;)\]}]|$)""",
    r"""(^|[\s=:(\[,])'[^'\s/][^'/]*'([\s,.;:)\]}]|$)""",
)
# masks applied in order: (Rust regex, replacement, what the mask cannot match without). Where a
# chunk of lines holds none of the third, the regex pass is left out; none of those strings is
# written by an earlier mask, so the original lines tell. (Masks that need only what nearly every
# log holds — a dash, a dot — are not worth the look.)
_MASKS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (_QUOTED[0], '${1}"<*>"${2}', ('"',)),
    (_QUOTED[1], "${1}'<*>'${2}", ("'",)),
    (r"(\.{3,})", " $1 ", ("...",)),  # dot leaders (``store operation......0x1``) separate words from values
    (r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b", "<*>", ()),
    (r"[\w.+-]+@[\w-]+\.[\w.-]+", "<*>", ("@",)),  # e-mail addresses
    (r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"']+", "<*>", ("://",)),  # URLs
    (r"[\w-]+(?:\.[\w-]+)+:\d+", "<*>", ()),  # host:port
    (r"(^|[\s(\"'=\[])(?:[\w.-]*/)+[^\s\"')\]]*", "${1}<*>", ("/",)),  # paths, URL paths with query strings
    (rf"\b(?:{_DAYS}|{_MONTHS}|{_ZONES})\b", "<*>", ()),  # dates spelled out
    (rf"[^{_DELIMS}]*[0-9][^{_DELIMS}]*", "<*>", ()),  # any token holding a digit
    (r"\(\)|\[\]|\{\}|\"\"|''", "(<*>)", ()),  # an empty value is a value
    (rf"<\*>\s*(?:{_UNITS})\b", "<*>", ()),  # a quantity's unit belongs to it
    (r"\b\w+\(<\*>\)", "<*>", ()),  # a value wrapped in a word: LOCAL(0)
    (r"<\*>(?:[\s:,./()-]*<\*>\)?)+", "<*>", ()),  # a run of variables is one variable
)
_NEEDED = sorted({n for _, _, needs in _MASKS for n in needs})


def mask_expr(column: str = "line", present: frozenset[str] | None = None) -> pl.Expr:
    """The polars expression that masks the variables of ``column``.

    ``present``: the strings some mask needs that the lines hold (``present_in`` of them); a mask
    that needs one they do not hold is left out, as it would change nothing. None: every mask.
    """
    expr = pl.col(column).str.strip_chars()
    for pattern, repl, needs in _MASKS:
        if present is None or all(needed in present for needed in needs):
            expr = expr.str.replace_all(pattern, repl)
    return expr


def present_in(lines: pl.Series) -> frozenset[str]:
    """Which of the strings the masks need occur in any of ``lines``, in one parallel pass."""
    found = pl.select(
        pl.lit(lines).str.contains(n, literal=True).any().alias(str(i)) for i, n in enumerate(_NEEDED)
    ).row(0)
    return frozenset(n for n, hit in zip(_NEEDED, found, strict=True) if hit)


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
        self.vocabularies: set[frozenset[str]] = set()  # values of positions found to be variables

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
        column = pl.Series("line", lines, dtype=pl.String)
        frame = column.to_frame().with_columns(shape=mask_expr("line", present_in(column)))
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
        for _ in range(
            MAX_ROUNDS
        ):  # a vocabulary merged can reveal the next one (the provider, then the reason)
            merged = merge_vocabularies(set(generalized), self.min_values, self.vocabularies)
            if not merged:
                break
            generalized = [merged.get(g, g) for g in generalized]
            by_length = {}
            for sid, g in enumerate(generalized):
                by_length.setdefault(len(g), []).append(sid)
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
            return FIRST_WORD_VALUES  # the first word names the statement: a value only when it varies a lot
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
                for k in merge:  # remembered: the same values elsewhere are a variable there too
                    words = frozenset(v for v in buckets[k] if v != WILDCARD and _WORD.fullmatch(v))
                    if len(words) > 1:
                        self.vocabularies.add(words)
                if not merge:
                    continue
                changed = True
                for s in sids:
                    t = generalized[s]
                    if t[i] != WILDCARD and t[:i] + t[i + 1 :] in merge:
                        generalized[s] = (*t[:i], WILDCARD, *t[i + 1 :])
                current = {generalized[s] for s in sids}


_WORD = re.compile(r"[A-Za-z][A-Za-z_.'-]*")
MAX_SPAN = 5  # words a value may hold ("connection reset by peer")
MAX_ROUNDS = 6


def _words(tokens: tuple[str, ...]) -> int:
    return sum(1 for t in tokens if t != WILDCARD and any(c.isalpha() for c in t))


def merge_vocabularies(
    templates: set[tuple[str, ...]],
    min_values: int = MIN_VALUES,
    known: set[frozenset[str]] | None = None,
) -> dict[tuple[str, ...], tuple[str, ...]]:
    """Templates that differ only in a span of words which behaves like a variable, merged.

    A *frame* is a template with a span of 1 to ``MAX_SPAN`` words cut out (never its first word:
    that names the statement), keeping at least two words. The spans a frame is seen with are its
    values. They are a variable when there are ``min_values`` of them, or when the same values (two
    or more) fill another frame too: a vocabulary that recurs in different statements (a payment
    provider, an error reason, a topic) is data, whereas two verbs that each happen in one place
    (``connection closed``/``connection reset``) stay two statements. Values may differ in length:
    a multi-word value merges with a one-word one. Returns old template → merged template.
    """
    frames: dict[tuple[tuple[str, ...], tuple[str, ...]], set[tuple[str, ...]]] = {}
    # in a fixed order: a vocabulary found for one frame counts for the next (``known``), and a set's
    # order changes with the interpreter's string hashes from run to run
    for t in sorted(templates):
        is_word = [bool(_WORD.fullmatch(x)) for x in t]
        has_letters = [x != WILDCARD and any(c.isalpha() for c in x) for x in t]
        before = [0]  # words in t[:i]
        for flag in has_letters:
            before.append(before[-1] + flag)
        for i in range(1, len(t)):
            for j in range(i + 1, min(len(t), i + MAX_SPAN) + 1):
                if not is_word[j - 1]:
                    break
                if before[i] + before[-1] - before[j] >= 2:  # the frame keeps two words
                    frames.setdefault((t[:i], t[j:]), set()).add(t[i:j])
    # a frame whose values all start (or end) with one word has a narrower twin: that one is the variable
    candidates = {
        f: spans
        for f, spans in frames.items()
        if len(spans) >= 2 and len({s[0] for s in spans}) > 1 and len({s[-1] for s in spans}) > 1
    }
    frames_of: dict[tuple[str, ...], set[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
    for f, spans in candidates.items():
        for span in spans:
            frames_of.setdefault(span, set()).add(f)
    chosen = []
    for f, spans in candidates.items():
        shared: dict[tuple[tuple[str, ...], tuple[str, ...]], int] = {}
        for span in spans:
            for g in frames_of[span]:
                if g != f and g[0][:1] != f[0][:1]:  # another statement: its first word differs
                    shared[g] = shared.get(g, 0) + 1
        words = {s[0] for s in spans if len(s) == 1}
        seen_elsewhere = any(len(words & v) >= 2 for v in known or ())
        if len(spans) >= min_values or seen_elsewhere or any(n >= 2 for n in shared.values()):
            chosen.append(f)
            if known is not None and len(words) > 1:
                known.add(frozenset(words))  # and it is known in the next round
    out: dict[tuple[str, ...], tuple[str, ...]] = {}
    # the narrowest variable first: a span holding two variables (a provider, then a reason) is two
    for prefix, suffix in sorted(
        chosen, key=lambda f: (max(map(len, candidates[f])), -len(candidates[f]), f)
    ):
        for span in candidates[(prefix, suffix)]:
            old = (*prefix, *span, *suffix)
            if old in templates and old not in out:
                out[old] = (*prefix, WILDCARD, *suffix)
    return out


def _has_constant(tokens: tuple[str, ...]) -> bool:
    """Whether a template keeps a word: one made of wildcards and punctuation says nothing."""
    return any(t != WILDCARD and any(c.isalpha() for c in t) for t in tokens)


def _render(shape: str, tokens: list[re.Match[str]], generalized: tuple[str, ...]) -> str:
    if len(tokens) != len(generalized):  # a span became one variable: spacing from the tokens alone
        text = ""
        for tok in generalized:
            glue = "" if not text or tok in "=:,)]}" or text[-1] in "=([{" else " "
            text += glue + tok
        return _RUNS.sub(WILDCARD, text)
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
