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

How a query is built, budgeted and split when the server refuses it: ``promql_counter``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

import polars as pl

from costscope.errors import CostscopeError, InputWarning, SourceError
from costscope.sources.cardinality_index import CardinalityIndex, IndexUnavailable, index_for
from costscope.sources.prometheus_api import PrometheusApiSource, family_of, infer_families
from costscope.sources.promql_counter import TAG, Count, PromqlCounter, is_identifier
from costscope.sources.promql_labels import label_stats

SAMPLE_VALUES = 2_000  # values kept per label for risky-label classification

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
        use_index: bool = True,
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
        self.index: CardinalityIndex | None = (
            index_for(api.flavour, self.client, self.counter) if use_index else None
        )
        self.index_note: str | None = None  # what the cardinality API answered, for the run's line
        self.indexed = False  # the cardinality API agreed with PromQL and is used

    def each(self, items: Sequence[T], work: Callable[[T], R]) -> list[tuple[T, R | None]]:
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
        series = self._groups(sink, list(self.families))
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
            for f, ls in self.each(families, lambda f: self.counter.labels(self.families[f]))
            if ls is not None
        )
        widths, pairs = self._label_stats(sink, families, labels, per_family)
        self._points(sink, families)
        self._label_values(sink, labels, widths, pairs)
        for family, (type_, help_, unit) in self.meta.items():
            sink.metadata(family, type_, help_, unit)
        return self.api.scrape_stats().with_columns(source=pl.lit(self.client.source.name))

    def _groups(self, sink: CountsSink, families: list[str]) -> dict[tuple[str, str], int]:
        """Series per job and owner label values of each family, and per sample name: one query per
        family, grouped by the name's tag too (its groups summed are the name's series)."""
        by = (TAG, *self.group_labels)
        rows = []
        series: dict[tuple[str, str], int] = {}
        for f, result in self.each(
            families,
            lambda f: self.counter.evaluate(
                Count(self.families[f], f"count by ({', '.join(by)}) ({{x}})", by=by)
            ),
        ):
            groups: dict[tuple[str, ...], int] = {}
            for (tag, *key), value in (result or {}).items():
                name = tag or self.families[f][0]  # one name: no tag
                series[(f, name)] = series.get((f, name), 0) + int(value)
                groups[tuple(key)] = groups.get(tuple(key), 0) + int(value)
            rows += [
                {"family": f, "group_labels": list(self.group_labels), "group_values": list(k), "series": n}
                for k, n in groups.items()
            ]
        sink.counted(
            "counted_groups",
            pl.DataFrame(rows, schema={"family": pl.String, "group_labels": pl.List(pl.String),
                                       "group_values": pl.List(pl.String), "series": pl.Int64}),
        )  # fmt: skip
        return series

    def _label_stats(
        self, sink: CountsSink, families: list[str], labels: dict[str, list[str]], series: dict[str, int]
    ) -> tuple[dict[tuple[str, str], int], list[dict[str, Any]]]:
        return label_stats(self, sink, families, labels, series)

    def _distinct_from_index(self, names: tuple[str, ...], label: str) -> int | None:
        """Distinct values of ``label`` over several metrics from the cardinality API, once it has
        agreed with PromQL (None: not used, or unavailable)."""
        if self.index is None or not self.indexed:
            return None
        try:
            return self.index.distinct_values(names, label)
        except IndexUnavailable:
            return None

    def _points(self, sink: CountsSink, families: list[str]) -> None:
        work = []
        for f in families:
            type_ = (self.meta.get(f) or (None,))[0]
            if type_ in ("histogram", "gaugehistogram") and f + "_bucket" in self.families[f]:
                work.append((f, f + "_bucket", "le"))
            elif type_ == "summary" and f in self.families[f]:
                work.append((f, f, "quantile"))
        rows = []
        for (f, _, point), result in self.each(
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
        (``/api/v1/label/L/values`` with ``match[]``, at most ``SAMPLE_VALUES`` per family). Else, or
        where the index refuses to search that many series, the count from the cardinality API or
        one union query, never the values (the sample is then the common values counted).
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
                values: list[str] | None
                try:
                    values = self.counter.label_values(lb, self.counter.selector(names))
                except SourceError:  # the index search over too many series (VictoriaMetrics' limits)
                    values = None  # counted below, not listed: listing each metric's values costs a
                    # query and its values per metric (15 MB over 1,000 metrics at 10M series)
                if values is not None:
                    return len(values), value_sample(values), "exact"
            found = self._distinct_from_index(names, lb)
            if found is not None:
                return found, value_sample(seen.get(lb, ())), "exact"
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
            for lb, result in self.each(sorted(families), one)
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
            for (f, dropped), r in self.each(work, one)
            if r is not None
        ]
        sink.counted(
            "counted_keep_sets",
            pl.DataFrame(
                rows, schema={"family": pl.String, "dropped": pl.List(pl.String), "series_after": pl.Int64}
            ),
        )
