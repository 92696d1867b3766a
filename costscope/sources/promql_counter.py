"""Counting queries against one Prometheus-compatible server: PromQL for a family's series over
the window, one evaluation time, a query budget, and splitting a query the server refuses.

A family's series are the union of ``last_over_time(<name>[lookback])`` over its sample names, each
tagged with its name (``label_replace`` into ``__cs_name``): PromQL functions drop ``__name__``,
and a histogram's ``_sum`` and ``_count`` would otherwise collide. A query refused for the server's
limits (Prometheus' ``--query.max-samples``, VictoriaMetrics' ``-search.maxSamplesPerQuery``: 422
or 400 with the limit in the message) is asked again in parts by the values of one label and the
parts summed — only by a label that keeps them additive. Nothing is reported from a refused query.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from costscope.errors import SourceError
from costscope.sources.http import HttpClient

T = TypeVar("T")

TAG = "__cs_name"
SPLIT_GROUP = 64  # label values per part when a query must be split
MAX_SPLIT_DEPTH = 4
SLOWEST = 5
_LIMIT = re.compile(r"exceed|too many|limit|max.?samples|maxUniqueTimeseries|maxSeries", re.I)
_IDENTIFIER = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_REGEX_META = re.compile(r"([\\.+*?()|\[\]{}^$])")


class QueryTooLarge(Exception):
    """The server refused a query for one of its limits (it must be split)."""


def quoted(value: str) -> str:
    """``value`` as a PromQL string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _equal(label: str, value: str) -> str:
    return f"{label}={quoted(value)}"


def _one_of(label: str, values: Sequence[str]) -> str:
    if len(values) == 1:
        return _equal(label, values[0])
    alternatives = "|".join(_REGEX_META.sub(r"\\\1", v) for v in values)
    return f"{label}=~{quoted(alternatives)}"


def is_identifier(label: str) -> bool:
    """Whether PromQL can name ``label`` in ``by``/``without`` (Prometheus 2 label names)."""
    return bool(_IDENTIFIER.match(label))


@dataclass(frozen=True)
class Count:
    """One number (or one per group of ``by``) the backend computes over a family's series.

    ``outer`` holds ``{x}`` where the family's series go; ``member`` is a matcher every member
    selector carries. A refused query is split only by ``split_only`` when set (``outer`` is then
    the distinct count of that label), else by any label but ``never_split`` (the labels it drops).
    """

    names: tuple[str, ...]
    outer: str
    member: str = ""
    by: tuple[str, ...] = ()
    split_only: str | None = None
    never_split: frozenset[str] = frozenset()
    merged: bool = False  # see PromqlCounter.series_of


@dataclass
class QueryStats:
    """What counting asked of the backend: queries, samples it reported touching, the slowest."""

    queries: int = 0
    samples: int | None = None
    seconds: float = 0.0
    slowest: list[tuple[float, str]] = field(default_factory=list)

    def add(self, query: str, seconds: float, samples: int | None) -> None:
        """Account for one query."""
        self.queries += 1
        self.seconds += seconds
        if samples is not None:
            self.samples = (self.samples or 0) + samples
        self.slowest = sorted([*self.slowest, (seconds, query)], reverse=True)[:SLOWEST]


