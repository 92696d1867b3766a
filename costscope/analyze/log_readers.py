"""Which log lines dashboards, alerts and rules read (LogQL), so a log cut can say what it breaks.

Usage sources keep the expressions that are not PromQL (``usage_problems``, ``not_promql``); the
LogQL among them is read here: each stream selector (``{service_name="api", level=~"error|warn"}``)
and the line filters that follow it (``|= "timeout"``, ``!= "health"``, ``|~ "5\\d\\d"``, ``!~``).
A template is read by an expression when a selector can match its service and level — selector
labels other than a service or a level label are unknown here and taken to match — and every
line filter can match the template's text or its example line. Stages after a parser
(``| json | status >= 500``) are not evaluated: the lines they start from count as read, which
errs towards "breaks".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import polars as pl

from costscope.sources.loki import LEVEL_LABELS, SERVICE_LABELS
from costscope.store.database import Store

_SELECTOR_RE = re.compile(
    r"\{\s*((?:[A-Za-z_]\w*\s*(?:=~|!~|!=|=)\s*(?:\"(?:[^\"\\]|\\.)*\"|`[^`]*`)\s*,?\s*)+)\}"
)
_MATCHER_RE = re.compile(r"([A-Za-z_]\w*)\s*(=~|!~|!=|=)\s*(\"(?:[^\"\\]|\\.)*\"|`[^`]*`)")
_FILTER_RE = re.compile(r"\s*(\|=|!=|\|~|!~)\s*(\"(?:[^\"\\]|\\.)*\"|`[^`]*`)")


@dataclass(frozen=True)
class LogSelector:
    """One stream selector of a LogQL expression and the line filters right after it."""

    matchers: tuple[tuple[str, str, str], ...]  # (label, op, value)
    filters: tuple[tuple[str, str], ...]  # (op, text or regex)


@dataclass(frozen=True)
class LogReader:
    """A dashboard panel, alert or rule reading logs, and what it selects."""

    kind: str
    name: str
    panel: str | None
    selectors: tuple[LogSelector, ...]

    def describe(self) -> str:
        """``alert OrdersStopped`` or ``dashboard 'Checkout' (panel 'Errors')``."""
        text = f"{self.kind} {self.name!r}" if self.kind == "dashboard" else f"{self.kind} {self.name}"
        return text + (f" (panel {self.panel!r})" if self.kind == "dashboard" and self.panel else "")


def _unquote(text: str) -> str:
    if text.startswith("`"):
        return text[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text[1:-1])


def parse_logql(expr: str) -> list[LogSelector]:
    """The stream selectors of a LogQL expression with their line filters (none: not LogQL)."""
    selectors = []
    for match in _SELECTOR_RE.finditer(expr):
        matchers = tuple((m[1], m[2], _unquote(m[3])) for m in _MATCHER_RE.finditer(match.group(1)))
        filters, at = [], match.end()
        while f := _FILTER_RE.match(expr, at):
            filters.append((f[1], _unquote(f[2])))
            at = f.end()
        selectors.append(LogSelector(matchers, tuple(filters)))
    return selectors


def _search(pattern: str, texts: list[str]) -> bool:
    try:
        return any(re.search(pattern, t) for t in texts)
    except re.error:  # RE2 syntax Python lacks: assume it matches
        return True


def _label_matches(op: str, value: str, actual: str | None) -> bool:
    if actual is None:
        return True
    if op in ("=", "!="):
        hit = actual.lower() == value.lower()
    else:
        try:
            hit = re.fullmatch(value, actual, flags=re.IGNORECASE) is not None
        except re.error:
            return True
    return hit if op in ("=", "=~") else not hit


def selector_reads(
    selector: LogSelector, service: str | None, level: str | None, texts: list[str] | None
) -> bool:
    """Whether ``selector`` can read lines of ``service`` at ``level`` shaped like ``texts`` (None: any line)."""
    for label, op, value in selector.matchers:
        if label in SERVICE_LABELS and not _label_matches(op, value, service):
            return False
        if label in LEVEL_LABELS and not _label_matches(op, value, level):
            return False
    if texts is None:
        return True
    for op, value in selector.filters:
        if op == "|=" and not any(value in t for t in texts):
            return False
        if op == "!=" and all(value in t for t in texts):
            return False
        if op == "|~" and not _search(value, texts):
            return False
        if op == "!~" and all(_search(value, [t]) for t in texts):
            return False
    return True


def log_readers(store: Store, snapshot_id: int) -> list[LogReader]:
    """The LogQL readers among a snapshot's usage expressions."""
    rows = store.query(
        "SELECT DISTINCT kind, name, panel, expr FROM usage_problems"
        " WHERE snapshot_id = ? AND problem = 'not_promql' ORDER BY kind, name, panel, expr",
        [snapshot_id],
    )
    readers = []
    for r in rows.iter_rows(named=True):
        selectors = parse_logql(r["expr"] or "")
        if selectors:
            readers.append(LogReader(r["kind"], r["name"], r["panel"], tuple(selectors)))
    return readers


def readers_of(
    readers: list[LogReader], service: str | None, level: str | None, lines: list[list[str]] | None = None
) -> list[LogReader]:
    """The readers of some lines of ``service`` at ``level``; ``lines``: the templates those lines
    take (each as its text and example), None where they are not known (then any line counts)."""
    groups: list[list[str] | None] = list(lines) if lines else [None]
    return [
        r for r in readers if any(selector_reads(s, service, level, g) for s in r.selectors for g in groups)
    ]


def selector_text(selector: LogSelector) -> str:
    """The selector and its line filters as LogQL text."""
    matchers = ", ".join(f"{label}{op}{json.dumps(value)}" for label, op, value in selector.matchers)
    return "{" + matchers + "}" + "".join(f" {op} {json.dumps(value)}" for op, value in selector.filters)


def template_lines(template: str, example: str | None) -> list[str]:
    """What a template's lines look like, to match filters against: its text and its example line."""
    return [template] + ([example] if example else [])


def readers_frame(readers: list[LogReader], templates: pl.DataFrame) -> pl.DataFrame:
    """One row per LogQL reader: what it selects and which of the snapshot's templates it reads."""
    rows = []
    for reader in readers:
        read = [
            t
            for t in templates.iter_rows(named=True)
            if any(
                readers_of(
                    [reader],
                    service,
                    t["level"],
                    [[t["template"]] + ([t["example"]] if t["example"] else [])],
                )
                for service in (t["services"] or [None])
            )
        ]
        rows.append(
            {
                "kind": reader.kind, "name": reader.name, "panel": reader.panel,
                "selectors": [selector_text(s) for s in reader.selectors],
                "templates_read": len(read), "lines_read": sum(int(t["lines"]) for t in read),
                "monthly_cost_read": sum(float(t["monthly_cost"]) for t in read),
                "examples": [t["template"] for t in read[:5]],
            }
        )  # fmt: skip
    return pl.DataFrame(rows, schema=_READERS_SCHEMA)


_READERS_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "kind": pl.String, "name": pl.String, "panel": pl.String, "selectors": pl.List(pl.String),
    "templates_read": pl.Int64, "lines_read": pl.Int64, "monthly_cost_read": pl.Float64,
    "examples": pl.List(pl.String),
}  # fmt: skip
