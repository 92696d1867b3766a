"""Log lines → a frame: each line's message, level, service, time, trace link and bytes.

One chunk of lines becomes a polars frame with one row per line: ``message`` (what template
mining sees), ``level``, ``service``, ``ts`` (epoch seconds, when the line says), ``has_trace`` (the
line carries a trace id: dropping it loses a link to a trace), ``bytes`` (the line and its newline:
what a log backend bills). Field extraction runs in polars (JSON path, regex), so a chunk of 200k
lines costs a few polars calls, not 200k Python loops.

The format (JSON lines, journald's export, logfmt, plain text) is told from a file's first lines;
``header`` (logparser style, e.g. ``<Date> <Time> <Level> <Component>: <Content>``) parses plain
text whose lines start with a known header; ``<Level>``, ``<Service>``/``<Component>`` and
``<Content>`` are used.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import polars as pl

from costscope.errors import ConfigError
from costscope.sources.log_times import line_seconds

LEVELS = ("TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "ERROR", "FATAL")
_LEVEL_NORMAL = {
    "warning": "WARN", "err": "ERROR", "critical": "FATAL", "crit": "FATAL", "panic": "FATAL",
    "emerg": "FATAL", "alert": "FATAL", "dbg": "DEBUG", "information": "INFO", "inf": "INFO", "severe": "ERROR",
    # numbers: syslog severities (journald's PRIORITY, GELF), and pino's and bunyan's levels
    "0": "FATAL", "1": "FATAL", "2": "FATAL", "3": "ERROR", "4": "WARN", "5": "NOTICE", "6": "INFO",
    "7": "DEBUG", "10": "TRACE", "20": "DEBUG", "30": "INFO", "40": "WARN", "50": "ERROR", "60": "FATAL",
}  # fmt: skip
# keys in order of preference: a line with both ``service`` and ``logger`` belongs to the service
_JSON_KEYS = {
    "level": ("level", "severity", "lvl", "log.level", "severity_text", "levelname", "loglevel", "PRIORITY"),
    "service": (
        "service",
        "service.name",
        "service_name",
        "app",
        "application",
        "app_name",
        "job",
        "container",
        "component",
        "logger",
        "_SYSTEMD_UNIT",  # journald: the unit, else the program
        "SYSLOG_IDENTIFIER",
    ),
    "message": ("message", "msg", "body", "log", "text", "MESSAGE"),
    "trace": ("trace_id", "traceId", "trace.id", "traceID", "dd.trace_id"),
    "ts": ("ts", "time", "timestamp", "@timestamp", "t", "__REALTIME_TIMESTAMP"),
}
_WORDS = r"trace|debug|info|notice|warn(?:ing)?|error|err|fatal|critical|crit|panic|severe"
# a level in plain text: [ERROR], <warn>, level=error, "ERROR:" or an upper-case word of its own —
# never a word inside a URL, a path or a name (/api/error-report, on_error, error.log)
_LEVEL_WORD = (
    rf"(?i:\[({_WORDS})\]|<({_WORDS})>|\b(?:level|lvl|severity)[=:]\s*\"?({_WORDS})\b)"
    rf"|(?:^|[\s|])((?-i:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|FATAL|CRITICAL|CRIT|PANIC|SEVERE)):?(?:\s|$)"
)
_KLOG = r"^([IWEF])\d{4} \d{2}:\d{2}:\d{2}"  # klog/glog: I0102 15:04:05.123456 ...
_KLOG_LEVELS = {"I": "INFO", "W": "WARN", "E": "ERROR", "F": "FATAL"}
_SYSLOG = r"^<(\d{1,3})>"  # RFC 3164/5424 priority: facility * 8 + severity
_SYSLOG_LEVELS = {
    0: "FATAL",
    1: "FATAL",
    2: "FATAL",
    3: "ERROR",
    4: "WARN",
    5: "NOTICE",
    6: "INFO",
    7: "DEBUG",
}
# Common/Combined Log Format: host ident user [time] "request" status size
_ACCESS = r'^\S+ \S+ \S+ \[[^\]]+\] "[^"]*" (\d)\d\d\b'
_STATUS_LEVELS = {"5": "ERROR", "4": "WARN", "3": "INFO", "2": "INFO", "1": "INFO"}
_TRACE_TEXT = r"(?i)trace[_.-]?id[\"']?\s*[=:]\s*[\"']?[0-9a-f]{16,32}"


def detect_format(sample: list[str]) -> str:
    """``json``, ``journal`` (journalctl -o json), ``logfmt`` or ``text`` from a file's first lines."""
    lines = [s for s in sample if s.strip()]
    if not lines:
        return "text"
    if sum(s.lstrip().startswith("{") for s in lines) >= 0.8 * len(lines):
        # ``journalctl -o json``: what a shipper sends is MESSAGE, not the whole record
        return "journal" if sum('"__REALTIME_TIMESTAMP"' in s for s in lines) >= 0.8 * len(lines) else "json"
    kv = re.compile(r'^\s*[\w.]+=("[^"]*"|\S*)(\s+[\w.]+=("[^"]*"|\S*))+')
    if sum(bool(kv.match(s)) for s in lines) >= 0.8 * len(lines):
        return "logfmt"
    return "text"


