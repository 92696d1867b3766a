"""Query logs: what people and programs actually ran, how often, by whom, over which window.

Five shapes, each told by content (``detect``):

- ``prometheus``: Prometheus' ``query_log_file``, JSON lines with ``params.query``, ``ts`` and
  ``httpRequest.clientIP`` (rule evaluations carry ``ruleGroup`` instead: the querier is the group);
- ``mimir``: Mimir/Cortex query-frontend ``msg="query stats"`` logfmt lines (``param_query``,
  ``user_agent``, ``org_id``, ``ts``);
- ``loki``: Loki query-frontend ``metrics.go`` logfmt lines (``query``, ``org_id``, ``ts``): LogQL;
- ``victoriametrics``: ``/api/v1/status/top_queries`` (counts per query over ``maxLifetime``);
- ``grafana``: Grafana's query history (``/api/query-history``: Explore's queries, per user).

Lines are read in chunks and parsed in polars (Rust regexes and JSON paths, no Python per line);
each chunk is folded into one row per distinct query (runs, queriers, first and last run), so
memory grows with distinct queries, never with the log. A line that is no query entry of the
file's shape is counted as skipped, never silently dropped.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from costscope.errors import InputError, ParseError
from costscope.sources.compressed import READ_ERRORS
from costscope.sources.http import HttpClient
from costscope.sources.log_files import bounded_lines, open_text
from costscope.sources.log_lines import epoch_seconds, unescaped

CHUNK_LINES = 200_000
MAX_DOCUMENT_BYTES = 256 << 20  # a top_queries answer or a query history, read whole
MAX_CLIENTS = 100  # distinct queriers kept per query (their number is still exact up to this)
FORMATS = ("prometheus", "mimir", "loki", "victoriametrics", "grafana")

_MIMIR = re.compile(r'(?:^|\s)msg="query stats"|(?:^|\s)param_query=')
_LOKI = re.compile(r"(?:^|\s)caller=metrics\.go:\d+.*(?:^|\s)query=|(?:^|\s)query=.*\squery_type=")
_PROM = re.compile(r'^\s*\{.*"params"\s*:\s*\{.*"query"\s*:')

AGG_SCHEMA = pl.Schema(
    {
        "query": pl.String(),
        "uses": pl.Int64(),
        "clients": pl.List(pl.String()),
        "first_at": pl.Float64(),
        "last_at": pl.Float64(),
    }
)
_EVENTS = {"query": pl.String, "client": pl.String, "at": pl.Float64, "uses": pl.Int64}


@dataclass(frozen=True)
class QueryLog:
    """One query log read: its distinct queries and the window it covers."""

    origin: str
    format: str
    queries: pl.DataFrame  # AGG_SCHEMA: one row per distinct query
    entries: int  # query entries read (every run)
    skipped: int  # lines that were no query entry
    first_at: float | None
    last_at: float | None
    language: str = "promql"  # promql | logql


def detect_lines(lines: list[str]) -> str | None:
    """The line shape of a query log from its first lines, or None when it is none."""
    sample = [s for s in lines[:50] if s.strip()]
    if not sample:
        return None
    for fmt, pattern in (("prometheus", _PROM), ("mimir", _MIMIR), ("loki", _LOKI)):
        if sum(bool(pattern.search(s)) for s in sample) >= max(1, len(sample) // 2):
            return fmt
    return None


def detect_document(doc: Any) -> str | None:
    """``victoriametrics`` (top queries) or ``grafana`` (query history) for a JSON document."""
    if isinstance(doc, dict) and "topByCount" in doc:
        return "victoriametrics"
    result = doc.get("result") if isinstance(doc, dict) else None
    if isinstance(result, dict) and isinstance(result.get("queryHistory"), list):
        return "grafana"
    return None


def _json_string(key: str) -> pl.Expr:
    """The (still escaped) JSON string value after ``key`` (a regex ending in the key's quotes)."""
    return pl.col("line").str.extract(key + r'\s*:\s*"((?:[^"\\]|\\.)*)"', 1)


def _logfmt(key: str) -> pl.Expr:
    quoted = pl.col("line").str.extract(rf'(?:^|\s){key}="((?:[^"\\]|\\.)*)"', 1)
    bare = pl.col("line").str.extract(rf'(?:^|\s){key}=([^"\s]\S*)', 1)
    return pl.coalesce([quoted, bare])


def _events(lines: list[str], fmt: str) -> pl.DataFrame:
    """(query, client, at, uses) per query entry of a chunk; lines that are none are left out."""
    frame = pl.DataFrame({"line": lines}, schema={"line": pl.String})
    if fmt == "prometheus":
        # Rust regexes over the raw line: several times faster than a JSON path per field; the
        # rare line they miss (a key order or spacing Prometheus never writes) gets the JSON path
        fast = frame.select(
            _json_string(r'"params"\s*:\s*\{[^{}]*?"query"').alias("query"),
            _json_string(r'"httpRequest"\s*:\s*\{[^{}]*?"clientIP"').alias("ip"),
            _json_string(r'"ruleGroup"\s*:\s*\{[^{}]*?"name"').alias("group"),
            _json_string(r'"ts"').alias("ts"),
        )
        fast = fast.with_columns(
            unescaped(fast["query"], unicode=True), unescaped(fast["ip"]), unescaped(fast["group"])
        )
        line = pl.col("line")
        missed = fast["query"].is_null() & frame["line"].str.contains('"query"', literal=True)
        if missed.any():
            slow = frame.filter(missed).select(
                line.str.json_path_match("$.params.query").alias("query"),
                line.str.json_path_match("$.httpRequest.clientIP").alias("ip"),
                line.str.json_path_match("$.ruleGroup.name").alias("group"),
                line.str.json_path_match("$.ts").alias("ts"),
            )
            fast = pl.concat([fast.filter(~missed), slow])
        parsed = fast.select(
            "query", pl.coalesce(pl.col("ip"), pl.lit("rule group ") + pl.col("group")).alias("client"), "ts"
        )
    else:
        client = (
            pl.coalesce(_logfmt("user_agent"), pl.lit("tenant ") + _logfmt("org_id"))
            if fmt == "mimir"
            else pl.lit("tenant ") + _logfmt("org_id")
        )
        parsed = frame.select(
            _logfmt("param_query" if fmt == "mimir" else "query").alias("query"),
            client.alias("client"),
            _logfmt("ts").alias("ts"),
            _logfmt("component").alias("component"),
        )
        if fmt == "loki":  # a querier's or an ingester's line is a piece of a query the frontend logged whole
            parsed = parsed.filter(
                ~pl.col("component").is_in(["querier", "ingester"]).fill_null(False)
                & (pl.col("query") != "<omitted>")
            )
        # logfmt quotes as Go does: \" \\ \n \t inside the quotes
        parsed = parsed.with_columns(unescaped(parsed["query"]), unescaped(parsed["client"]))
    # costscope's own queries (its user agent, where the log keeps one) read nothing on anyone's behalf
    own = pl.col("client").str.starts_with("costscope/").fill_null(False)
    return parsed.filter(
        pl.col("query").is_not_null() & (pl.col("query").str.strip_chars() != "") & ~own
    ).select("query", "client", epoch_seconds(pl.col("ts")).alias("at"), pl.lit(1, pl.Int64).alias("uses"))


def fold(events: pl.DataFrame) -> pl.DataFrame:
    """One row per distinct query: runs, queriers (at most MAX_CLIENTS), first and last run."""
    if events.is_empty():
        return pl.DataFrame(schema=AGG_SCHEMA)
    if "clients" not in events.columns:
        events = events.with_columns(pl.concat_list(pl.col("client")).alias("clients")).drop("client")
        events = events.with_columns(first_at=pl.col("at"), last_at=pl.col("at")).drop("at")
    return (
        events.group_by("query")
        .agg(
            pl.col("uses").sum(),
            pl.col("clients").explode().drop_nulls().unique().sort().head(MAX_CLIENTS),
            pl.col("first_at").min(),
            pl.col("last_at").max(),
        )
        .select(AGG_SCHEMA.names())
        .cast(AGG_SCHEMA)
    )


def _read_lines(path: Path, chunk_lines: int) -> QueryLog:
    try:
        stream = open_text(path)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=str(path)) from None
    parts: list[pl.DataFrame] = []
    entries = lines_read = 0
    with stream:
        try:
            chunk = bounded_lines(stream, chunk_lines)
            fmt = detect_lines(chunk)
            if fmt is None:
                raise ParseError(
                    "not a query log (Prometheus query log, Mimir or Loki query stats)", file=str(path)
                )
            while chunk:
                lines_read += len(chunk)
                events = _events(chunk, fmt)
                entries += events.height
                parts.append(fold(events))
                if len(parts) > 8:  # keep memory to the distinct queries
                    parts = [fold(pl.concat(parts))]
                chunk = bounded_lines(stream, chunk_lines)
        except READ_ERRORS as exc:
            raise InputError(f"cannot read (a compressed file cut short?): {exc}", file=str(path)) from None
    queries = fold(pl.concat(parts)) if parts else pl.DataFrame(schema=AGG_SCHEMA)
    return QueryLog(
        origin=str(path),
        format=fmt,
        queries=queries.sort("query"),
        entries=entries,
        skipped=lines_read - entries,
        first_at=queries["first_at"].min() if queries.height else None,  # type: ignore[arg-type]
        last_at=queries["last_at"].max() if queries.height else None,  # type: ignore[arg-type]
        language="logql" if fmt == "loki" else "promql",
    )


