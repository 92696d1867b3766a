"""The exposition line grammar: one Rust regex per line shape, and the careful path for the rest.

``_fast`` takes apart the common shape with plain string operations, ``_slow`` every other shape
(escapes, exemplars, odd spacing) and names what is wrong with a bad line; ``_openmetrics_lines``
holds OpenMetrics' stricter whitespace rules. The parser (``exposition``) runs them per chunk.
"""

from __future__ import annotations

import math
import re

import polars as pl

METRIC_TYPES = frozenset(
    {"counter", "gauge", "histogram", "gaugehistogram", "summary", "info", "stateset", "unknown", "untyped"}
)
# sample-name suffixes that belong to a family of the given type
SUFFIXES: dict[str, tuple[str, ...]] = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
    "summary": ("_sum", "_count", "_created"),
    "info": ("_info",),
}
MAX_EXEMPLAR_CHARS = 128
MAX_LINE_BYTES = 1 << 20  # a 1 MiB line is a broken or hostile exposition, not a metric

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
_QVAL = r'"(?:[^"\\\n]|\\.)*"'
_PAIRS = rf"(?:[ \t]*{_LABEL}[ \t]*=[ \t]*{_QVAL}[ \t]*,)*(?:[ \t]*{_LABEL}[ \t]*=[ \t]*{_QVAL})?[ \t]*"
_LINE = (
    rf"^(?P<name>{_NAME})[ \t]*(?:\{{(?P<block>{_PAIRS})\}})?[ \t]+(?P<value>[^ \t#]+)"
    rf"(?:[ \t]+(?P<ts>[^ \t#]+))?[ \t]*(?P<exemplar>#.*)?$"
)
# a plain label value holds no quote, backslash or closing brace and starts with no comma, so
# '",' only ever ends a pair (commas inside are common: Go build flags, CPU lists)
_SIMPLE_PAIR = rf'{_LABEL}="(?:[^"\\}},\n][^"\\}}\n]*)?"'
# the common line shape: single spaces, plain values, no exemplar (a value or timestamp with a
# brace or quote is bad or a blank before the block: the careful path's)
_FAST = (
    rf"^{_NAME}(?:\{{(?:(?:{_SIMPLE_PAIR},)*{_SIMPLE_PAIR},?)?\}})?"
    r' [^ \t#{}"]+(?: [^ \t#{}"]+)?$'
)
_PAIR = rf'{_LABEL}[ \t]*=[ \t]*"(?:[^"\\\n]|\\.)*"'
_PAIR_GROUPS = rf'^(?P<label>{_LABEL})[ \t]*=[ \t]*"(?P<value>(?:[^"\\\n]|\\.)*)"$'
_EXEMPLAR = re.compile(rf"#[ \t]*\{{{_PAIRS}\}}[ \t]+([^ \t]+)(?:[ \t]+([^ \t]+))?[ \t]*")
_NAME_RE = re.compile(_NAME)
_OM_QVAL = r'"(?:[^"\\\n]|\\.)*"'
_OM_PAIRS = rf"(?:{_LABEL}={_OM_QVAL}(?:,{_LABEL}={_OM_QVAL})*)?"
_OM_SAMPLE = (
    rf"^{_NAME}(?:\{{{_OM_PAIRS}\}})? [^ \t#]+(?: [^ \t#]+)?(?: # \{{{_OM_PAIRS}\}} [^ \t]+(?: [^ \t]+)?)?$"
)
_OM_COMMENT = re.compile(rf"# (?:HELP {_NAME} .*|TYPE {_NAME} [a-z]+|UNIT {_NAME} [^ \t]*|EOF)")
_ESCAPE = re.compile(r"\\(.)")
_UNESCAPE = {"n": "\n", "\\": "\\", '"': '"'}
_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|(?i:inf|infinity|nan))")


def unescape(value: str) -> str:
    """A label value or HELP text with ``\\\\``, ``\\"`` and ``\\n`` resolved."""
    if "\\" not in value:
        return value
    return _ESCAPE.sub(lambda m: _UNESCAPE.get(m.group(1), m.group(0)), value)