def header_regex(header: str) -> str:
    """A logparser-style header (``<Date> <Time> <Level>: <Content>``) as a regex with named groups."""
    fields = re.findall(r"<(\w+)>", header)
    if not fields or fields[-1] != "Content":
        raise ConfigError("a log header must end with <Content>", field="header")
    pattern = ""
    for i, part in enumerate(re.split(r"(<\w+>)", header)):
        if i % 2:
            name = part[1:-1]
            pattern += f"(?P<{name}>.*)" if name == "Content" else f"(?P<{name}>.*?)"
        else:  # literal text: brackets and dots mean themselves; runs of spaces match any run
            pattern += r"\s+".join(re.escape(chunk) for chunk in re.split(r" +", part))
    return "^" + pattern + "$"


# a JSON string's text written as runs of plain characters between escapes ("unrolled"): the same
# strings as (?:[^"\\]|\\.)*, a quarter faster in Rust's regex engine with a capture group
_JSON_STRING = r'"([^"\\]*(?:\\.[^"\\]*)*)"'
_JSON_SCALAR = r'(?:"([^"\\]*(?:\\.[^"\\]*)*)"|(-?[0-9][0-9.eE+-]*|true|false))'


def _json_field(keys: tuple[str, ...], scalar: bool = False) -> pl.Expr:
    """A top-level (or one-level nested, for dotted keys) JSON value, by regex.

    Regexes run in Rust over the raw line: a decoder would be several times slower on
    millions of lines and fails on the first malformed one; an object under the key is skipped.
    """
    value = _JSON_SCALAR if scalar else _JSON_STRING
    flat = "|".join(re.escape(k) for k in keys)
    exprs = [pl.col("line").str.extract_groups(rf'"(?:{flat})"\s*:\s*{value}')]
    for k in keys:
        if "." in k:
            outer, inner = k.split(".", 1)
            nested = rf'"{re.escape(outer)}"\s*:\s*\{{[^{{}}]*?"{re.escape(inner)}"\s*:\s*{value}'
            exprs.append(pl.col("line").str.extract_groups(nested))
    texts = []
    for e in exprs:
        texts.append(e.struct.field("1"))
        if scalar:
            texts.append(e.struct.field("2"))
    return pl.coalesce(texts)  # still escaped: ``unescaped`` reads it


