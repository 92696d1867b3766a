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
from costscope.sources.cardinality_index import CardinalityIndex, IndexUnavailable, LabelStat, index_for
from costscope.sources.prometheus_api import PrometheusApiSource, family_of, infer_families
from costscope.sources.promql_counter import TAG, Count, PromqlCounter, QueryTooLarge, is_identifier

SAMPLE_VALUES = 2_000  # values kept per label for risky-label classification
TOP_VALUES = 10  # most common values kept per top family x label
INDEX_CHECKS = 3  # metrics on which a cardinality API is checked against PromQL before it is used

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
            for f, ls in self._each(families, lambda f: self.counter.labels(self.families[f]))
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
        for f, result in self._each(
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
        top = set(sorted(families, key=lambda f: (-series[f], f))[: self.top_n])
        for f in families:
            for lb in labels.get(f, []):
                if not is_identifier(lb):
                    self.errors.append(
                        self.client.error(f"{f}: label {lb!r} cannot be named in PromQL; not counted")
                    )
        named = {f: [lb for lb in labels.get(f, []) if is_identifier(lb)] for f in families}
        indexed = self._from_index(families, named, top, series)
        work: list[tuple[str, str, str]] = []
        for f in families:
            for lb in named[f]:
                stat = indexed.get((f, lb))
                if stat is None:
                    work += [(f, lb, "values"), (f, lb, "carriers")]
                if f in top and (stat is None or stat.top is None):
                    work.append((f, lb, "top"))

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
        for (f, lb), stat in indexed.items():
            found[(f, lb, "values")] = {(): float(stat.values)}
            found[(f, lb, "carriers")] = {(): float(stat.carriers)}
            if stat.top is not None and f in top:
                found[(f, lb, "top")] = {(value,): float(n) for value, n in stat.top}
        # series left without a label: counted by the backend, unless the counts above prove it
        after_work = []
        for f in sorted(top):
            for lb in named.get(f, []):
                if self._unchanged(found, f, lb, named[f], series[f]):
                    found[(f, lb, "after")] = {(): float(series[f])}
                else:
                    after_work.append((f, lb, "after"))
        found.update({item: r for item, r in self._each(after_work, one) if r is not None})
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

    @staticmethod
    def _unchanged(
        found: dict[tuple[str, str, str], dict[tuple[str, ...], float]],
        f: str,
        label: str,
        labels: list[str],
        n: int,
    ) -> bool:
        """Whether dropping ``label`` provably leaves all ``n`` series of ``f`` apart, with no query:
        it has one value and every series carries it, or another label has a value of its own on
        every series (``values == carriers == n``: that label alone tells them apart)."""

        def stat(lb: str) -> tuple[int, int] | None:
            v, c = found.get((f, lb, "values")), found.get((f, lb, "carriers"))
            return (int(v.get((), 0.0)), int(c.get((), 0.0))) if v is not None and c is not None else None

        own = stat(label)
        if own is not None and own == (1, n):
            return True
        return any(stat(k) == (n, n) for k in labels if k != label)

    def _distinct_from_index(self, names: tuple[str, ...], label: str) -> int | None:
        """Distinct values of ``label`` over several metrics from the cardinality API (None: unavailable)."""
        if self.index is None:
            return None
        try:
            return self.index.distinct_values(names, label)
        except IndexUnavailable:
            return None

    def _from_index(
        self, families: list[str], labels: dict[str, list[str]], top: set[str], series: dict[str, int]
    ) -> dict[tuple[str, str], LabelStat]:
        """Values, carriers and common values per (family, label) from the backend's cardinality API,
        once it has agreed with PromQL on the ``INDEX_CHECKS`` smallest families; {} where it cannot."""
        index = self.index
        with_labels = [f for f in families if labels[f]]
        if index is None or not with_labels:
            return {}

        def ask(f: str) -> dict[str, LabelStat] | None:
            try:
                return index.label_stats(self.families[f], labels[f], TOP_VALUES if f in top else 0)
            except IndexUnavailable as exc:
                self.index_note = f"{exc}: PromQL counted its labels instead"
                return None

        checked = sorted(with_labels, key=lambda f: (series[f], f))[:INDEX_CHECKS]
        answers = {f: r for f, r in self._each(checked, ask) if r is not None}
        if len(answers) < len(checked):
            return {}
        pairs = [(f, lb) for f in checked for lb in labels[f]]
        by_promql = dict(self._each(pairs, self._values_and_carriers))
        for (f, lb), promql in by_promql.items():
            stat = answers[f][lb]
            if promql is None or promql != (stat.values, stat.carriers):
                self.index_note = (
                    f"{index.name} disagrees with PromQL over the window on {f} {lb} ({stat.values:,} values,"
                    f" {stat.carriers:,} series vs {promql}): PromQL counted every label"
                )
                return {}
        rest = [f for f in with_labels if f not in answers]
        answers.update({f: r for f, r in self._each(rest, ask) if r is not None})
        self.indexed = True
        self.index_note = (
            f"label values and carriers of {len(answers):,} metric(s) from {index.name}, equal to PromQL on"
            f" {len(checked)} checked ({len(pairs)} labels)"
        )
        return {
            (f, lb): stat for f, stats in answers.items() for lb, stat in stats.items() if lb in labels[f]
        }

    def _values_and_carriers(self, pair: tuple[str, str]) -> tuple[int, int]:
        f, lb = pair
        names, has = self.families[f], f'{lb}!=""'
        values = self.counter.evaluate(Count(names, f"count(count by ({lb}) ({{x}}))", has, split_only=lb))
        carriers = self.counter.evaluate(Count(names, "count({x})", has))
        return int(values.get((), 0.0)), int(carriers.get((), 0.0))

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
                    if self.indexed:  # the cardinality API counts them without listing them
                        found = self._distinct_from_index(names, lb)
                        if found is not None:
                            return found, value_sample(seen.get(lb, ())), "exact"
                    union: set[str] = set()  # each metric's few values, from PromQL, joined here
                    for f in fams:
                        by = Count(self.families[f], f"count by ({lb}) ({{x}})", f'{lb}!=""', by=(lb,))
                        union |= {key[0] for key in self.counter.evaluate(by)}
                    values = sorted(union)
                return len(values), value_sample(values), "exact"
            if self.indexed:
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
