"""Counting inside the backend: what the analysis needs, computed by the server with PromQL.

``collect: counts`` never pulls a series. Every number is one instant query evaluated at one time
``end`` over the same ``lookback`` window as ``series`` mode: a family's series are the union of
``last_over_time(<name>[lookback])`` over its sample names, each tagged with its name
(``label_replace`` into ``__cs_name``) because PromQL functions drop ``__name__`` and a histogram's
``_sum`` and ``_count`` would otherwise collide. Over that union:

- series per sample name: ``count(...)``; per job and ownership label: ``count by (job, ...)``;
- per label: distinct values ``count(count by (L) (...{L!=""}))`` and carriers ``count(...{L!=""})``;
- for the ``top_n`` families: series left without each label ``count(count without (L) (...))``
  (exact, as series mode's xor arithmetic) and its most common values (``topk``);
- buckets and quantiles: ``count by (le)`` / ``count by (quantile)``;
- keep sets asked for after the analysis has read usage: ``count(count without (L1, L2) (...))``.

A query the server refuses as too large (Prometheus' ``--query.max-samples``, VictoriaMetrics'
``-search.maxUniqueTimeseries``: 422 or 400 with the limit in the message) is split by the values
of a label and the parts summed; a label is only split by where the parts stay additive (never the
label being dropped; a label's own values for its distinct count). Nothing is ever reported from a
refused query. Every query counts against ``max_queries``.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import polars as pl

from costscope.errors import CostscopeError, InputWarning, SourceError
from costscope.sources.http import HttpClient
from costscope.sources.prometheus_api import PrometheusApiSource, family_of, infer_families

TAG = "__cs_name"
SPLIT_GROUP = 64  # label values per part when a query must be split
MAX_SPLIT_DEPTH = 4
SAMPLE_VALUES = 2_000  # values kept per label for risky-label classification
TOP_VALUES = 10  # most common values kept per top family x label
SLOWEST = 5
_LIMIT = re.compile(r"exceed|too many|limit|max.?samples|maxUniqueTimeseries|maxSeries", re.I)
_IDENTIFIER = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_REGEX_META = re.compile(r"([\\.+*?()|\[\]{}^$])")

T = TypeVar("T")
R = TypeVar("R")


class CountsSink(Protocol):
    """Takes the counts of one backend: rows for one ``counted_*`` table at a time."""

    def counted(self, table: str, frame: pl.DataFrame) -> None:
        """Rows of ``table`` (its columns, without snapshot and source)."""

    def metadata(
        self, family: str, type_: str | None, help_: str | None = None, unit: str | None = None
    ) -> None:
        """What the server says about a metric family."""


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

    def instant(self, query: str) -> list[tuple[dict[str, str], float]]:
        """The (labels, value) pairs of one instant query at ``end``."""
        with self._lock:
            if self.stats.queries >= self.max_queries:
                raise self.client.error(
                    f"query budget spent: {self.max_queries} queries (raise max_queries to count more)",
                    "/api/v1/query",
                )
            self.stats.queries += 1  # reserved now, accounted when it returns
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


def value_sample(values: Iterable[str], limit: int = SAMPLE_VALUES) -> list[str]:
    """At most ``limit`` values chosen by hash: the same values give the same sample every run."""
    return sorted(values, key=lambda v: hashlib.blake2b(v.encode(), digest_size=8).digest())[:limit]


class BackendCounts:
    """Counts one Prometheus-compatible server's series inside it (``collect: counts``)."""

    def __init__(
        self,
        api: PrometheusApiSource,
        *,
        top_n: int,
        max_queries: int,
        group_labels: Sequence[str] = ("job",),
        end: float | None = None,
    ) -> None:
        self.api = api
        self.client = api.client
        self.end = api.end if end is None else end
        self.counter = PromqlCounter(self.client, self.end, self.client.source.lookback_s, max_queries)
        self.top_n = top_n
        self.group_labels = tuple(sorted({lb for lb in group_labels if is_identifier(lb)}))
        self.errors: list[CostscopeError] = []
        self.families: dict[str, tuple[str, ...]] = {}
        self.meta: dict[str, tuple[str | None, str | None, str | None]] = {}

    def _each(self, items: Sequence[T], work: Callable[[T], R]) -> list[tuple[T, R | None]]:
        """``work`` over ``items`` with the source's concurrency; a failure is an error row, not the end."""
        with ThreadPoolExecutor(self.client.source.concurrency, thread_name_prefix="costscope-count") as pool:
            futures = [(item, pool.submit(work, item)) for item in items]
            out: list[tuple[T, R | None]] = []
            for item, future in futures:
                try:
                    out.append((item, future.result()))
                except CostscopeError as exc:
                    self.errors.append(exc)
                    out.append((item, None))
            return out

    def discover(self) -> None:
        """The metric names and families in the window, with the server's metadata."""
        names = self.api.metric_names()
        self.meta = self.api.metadata()
        infer_families(names, self.meta)
        grouped: dict[str, list[str]] = {}
        for name in names:
            grouped.setdefault(family_of(name, self.meta), []).append(name)
        self.families = {f: tuple(n) for f, n in sorted(grouped.items())}

    def collect(self, sink: CountsSink) -> pl.DataFrame:
        """Count everything the analysis reads into ``sink``; returns the scrape stats."""
        self.discover()
        names = [(f, n) for f, ns in self.families.items() for n in ns]
        counted = self._each(names, lambda fn: self.counter.evaluate(Count((fn[1],), "count({x})")))
        series = {(f, n): int(r.get((), 0.0)) for (f, n), r in counted if r is not None}
        sink.counted(
            "counted_series",
            pl.DataFrame(
                [{"metric": n, "family": f, "series": s} for (f, n), s in series.items() if s],
                schema={"metric": pl.String, "family": pl.String, "series": pl.Int64},
            ),
        )
        per_family: dict[str, int] = {}
        for (f, _), s in series.items():
            per_family[f] = per_family.get(f, 0) + s
        families = [f for f in self.families if per_family.get(f)]
        labels = dict(
            (f, ls)
            for f, ls in self._each(families, lambda f: self.counter.labels(self.families[f]))
            if ls is not None
        )
        self._groups(sink, families)
        widths, pairs = self._label_stats(sink, families, labels, per_family)
        self._points(sink, families)
        self._label_values(sink, labels, widths, pairs)
        for family, (type_, help_, unit) in self.meta.items():
            sink.metadata(family, type_, help_, unit)
        return self.api.scrape_stats().with_columns(source=pl.lit(self.client.source.name))

    def _groups(self, sink: CountsSink, families: list[str]) -> None:
        by = ", ".join(self.group_labels)
        rows = []
        for f, result in self._each(
            families,
            lambda f: self.counter.evaluate(
                Count(self.families[f], f"count by ({by}) ({{x}})", by=self.group_labels)
            ),
        ):
            for key, value in (result or {}).items():
                rows.append(
                    {
                        "family": f,
                        "group_labels": list(self.group_labels),
                        "group_values": list(key),
                        "series": int(value),
                    }
                )
        sink.counted(
            "counted_groups",
            pl.DataFrame(rows, schema={"family": pl.String, "group_labels": pl.List(pl.String),
                                       "group_values": pl.List(pl.String), "series": pl.Int64}),
        )  # fmt: skip

    def _label_stats(
        self, sink: CountsSink, families: list[str], labels: dict[str, list[str]], series: dict[str, int]
    ) -> tuple[dict[tuple[str, str], int], list[dict[str, Any]]]:
        top = set(sorted(families, key=lambda f: (-series[f], f))[: self.top_n])
        work: list[tuple[str, str, str]] = []
        for f in families:
            for lb in labels.get(f, []):
                if not is_identifier(lb):
                    self.errors.append(
                        self.client.error(f"{f}: label {lb!r} cannot be named in PromQL; not counted")
                    )
                    continue
                work += [(f, lb, "values"), (f, lb, "carriers")]
                if f in top:
                    work += [(f, lb, "after"), (f, lb, "top")]

        def one(item: tuple[str, str, str]) -> dict[tuple[str, ...], float]:
            f, lb, what = item
            names, has = self.families[f], f'{lb}!=""'
            if what == "values":
                return self.counter.evaluate(
                    Count(names, f"count(count by ({lb}) ({{x}}))", has, split_only=lb)
                )
            if what == "carriers":
                return self.counter.evaluate(Count(names, "count({x})", has))
            if what == "after":
                return self.counter.evaluate(
                    Count(names, f"count(count without ({lb}) ({{x}}))", never_split=frozenset({lb}))
                )
            # the most common values: never split (a part's top values are not the whole's)
            try:
                rows = self.counter.instant(
                    f"topk({TOP_VALUES}, count by ({lb}) ({self.counter.series_of(names, [has])}))"
                )
            except QueryTooLarge:
                self.errors.append(
                    InputWarning(
                        f"{f}: the most common values of {lb} not counted (over the server's query limits)"
                    )
                )
                return {}
            return {(labels_.get(lb, ""),): v for labels_, v in rows}

        found: dict[tuple[str, str, str], dict[tuple[str, ...], float]] = {
            item: r for item, r in self._each(work, one) if r is not None
        }
        rows, pairs = [], []
        for f in families:
            for lb in labels.get(f, []):
                if (f, lb, "values") not in found or (f, lb, "carriers") not in found:
                    continue
                after = found.get((f, lb, "after"))
                carriers = int(found[(f, lb, "carriers")].get((), 0.0))
                if not carriers:
                    continue
                rows.append(
                    {"family": f, "label": lb, "label_values": int(found[(f, lb, "values")].get((), 0.0)),
                     "carriers": carriers, "series_after": int(after.get((), 0.0)) if after is not None else None,
                     "coverage": "exact" if after is not None else "cardinality_only"}
                )  # fmt: skip
                for (value,), n in (found.get((f, lb, "top")) or {}).items():
                    pairs.append({"family": f, "label": lb, "value": value, "series": int(n)})
        sink.counted(
            "counted_labels",
            pl.DataFrame(rows, schema={"family": pl.String, "label": pl.String, "label_values": pl.Int64,
                                       "carriers": pl.Int64, "series_after": pl.Int64, "coverage": pl.String}),
        )  # fmt: skip
        sink.counted(
            "counted_pairs",
            pl.DataFrame(
                pairs,
                schema={"family": pl.String, "label": pl.String, "value": pl.String, "series": pl.Int64},
            ),
        )
        widths = {(str(r["family"]), str(r["label"])): int(str(r["label_values"])) for r in rows}
        return widths, pairs

    def _points(self, sink: CountsSink, families: list[str]) -> None:
        work = []
        for f in families:
            type_ = (self.meta.get(f) or (None,))[0]
            if type_ in ("histogram", "gaugehistogram") and f + "_bucket" in self.families[f]:
                work.append((f, f + "_bucket", "le"))
            elif type_ == "summary" and f in self.families[f]:
                work.append((f, f, "quantile"))
        rows = []
        for (f, _, point), result in self._each(
            work, lambda w: self.counter.evaluate(Count((w[1],), f"count by ({w[2]}) ({{x}})", by=(w[2],)))
        ):
            rows += [
                {"family": f, "point": key[0], "series": int(v)}
                for key, v in (result or {}).items()
                if key[0]
            ]
            del point
        sink.counted(
            "counted_points",
            pl.DataFrame(rows, schema={"family": pl.String, "point": pl.String, "series": pl.Int64}),
        )

    def _label_values(
        self,
        sink: CountsSink,
        labels: dict[str, list[str]],
        widths: dict[tuple[str, str], int],
        pairs: list[dict[str, Any]],
    ) -> None:
        """Distinct values of each label over every metric carrying it, and a sample to classify them.

        One family: its own count. Few values in each family: the values themselves from the index
        (``/api/v1/label/L/values`` with ``match[]``, at most ``SAMPLE_VALUES`` per family). Else one
        union query, never the values (the sample is then the common values counted).
        """
        families: dict[str, list[str]] = {}
        for f, ls in labels.items():
            for lb in ls:
                if (f, lb) in widths:
                    families.setdefault(lb, []).append(f)
        seen: dict[str, set[str]] = {}
        for p in pairs:
            seen.setdefault(p["label"], set()).add(p["value"])

        def one(lb: str) -> tuple[int, list[str], str]:
            fams = families[lb]
            names = tuple(n for f in fams for n in self.families[f])
            if len(fams) == 1:
                return widths[(fams[0], lb)], value_sample(seen.get(lb, ())), "exact"
            if all(widths[(f, lb)] <= SAMPLE_VALUES for f in fams):
                try:
                    values = self.counter.label_values(lb, self.counter.selector(names))
                except SourceError:  # the index search over too many series (VictoriaMetrics' limits)
                    union: set[str] = set()  # each metric's few values, from PromQL, joined here
                    for f in fams:
                        by = Count(self.families[f], f"count by ({lb}) ({{x}})", f'{lb}!=""', by=(lb,))
                        union |= {key[0] for key in self.counter.evaluate(by)}
                    values = sorted(union)
                return len(values), value_sample(values), "exact"
            union_count = Count(
                names, f"count(count by ({lb}) ({{x}}))", f'{lb}!=""', split_only=lb,
                merged=self.api.flavour == "victoriametrics",
            )  # fmt: skip
            try:
                found = int(self.counter.evaluate(union_count).get((), 0.0))
                return found, value_sample(seen.get(lb, ())), "exact"
            except CostscopeError as exc:
                largest = max(widths[(f, lb)] for f in fams)
                self.errors.append(
                    InputWarning(
                        f"label {lb}: its distinct values over {len(fams)} metrics not counted ({exc}); the"
                        f" largest metric's {largest:,} is used, a lower bound"
                    )
                )
                return largest, value_sample(seen.get(lb, ())), "lower_bound"

        rows = [
            {"label": lb, "label_values": result[0], "sample": result[1], "coverage": result[2]}
            for lb, result in self._each(sorted(families), one)
            if result is not None
        ]
        sink.counted(
            "counted_label_values",
            pl.DataFrame(
                rows,
                schema={
                    "label": pl.String,
                    "label_values": pl.Int64,
                    "sample": pl.List(pl.String),
                    "coverage": pl.String,
                },
            ),
        )

    def keep_sets(self, sink: CountsSink, wanted: Sequence[tuple[str, tuple[str, ...]]]) -> None:
        """Series left per family when each wanted set of labels goes at once."""
        if not self.families:
            self.discover()
        work = [
            (f, dropped)
            for f, dropped in wanted
            if f in self.families and dropped and all(is_identifier(lb) for lb in dropped)
        ]

        def one(item: tuple[str, tuple[str, ...]]) -> dict[tuple[str, ...], float]:
            f, dropped = item
            return self.counter.evaluate(
                Count(self.families[f], f"count(count without ({', '.join(dropped)}) ({{x}}))",
                      never_split=frozenset(dropped))
            )  # fmt: skip

        rows = [
            {"family": f, "dropped": sorted(dropped), "series_after": int(r.get((), 0.0))}
            for (f, dropped), r in self._each(work, one)
            if r is not None
        ]
        sink.counted(
            "counted_keep_sets",
            pl.DataFrame(
                rows, schema={"family": pl.String, "dropped": pl.List(pl.String), "series_after": pl.Int64}
            ),
        )