_SENTINEL = "\x00"  # stands for an escaped backslash while the other escapes are replaced
_SIMPLE_ESCAPES = {'"': '"', "/": "/", "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}
_UNICODE_ESCAPE = r"\\u[0-9a-fA-F]{4}"


def unescaped(raw: pl.Series, unicode: bool = False) -> pl.Series:
    """A JSON string field read back: simple escapes in one left-to-right reading (``\\\\n`` is a
    backslash and an n), ``\\uXXXX`` too where ``unicode``; only the rows with a backslash are touched."""
    has = raw.str.contains("\\", literal=True).fill_null(False)
    if not has.any():
        return raw
    rows = has.arg_true()
    text = raw.gather(rows).str.replace_all("\\\\", _SENTINEL, literal=True)
    for escape, char in _SIMPLE_ESCAPES.items():
        text = text.str.replace_all("\\" + escape, char, literal=True)
    restored = text.str.replace_all(_SENTINEL, "\\", literal=True)
    pieces = text.str.contains(_UNICODE_ESCAPE).fill_null(False) if unicode else None
    if pieces is not None and pieces.any():  # an escape never spans an escaped backslash: decode between them
        decoded = [
            "\\".join(re.sub(r"(?:\\u[0-9a-fA-F]{4})+", _unicode_run, piece) for piece in t.split(_SENTINEL))
            for t in text.filter(pieces).to_list()
        ]
        restored = restored.scatter(pieces.arg_true(), pl.Series(decoded, dtype=pl.String))
    return raw.scatter(rows, restored)


def _unicode_run(match: re.Match[str]) -> str:
    decoded: str = json.loads(f'"{match.group(0)}"')
    return decoded.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate becomes "?"


def _logfmt_field(keys: tuple[str, ...]) -> pl.Expr:
    return pl.coalesce(
        [
            pl.col("line").str.extract(rf'(?:^|\s){re.escape(k)}=(?:"((?:[^"\\]|\\.)*)"|(\S*))', 1)
            for k in keys
        ]
        + [pl.col("line").str.extract(rf"(?:^|\s){re.escape(k)}=(\S*)", 1) for k in keys]
    )


def _preferred(
    frame: pl.DataFrame,
    field: Callable[[tuple[str, ...]], pl.Expr],
    keys: tuple[str, ...],
    marker: Callable[[str], str],
) -> pl.Expr:
    """The first of ``keys`` (in order of preference) a line has; keys no line of the chunk holds
    (``marker(key)``: how the key shows in a line) cost nothing but one scan for all of them."""
    markers = {k: marker(k.split(".")[-1]) for k in keys}
    pattern = "|".join(re.escape(m) for m in sorted(set(markers.values()), key=len, reverse=True))
    seen = set(frame["line"].str.extract_all(pattern).explode().drop_nulls().unique().to_list())
    present = [k for k in keys if markers[k] in seen]
    return pl.coalesce([field((k,)) for k in present]) if present else pl.lit(None, pl.String)


def text_level(line: pl.Expr) -> pl.Expr:
    """The level of a plain-text line: klog/glog prefix, syslog priority, an access log's status
    class (5xx ERROR, 4xx WARN), else a level word that stands as one (see ``_LEVEL_WORD``)."""
    head = line.str.slice(0, 200)
    klog = head.str.extract(_KLOG, 1).replace_strict(_KLOG_LEVELS, default=None, return_dtype=pl.String)
    pri = head.str.extract(_SYSLOG, 1).cast(pl.Int64, strict=False) % 8
    syslog = pri.replace_strict(_SYSLOG_LEVELS, default=None, return_dtype=pl.String)
    access = line.str.extract(_ACCESS, 1).replace_strict(_STATUS_LEVELS, default=None, return_dtype=pl.String)
    words = head.str.extract_groups(_LEVEL_WORD)
    word = pl.coalesce([words.struct.field(str(i)) for i in range(1, 5)])
    return pl.coalesce([klog, syslog, access, word])


def normalize_level(expr: pl.Expr) -> pl.Expr:
    """Level names as ``DEBUG``/``INFO``/``WARN``/``ERROR``/``FATAL`` (synonyms folded)."""
    lowered = expr.str.strip_chars().str.to_lowercase()
    return lowered.replace(_LEVEL_NORMAL).str.to_uppercase().replace({"": None})


def parse_chunk(
    lines: list[str],
    fmt: str,
    service: str,
    header: str | None = None,
    newline: int = 1,
    ended: bool | None = None,
) -> pl.DataFrame:
    """One chunk of lines → (message, level, service, ts, has_trace, bytes) per line.

    ``bytes`` is the line as written: a ``\n`` read where the file has ``\r\n`` weighs
    ``newline`` (2) bytes, and a last line without an ending weighs none for it. Lines come with
    their endings, or (``ended`` given: whether the last one had one) without.
    """
    raw = pl.Series(lines, dtype=pl.String)
    if ended is None:
        ends = raw.str.ends_with("\n") & ~raw.str.ends_with("\r\n")
        extra = pl.select(pl.when(pl.lit(ends)).then(newline - 1).otherwise(0)).to_series()
        frame = pl.DataFrame(
            {"line": raw.str.strip_chars_end("\r\n"), "raw_bytes": raw.str.len_bytes() + extra}
        )
    else:
        weight = raw.str.len_bytes() + newline
        if not ended:
            weight[-1] = weight[-1] - newline
        frame = pl.DataFrame({"line": raw.str.strip_chars_end("\r"), "raw_bytes": weight})
    if fmt in ("json", "journal"):
        parsed = frame.with_columns(
            message=_json_field(_JSON_KEYS["message"]),
            level=_json_field(_JSON_KEYS["level"], scalar=True),  # pino's and GELF's are numbers
            service=_preferred(frame, _json_field, _JSON_KEYS["service"], lambda k: f'"{k}"'),
            trace=_json_field(_JSON_KEYS["trace"]),
            ts_text=_json_field(_JSON_KEYS["ts"], scalar=True),
        )
    elif fmt == "logfmt":
        parsed = frame.with_columns(
            message=_logfmt_field(_JSON_KEYS["message"]),
            level=_logfmt_field(_JSON_KEYS["level"]),
            service=_preferred(frame, _logfmt_field, _JSON_KEYS["service"], lambda k: f"{k}="),
            trace=_logfmt_field(_JSON_KEYS["trace"]),
            ts_text=_logfmt_field(_JSON_KEYS["ts"]),
        )
    elif header:
        groups = pl.col("line").str.extract_groups(header_regex(header))
        names = re.findall(r"<(\w+)>", header)
        parsed = frame.with_columns(groups.alias("g")).with_columns(
            message=pl.col("g").struct.field("Content"),
            level=pl.col("g").struct.field("Level") if "Level" in names else pl.lit(None, pl.String),
            service=(
                pl.col("g").struct.field("Service")
                if "Service" in names
                else pl.col("g").struct.field("Component")
                if "Component" in names
                else pl.lit(None, pl.String)
            ),
            trace=pl.col("line").str.extract(_TRACE_TEXT, 0),
            ts_text=pl.lit(None, pl.String),
        )
    else:
        parsed = frame.with_columns(
            message=pl.col("line"),
            level=text_level(pl.col("line")),
            service=pl.lit(None, pl.String),
            trace=pl.col("line").str.extract(_TRACE_TEXT, 0),
            ts_text=pl.lit(None, pl.String),
        )
    if fmt in ("json", "journal"):
        parsed = parsed.with_columns(
            unescaped(parsed["message"], unicode=True),
            *(unescaped(parsed[c]) for c in ("level", "service", "trace", "ts_text")),
        )
    elif fmt == "logfmt":  # a quoted logfmt value escapes quotes and backslashes as Go's %q does
        parsed = parsed.with_columns(unescaped(parsed["message"]), unescaped(parsed["service"]))
    # JSON and logfmt name their time; a plain line writes it at its head (sources.log_times)
    named = fmt in ("json", "journal", "logfmt")
    line_time = pl.lit(None, pl.Float64) if named else line_seconds(pl.col("line"), lines[0] if lines else "")
    return parsed.select(
        pl.col("message").fill_null(pl.col("line")),
        normalize_level(pl.col("level")).alias("level"),
        pl.col("service").fill_null(service),
        pl.coalesce(epoch_seconds(pl.col("ts_text")), line_time).alias("ts"),
        pl.col("trace").is_not_null().alias("has_trace"),
        # journald's record is mostly its own fields: a shipper sends MESSAGE and its newline
        (pl.col("message").str.len_bytes() + 1 if fmt == "journal" else pl.col("raw_bytes"))
        .cast(pl.Int64)
        .alias("bytes"),
    )


def epoch_seconds(text: pl.Expr) -> pl.Expr:
    """Epoch seconds from ISO-8601 text or a number (s, ms, µs or ns); null when neither."""
    number = text.cast(pl.Float64, strict=False)
    scaled = (  # ns, µs (journald's __REALTIME_TIMESTAMP), ms, s
        pl.when(number > 1e17)
        .then(number / 1e9)
        .when(number > 1e14)
        .then(number / 1e6)
        .when(number > 1e11)
        .then(number / 1e3)
        .otherwise(number)
    )
    iso = (
        text.str.to_datetime(time_zone="UTC", strict=False, format=None, ambiguous="null")
        .dt.epoch("ms")
        .cast(pl.Float64)
        / 1e3
    )
    return pl.coalesce([scaled, iso])