class PromqlCounter:
    """Runs counting queries against one server at one evaluation time, within a query budget."""

    def __init__(self, client: HttpClient, end: float, lookback_s: float, max_queries: int) -> None:
        self.client = client
        self.end = end
        self.start = end - lookback_s
        self.range = f"{max(int(lookback_s), 1)}s"
        self.max_queries = max_queries
        self.stats = QueryStats()
        self._lock = threading.Lock()
        self._labels: dict[tuple[str, ...], list[str]] = {}

    def _window(self) -> dict[str, str]:
        return {"start": f"{self.start:.3f}", "end": f"{self.end:.3f}"}

    def _reserve(self, path: str) -> None:
        """Take one request from the budget (given back and accounted when it returns)."""
        with self._lock:
            if self.stats.queries >= self.max_queries:
                raise self.client.error(
                    f"query budget spent: {self.max_queries} queries (raise max_queries to count more)", path
                )
            self.stats.queries += 1

    def instant(self, query: str) -> list[tuple[dict[str, str], float]]:
        """The (labels, value) pairs of one instant query at ``end``."""
        self._reserve("/api/v1/query")
        started = time.monotonic()
        params = {"query": query, "time": f"{self.end:.3f}", "stats": "all"}
        try:
            response = self.client.get("/api/v1/query", params, accept=frozenset({400, 422}))
        except SourceError as exc:
            raise self.client.error(f"{query[:200]}: {exc.message}", "/api/v1/query") from None
        try:
            doc = response.json()
        except ValueError:
            raise self.client.error(
                f"{query[:200]}: HTTP {response.status_code}, not JSON", "/api/v1/query"
            ) from None
        seconds = time.monotonic() - started
        with self._lock:
            self.stats.queries -= 1
            self.stats.add(query, seconds, _samples(doc))
        if response.status_code >= 400 or not isinstance(doc, dict) or doc.get("status") != "success":
            error = str(doc.get("error", "")) if isinstance(doc, dict) else ""
            if _LIMIT.search(error):
                raise QueryTooLarge(error)
            raise self.client.error(
                f"{query[:200]}: HTTP {response.status_code}: {error[:300]}", "/api/v1/query"
            )
        data = doc.get("data") or {}
        if data.get("resultType") != "vector":
            raise self.client.error(
                f"{query[:200]}: expected a vector, got {data.get('resultType')}", "/api/v1/query"
            )
        return [
            (dict(item.get("metric") or {}), float(item["value"][1])) for item in data.get("result") or []
        ]

    def timed(self, what: str, fetch: Callable[[], T]) -> T:
        """``fetch()`` (a request other than a query: a cardinality API) within the query budget,
        its time in the stats."""
        self._reserve("")
        started = time.monotonic()
        try:
            return fetch()
        finally:
            with self._lock:
                self.stats.queries -= 1
                self.stats.add(what, time.monotonic() - started, None)

    def labels(self, names: tuple[str, ...], matchers: tuple[str, ...] = ()) -> list[str]:
        """The label names the series of ``names`` carry in the window (from the index)."""
        key = (*names, "|", *matchers)
        if key not in self._labels:
            doc = self.client.get_json(
                "/api/v1/labels", {"match[]": self.selector(names, matchers), **self._window()}
            )
            self._labels[key] = sorted(
                str(lb) for lb in _data(doc, "labels", self.client) if lb != "__name__"
            )
        return self._labels[key]

    def label_values(self, label: str, selector: str | None = None) -> list[str]:
        """The values of ``label`` in the window, over ``selector``'s series or every series (index)."""
        params = {**self._window(), **({"match[]": selector} if selector else {})}
        doc = self.client.get_json(f"/api/v1/label/{label}/values", params)
        return sorted(str(v) for v in _data(doc, f"values of {label}", self.client))

    @staticmethod
    def selector(names: Sequence[str], matchers: Sequence[str] = ()) -> str:
        """A series selector for ``names`` (one of them) with ``matchers``."""
        return "{" + ",".join((_one_of("__name__", names), *matchers)) + "}"

    def series_of(self, names: Sequence[str], matchers: Sequence[str] = (), merged: bool = False) -> str:
        """PromQL for the family's series active in the window, one tagged member per name.

        ``merged``: one selector for every name, for a count that groups by a label anyway and a
        server that allows series of several names to meet once the name is gone (VictoriaMetrics;
        Prometheus refuses it), four times faster there than the tagged union.
        """
        if merged and len(names) > 1:
            return f"last_over_time({self.selector(names, matchers)}[{self.range}])"
        members = []
        for name in names:
            inner = f"last_over_time({self.selector([name], matchers)}[{self.range}])"
            members.append(
                f'label_replace({inner}, "{TAG}", {quoted(name)}, "", "")' if len(names) > 1 else inner
            )
        return " or ".join(members)

    def evaluate(
        self, count: Count, matchers: tuple[str, ...] = (), depth: int = 0
    ) -> dict[tuple[str, ...], float]:
        """The count (per group of ``count.by``), split by a label's values where the server refuses it."""
        member = (*matchers, count.member) if count.member else matchers
        query = count.outer.replace("{x}", self.series_of(count.names, member, count.merged))
        try:
            rows = self.instant(query)
        except QueryTooLarge as exc:
            if depth >= MAX_SPLIT_DEPTH:
                raise self.client.error(
                    f"still too large after {depth} splits: {exc}", "/api/v1/query"
                ) from None
            return self._split(count, matchers, depth, str(exc))
        out: dict[tuple[str, ...], float] = {}
        for labels, value in rows:
            key = tuple(labels.get(lb, "") for lb in count.by)
            out[key] = out.get(key, 0.0) + value
        return out

    def _split(
        self, count: Count, matchers: tuple[str, ...], depth: int, why: str
    ) -> dict[tuple[str, ...], float]:
        pinned = {m.split("=", 1)[0].rstrip("!~") for m in matchers}
        if count.split_only is not None:
            label = count.split_only if count.split_only not in pinned else None
        else:
            candidates = [
                lb for lb in self.labels(count.names, matchers) if lb not in pinned | count.never_split
            ]
            widths = [
                (len(self.label_values(lb, self.selector(count.names, matchers))), lb) for lb in candidates
            ]
            label = max(widths)[1] if widths else None
        if label is None:
            raise self.client.error(f"too large and no label left to split by: {why}", "/api/v1/query")
        values = self.label_values(label, self.selector(count.names, matchers))
        total: dict[tuple[str, ...], float] = {}
        parts = [values[i : i + SPLIT_GROUP] for i in range(0, len(values), SPLIT_GROUP)]
        for part in parts:
            _add(total, self._part(count, matchers, label, part, depth))
        if count.split_only is None:  # series without the label are a part of their own
            _add(total, self.evaluate(count, (*matchers, f'{label}=""'), depth + 1))
        return total

    def _part(
        self, count: Count, matchers: tuple[str, ...], label: str, values: list[str], depth: int
    ) -> dict[tuple[str, ...], float]:
        if len(values) == 1 and count.split_only == label:
            # one value of the label being counted: one distinct value, if any series in the window has it
            present = Count(count.names, "count({x})", count.member)
            found = self.evaluate(present, (*matchers, _equal(label, values[0])), depth + 1).get((), 0.0)
            return {(): 1.0} if found else {}
        if len(values) == 1:
            return self.evaluate(count, (*matchers, _equal(label, values[0])), depth + 1)
        member = (*matchers, _one_of(label, values), *((count.member,) if count.member else ()))
        try:
            rows = self.instant(count.outer.replace("{x}", self.series_of(count.names, member, count.merged)))
        except QueryTooLarge:
            half = len(values) // 2
            halves = self._part(count, matchers, label, values[:half], depth)
            _add(halves, self._part(count, matchers, label, values[half:], depth))
            return halves
        out: dict[tuple[str, ...], float] = {}
        for labels, value in rows:
            key = tuple(labels.get(lb, "") for lb in count.by)
            out[key] = out.get(key, 0.0) + value
        return out


def _add(total: dict[tuple[str, ...], float], part: dict[tuple[str, ...], float]) -> None:
    for key, value in part.items():
        total[key] = total.get(key, 0.0) + value


def _samples(doc: Any) -> int | None:
    """Samples the server says the query touched (Prometheus ``stats=all``; VictoriaMetrics' seriesFetched)."""
    if not isinstance(doc, dict):
        return None
    stats = (doc.get("data") or {}).get("stats") if isinstance(doc.get("data"), dict) else None
    if isinstance(stats, dict) and isinstance(stats.get("samples"), dict):
        total = stats["samples"].get("totalQueryableSamples")
        return int(total) if isinstance(total, int | float) else None
    fetched = (doc.get("stats") or {}).get("seriesFetched") if isinstance(doc.get("stats"), dict) else None
    return int(fetched) if isinstance(fetched, str | int) and str(fetched).isdigit() else None


def _data(doc: Any, what: str, client: HttpClient) -> Any:
    if not isinstance(doc, dict) or doc.get("status") != "success" or "data" not in doc:
        error = doc.get("error") if isinstance(doc, dict) else None
        raise client.error(f"{what}: {error or 'not a Prometheus API response'}")
    return doc["data"]