def top_queries(doc: dict[str, Any], origin: str, fetched_at: float) -> QueryLog:
    """VictoriaMetrics' top queries: counts per query over ``maxLifetime`` up to ``fetched_at``.

    VictoriaMetrics only records queries slower than ``-search.queryStats.minQueryDuration`` (1 ms
    by default) among its last ``-search.queryStats.lastQueriesCount``: the counts are a floor.
    """
    rows = doc.get("topByCount")
    if not isinstance(rows, list):
        raise ParseError("top_queries without topByCount", file=origin)
    events = pl.DataFrame(
        [
            {"query": str(r.get("query") or ""), "client": None, "at": None, "uses": int(r.get("count") or 0)}
            for r in rows
            if isinstance(r, dict)
        ],
        schema=_EVENTS,
    ).filter(pl.col("query").str.strip_chars() != "")
    lifetime = _go_duration(str(doc.get("maxLifetime") or "10m"))
    queries = fold(events).with_columns(first_at=pl.lit(None, pl.Float64), last_at=pl.lit(fetched_at))
    return QueryLog(
        origin, "victoriametrics", queries.sort("query"), int(events["uses"].sum()), 0,
        fetched_at - lifetime, fetched_at,
    )  # fmt: skip


def query_history(doc: dict[str, Any], origin: str) -> QueryLog:
    """Grafana's query history: each entry's queries (``expr``, or ``query``) by the user who ran them."""
    items = doc["result"]["queryHistory"]
    rows = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        at = item.get("createdAt")
        user = item.get("createdBy")
        for q in item.get("queries") or []:
            expr = q.get("expr") or q.get("query") if isinstance(q, dict) else None
            if isinstance(expr, str) and expr.strip():
                rows.append(
                    {
                        "query": expr,
                        "client": f"grafana user {user}" if user is not None else None,
                        "at": float(at) if isinstance(at, int | float) else None,
                        "uses": 1,
                    }
                )
    events = pl.DataFrame(rows, schema=_EVENTS)
    queries = fold(events)
    return QueryLog(
        origin, "grafana", queries.sort("query"), events.height, 0,
        queries["first_at"].min() if queries.height else None,  # type: ignore[arg-type]
        queries["last_at"].max() if queries.height else None,  # type: ignore[arg-type]
    )  # fmt: skip