def _valid_exemplar(text: str) -> bool:
    m = _EXEMPLAR.fullmatch(text)
    if m is None:
        return False
    value, ts = m.groups()
    if not _FLOAT.fullmatch(value) or (
        ts is not None and not (_FLOAT.fullmatch(ts) and math.isfinite(float(ts)))
    ):
        return False
    # OpenMetrics: an exemplar's label names and values hold at most 128 characters together
    pairs = re.findall(_PAIR_GROUPS.strip("^$"), text[: m.start(1)])
    return sum(len(k) + len(unescape(v)) for k, v in pairs) <= MAX_EXEMPLAR_CHARS


def _openmetrics_lines(df: pl.DataFrame, errors: list[tuple[int, str, str]]) -> None:
    """OpenMetrics' stricter grammar: no blank lines, single spaces, no trailing comma or blanks."""
    text = pl.col("text")
    checks = (
        (pl.col("blank"), "blank line (not allowed in OpenMetrics)"),
        (text.str.contains(r"^[ \t]"), "blank before the first token (not allowed in OpenMetrics)"),
        (
            ~text.str.starts_with("#") & (text != "") & ~text.str.contains(_OM_SAMPLE),
            "not an OpenMetrics sample line (single spaces, no trailing comma)",
        ),
    )
    for cond, message in checks:
        for line, t in df.filter(cond).select("line", "text").head(10_000).iter_rows():
            errors.append((line, message, t))


_SAMPLE_COLUMNS = {"line": pl.Int64, "text": pl.String, "name": pl.String, "value": pl.String,
                   "ts": pl.String, "v": pl.Float64, "t": pl.Float64}  # fmt: skip
_LABEL_COLUMNS = {"line": pl.Int64, "label": pl.String, "value": pl.String}


def _samples(parsed: pl.DataFrame) -> pl.DataFrame:
    """The sample columns of taken-apart lines, values parsed with Go's float rules."""
    return parsed.select(
        "line",
        "text",
        "name",
        "value",
        "ts",
        pl.col("value").cast(pl.Float64, strict=False).alias("v"),
        pl.col("ts").cast(pl.Float64, strict=False).alias("t"),
    ).cast(_SAMPLE_COLUMNS)  # type: ignore[arg-type]


