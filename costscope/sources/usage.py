"""Usage: the queries of dashboards, rules and SLOs, turned into rows of ``usage_refs``.

Each usage source (Grafana dashboards, Prometheus rules, SLO definitions — files or live APIs)
yields ``Query`` items; ``refs_frame`` parses each one and lists the metrics it reads with the
labels it needs. An expression that does not parse, or is not PromQL at all (a Loki panel), is
kept as a ``Problem`` with the expression, never fatal: one odd panel must not hide the usage of
the other thousand.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import polars as pl

from costscope.errors import ParseError
from costscope.sources.promql import ALL, EVERY_SERIES, LabelNeed, MetricRef, metric_refs
from costscope.sources.promql_names import mentioned_names

P = ParamSpec("P")
R = TypeVar("R")
MALFORMED = (AttributeError, TypeError, ValueError, KeyError, IndexError)


def malformed_is_parse_error(what: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Untrusted documents: a field of the wrong type becomes a ParseError naming ``what``, not a crash."""

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(*args, **kwargs)
            except MALFORMED as exc:
                origin = args[1] if len(args) > 1 and isinstance(args[1], str) else None
                raise ParseError(
                    f"malformed {what} ({type(exc).__name__}: {str(exc)[:120]})", file=origin
                ) from None

        return guarded

    return wrap


USAGE_KINDS = ("dashboard", "alert", "recording_rule", "slo", "query")
# LogQL line filters and parsers, TraceQL braces: other query languages found in PromQL fields
_NOT_PROMQL = re.compile(r"\|[=~]|!=\s*\"|\|\s*(json|logfmt|pattern|regexp|line_format|unpack)\b|^\s*\{\s*\.")


@dataclass(frozen=True)
class Query:
    """One PromQL expression and who runs it: a panel of a dashboard, a rule, an SLO."""

    kind: str  # dashboard | alert | recording_rule | slo | query (from a query log)
    name: str  # dashboard title, alert name, recorded metric, SLO name, the query itself
    panel: str | None  # panel title, variable, rule group, SLI part
    origin: str  # file path or URL (without credentials)
    expr: str
    need: LabelNeed = ALL  # what the query's consumer depends on (a variable: its label)
    # labels a series must carry to be read at all: label_values(selector, label) reads only the
    # series that have the label, so a selector naming no metric does not read every metric
    carrying: frozenset[str] = frozenset()
    # from a query log: times it ran, who ran it, its first and last run (unix seconds)
    uses: int | None = None
    clients: tuple[str, ...] = ()
    first_at: float | None = None
    last_at: float | None = None


@dataclass(frozen=True)
class Problem:
    """Something in a usage source that could not be read as PromQL, and why."""

    kind: str
    name: str
    panel: str | None
    origin: str
    expr: str | None
    problem: str  # parse_error | not_promql | unresolved | every_series | no_metric | no_readers
    message: str


_REF_SCHEMA = pl.Schema({
    "source": pl.String(), "metric": pl.String(), "name_match": pl.String(), "labels": pl.List(pl.String()),
    "all_labels": pl.Boolean(), "matchers": pl.List(pl.String()), "kind": pl.String(), "name": pl.String(),
    "panel": pl.String(), "origin": pl.String(), "expr": pl.String(), "bounds": pl.List(pl.String()),
    "uses": pl.Int64(), "clients": pl.List(pl.String()), "first_at": pl.Float64(), "last_at": pl.Float64(),
})  # fmt: skip
_PROBLEM_SCHEMA = pl.Schema({
    "source": pl.String, "kind": pl.String, "name": pl.String, "panel": pl.String, "origin": pl.String,
    "expr": pl.String, "problem": pl.String, "message": pl.String,
})  # fmt: skip


def rule_identity(group: str, labels: object) -> str:
    """A rule's group, and its static labels when it has some: rules of one name and different
    labels (``severity: warning`` and ``critical``, a recording rule per ``cluster``) are distinct."""
    if not isinstance(labels, dict) or not labels:
        return group
    pairs = ",".join(f'{k}="{v}"' for k, v in sorted((str(k), str(v)) for k, v in labels.items()))
    return f"{group} {{{pairs}}}"


EVERY_SERIES_SAID = (
    "selects every series, naming no metric (a cardinality alert, a listing): dropping any one metric"
    " leaves it working, so it is not counted as a reader of each"
)


NO_METRIC = "no_metric"
NO_METRIC_SAID = (
    "reads no metric (a dead man's switch such as vector(1), a constant): nothing to cut breaks it"
)


def looks_like_other_language(expr: str) -> bool:
    """Whether ``expr`` is LogQL or TraceQL rather than PromQL (a panel of another datasource)."""
    return bool(_NOT_PROMQL.search(expr))


def refs_frame(
    source: str, queries: Iterable[Query], problems: list[Problem]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Parse ``queries`` into usage_refs rows; failures join ``problems`` → (refs, problems)."""
    rows: list[dict[str, object]] = []
    for q in queries:
        if not q.expr.strip():
            continue
        try:
            refs = metric_refs(q.expr, q.need)
        except ParseError as exc:
            if looks_like_other_language(q.expr):
                problems.append(
                    Problem(q.kind, q.name, q.panel, q.origin, q.expr, "not_promql", "LogQL/TraceQL")
                )
                continue
            problems.append(Problem(q.kind, q.name, q.panel, q.origin, q.expr, "parse_error", exc.message))
            # what it mentions is read all the same: dropping it would break the query
            refs = [MetricRef(name, "mentioned", ALL) for name in mentioned_names(q.expr)]
        else:  # read, and about no metric in particular: said, so that the reader still counts
            if any(ref.match == EVERY_SERIES for ref in refs):
                problems.append(
                    Problem(q.kind, q.name, q.panel, q.origin, q.expr, EVERY_SERIES, EVERY_SERIES_SAID)
                )
            elif not refs:  # vector(1), time(): a dead man's switch, a constant
                problems.append(Problem(q.kind, q.name, q.panel, q.origin, q.expr, NO_METRIC, NO_METRIC_SAID))
        for ref in refs:
            if ref.match == EVERY_SERIES:
                continue
            rows.append(
                {
                    "source": source,
                    "metric": ref.metric,
                    "name_match": ref.match,
                    "labels": sorted(ref.need.labels),
                    "all_labels": ref.need.every,
                    "matchers": sorted(set(ref.matchers) | q.carrying)
                    if ref.match == "any"
                    else list(ref.matchers),
                    "kind": q.kind,
                    "name": q.name,
                    "panel": q.panel,
                    "origin": q.origin,
                    "expr": q.expr,
                    "bounds": list(ref.bounds),
                    "uses": q.uses,
                    "clients": list(q.clients),
                    "first_at": q.first_at,
                    "last_at": q.last_at,
                }
            )
    refs_df = pl.DataFrame(rows, schema=_REF_SCHEMA)
    problems_df = pl.DataFrame([{"source": source, **p.__dict__} for p in problems], schema=_PROBLEM_SCHEMA)
    return refs_df, problems_df