_GO_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def _go_duration(text: str) -> float:
    """Seconds of a Go duration (``10m0s``, ``1h30m``)."""
    parts = re.findall(r"([0-9.]+)(ms|us|µs|ns|h|m|s)", text)
    return sum(float(n) * _GO_UNITS[u] for n, u in parts) if parts else 600.0


def read_query_log(path: Path, chunk_lines: int = CHUNK_LINES) -> QueryLog:
    """One query log file (plain or gzip) of any of the five shapes."""
    try:
        with open_text(path) as stream:
            head = bounded_lines(stream, 50)
    except READ_ERRORS as exc:
        raise InputError(f"cannot read: {exc}", file=str(path)) from None
    if detect_lines(head) is not None:
        return _read_lines(path, chunk_lines)
    if path.stat().st_size > MAX_DOCUMENT_BYTES:
        raise ParseError("not a query log, and too large for a query document", file=str(path))
    try:
        with open_text(path) as stream:
            doc = json.loads(stream.read())
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"not a query log (Prometheus query log, Mimir or Loki query stats) nor JSON: {exc.msg}",
            file=str(path),
            line=exc.lineno,
        ) from None
    except READ_ERRORS as exc:
        raise InputError(f"cannot read: {exc}", file=str(path)) from None
    fmt = detect_document(doc)
    if fmt == "victoriametrics":
        return top_queries(doc, str(path), path.stat().st_mtime)
    if fmt == "grafana":
        return query_history(doc, str(path))
    raise ParseError("a JSON document that is no query log (top_queries or query history)", file=str(path))