def _fast(rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split lines that match ``_FAST`` (the common shape) with plain string operations."""
    has_block = pl.col("text").str.contains("{", literal=True)
    f = rows.select(
        "line",
        "text",
        pl.when(has_block)
        .then(pl.col("text"))
        .otherwise(pl.col("text").str.replace(" ", "{} ", literal=True))
        .str.splitn("{", 2)
        .struct.rename_fields(["name", "rest"])
        .alias("a"),
    ).unnest("a")
    f = f.with_columns(pl.col("rest").str.splitn("}", 2).struct.rename_fields(["block", "tail"]).alias("b"))
    f = f.unnest("b").with_columns(
        pl.col("tail")
        .str.strip_chars_start(" ")
        .str.splitn(" ", 2)
        .struct.rename_fields(["value", "ts"])
        .alias("c")
    )
    f = f.unnest("c")
    samples = _samples(f)
    labels = split_pairs(f.lazy().filter(pl.col("block") != "").select("line", "block")).collect()
    return samples, labels


def family_map(types: dict[str, str]) -> dict[str, str]:
    """Sample name → family name, from every family's type (``unknown`` included) in order of mention.

    A typed family claims its suffixed names; a family of a type without suffixes its own name.
    """
    mapping: dict[str, str] = {}
    for name, kind in types.items():
        for suffix in SUFFIXES.get(kind, ()):
            mapping.setdefault(name + suffix, name)
    for name, kind in types.items():
        if kind not in SUFFIXES:
            mapping[name] = name
    return mapping


_SUFFIX_SETS = {kind: frozenset(suffixes) for kind, suffixes in SUFFIXES.items()}


def families_of(names: list[str], types: dict[str, str]) -> list[str]:
    """``family_map(types)`` applied to ``names``, without making the whole map.

    Every suffix is one ``_word``, so a name has one family it may belong to: the name before its
    last ``_``. Cheaper than the map where a block names many families in few sample runs.
    """
    out = []
    for name in names:
        kind = types.get(name)
        if kind is not None and kind not in SUFFIXES:
            out.append(name)  # a family of a type without suffixes has its own name
            continue
        cut = name.rfind("_")
        base = name[:cut]
        owner = types.get(base) if cut > 0 else None
        out.append(base if owner is not None and name[cut:] in _SUFFIX_SETS.get(owner, ()) else name)
    return out


def split_pairs(blocks: pl.LazyFrame) -> pl.LazyFrame:
    """(line, label, value) of ``_FAST``-shaped label blocks given as (line, block)."""
    # plain values (``_SIMPLE_PAIR``): '",' only ever ends a pair and the first '="' starts one
    return (
        blocks.select(
            "line", pl.col("block").str.strip_suffix(",").str.strip_suffix('"').str.split('",').alias("p")
        )
        .explode("p")
        .select("line", pl.col("p").str.splitn('="', 2).struct.rename_fields(["label", "value"]).alias("p"))
        .unnest("p")
        .cast(_LABEL_COLUMNS)  # type: ignore[arg-type]
    )


def _slow(
    rows: pl.DataFrame, errors: list[tuple[int, str, str]]
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Take apart the rarer shapes (escapes, exemplars, odd spacing) and find the bad lines.

    Returns samples, labels and the (line, text, name) of lines with an exemplar.
    """
    parsed = rows.with_columns(pl.col("text").str.extract_groups(_LINE).alias("m")).unnest("m")
    too_long = pl.col("text").str.len_bytes() > MAX_LINE_BYTES
    for line, text, long in (
        parsed.filter(pl.col("name").is_null() | too_long)
        .select("line", "text", too_long.alias("long"))
        .iter_rows()
    ):
        if long:
            errors.append((line, f"line longer than {MAX_LINE_BYTES} bytes", text[:200]))
        else:
            errors.append((line, _explain(text), text))
    with_exemplar = parsed.filter(pl.col("exemplar").is_not_null())
    for line, text, exemplar in with_exemplar.select("line", "text", "exemplar").iter_rows():
        if not _valid_exemplar(exemplar):
            errors.append((line, "invalid exemplar", text))
    parsed = parsed.filter(pl.col("name").is_not_null() & ~too_long)
    samples = _samples(parsed)
    labels = (
        parsed.filter(pl.col("block").is_not_null())
        .select("line", pl.col("block").str.extract_all(_PAIR).alias("pair"))
        .explode("pair")
        .drop_nulls("pair")
        .with_columns(pl.col("pair").str.extract_groups(_PAIR_GROUPS).alias("g"))
        .unnest("g")
        .select("line", "label", "value")
        .cast(_LABEL_COLUMNS)  # type: ignore[arg-type]
    )
    escaped = labels["value"].str.contains("\\", literal=True)
    if escaped.any():
        labels = labels.with_columns(
            pl.when(escaped)
            .then(pl.col("value").map_elements(unescape, return_dtype=pl.String))
            .otherwise(pl.col("value"))
            .alias("value")
        )
    return samples, labels, with_exemplar.select("line", "text", "name").cast({"line": pl.Int64})


def _explain(line: str) -> str:
    """Say why a sample line failed the line expression."""
    if line.startswith("{"):
        return "quoted (UTF-8) metric names are not supported"
    m = re.match(_NAME, line)
    if not m:
        return "invalid metric name"
    rest = line[m.end() :]
    if rest and rest[0] not in " \t{":
        return "invalid character in metric name"
    rest = rest.lstrip(" \t")
    if not rest:
        return "missing sample value"
    if rest.startswith("{"):
        close = re.match(rf"\{{{_PAIRS}\}}", rest)
        if close is None:
            return "invalid label block"
        rest = rest[close.end() :]
        if not rest.strip():
            return "missing sample value"
        if rest[0] not in " \t":
            return "missing space before the sample value"
    fields = rest.split()
    if len(fields) > 2 and not fields[2].startswith("#"):
        return "unexpected text after the timestamp"
    return "invalid sample line"