TOP_QUERIES_PATH = "/api/v1/status/top_queries"
TOP_N = 1000
HISTORY_PATH = "/api/query-history"
HISTORY_PAGE = 100  # Grafana's largest page of query history
MAX_HISTORY_PAGES = 1000


def fetch_queries(client: HttpClient) -> QueryLog:
    """A live query source: Grafana's query history when the URL names it, else VictoriaMetrics' top queries."""
    if (client.source.url or "").rstrip("/").endswith(HISTORY_PATH):
        return fetch_query_history(client)
    return fetch_top_queries(client)


def fetch_query_history(client: HttpClient) -> QueryLog:
    """Every page of Grafana's query history (``/api/query-history``, a service account's view)."""
    items: list[Any] = []
    for page in range(1, MAX_HISTORY_PAGES + 1):
        doc = client.get_json("", {"page": str(page), "limit": str(HISTORY_PAGE)})
        if detect_document(doc) != "grafana":
            raise ParseError(
                "the query history did not answer {result: {queryHistory: [...]}}", file=client.url("")
            )
        batch = doc["result"]["queryHistory"]
        items += batch
        total = doc["result"].get("totalCount")
        if len(batch) < HISTORY_PAGE or (isinstance(total, int) and len(items) >= total):
            break
    return query_history({"result": {"queryHistory": items}}, client.url(""))


def fetch_top_queries(client: HttpClient) -> QueryLog:
    """A VictoriaMetrics' top queries by count (``topN`` 1000) over its ``maxLifetime``."""
    doc = client.get_json(TOP_QUERIES_PATH, {"topN": str(TOP_N)})
    if not isinstance(doc, dict):
        raise ParseError("top_queries did not answer a JSON object", file=client.url(TOP_QUERIES_PATH))
    return top_queries(doc, client.url(TOP_QUERIES_PATH), time.time())


_WINDOW_SCHEMA = pl.Schema(
    {
        "source": pl.String(), "origin": pl.String(), "format": pl.String(), "entries": pl.Int64(),
        "skipped": pl.Int64(), "first_at": pl.Float64(), "last_at": pl.Float64(),
    }
)  # fmt: skip


def windows_frame(source: str, logs: list[QueryLog]) -> pl.DataFrame:
    """The ``query_windows`` rows: what each log covers."""
    return pl.DataFrame(
        [
            {"source": source, "origin": q.origin, "format": q.format, "entries": q.entries,
             "skipped": q.skipped, "first_at": q.first_at, "last_at": q.last_at}
            for q in logs
        ],
        schema=_WINDOW_SCHEMA,
    )  # fmt: skip
