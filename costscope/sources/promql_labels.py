"""Counting a family's labels: distinct values, series carrying each, the most common values, and
the series left without each label (for the ``top_n`` families), from PromQL or, once it agrees
with PromQL, from the backend's cardinality API (``cardinality_index``); a drop the counts prove
is not asked. ``BackendCounts`` (``promql_counts``) runs it over every family.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import polars as pl

from costscope.errors import InputWarning
from costscope.sources.cardinality_index import IndexUnavailable, LabelStat
from costscope.sources.promql_counter import Count, QueryTooLarge, is_identifier

if TYPE_CHECKING:
    from costscope.sources.promql_counts import BackendCounts, CountsSink

__all__ = ["INDEX_CHECKS", "TOP_VALUES", "label_stats"]

TOP_VALUES = 10  # most common values kept per top family x label
INDEX_CHECKS = 3  # metrics on which a cardinality API is checked against PromQL before it is used
INDEX_SLOW_S = 0.5  # an index answering a metric faster than this is never the slow part

Found = dict[tuple[str, str, str], dict[tuple[str, ...], float]]


def label_stats(
    counts: BackendCounts,
    sink: CountsSink,
    families: list[str],
    labels: dict[str, list[str]],
    series: dict[str, int],
) -> tuple[dict[tuple[str, str], int], list[dict[str, Any]]]:
    """Per (family, label) of ``families``: values, carriers, series after and common values into
    ``sink``; returns the distinct values per (family, label) and the common values."""
    top = set(sorted(families, key=lambda f: (-series[f], f))[: counts.top_n])
    for f in families:
        for lb in labels.get(f, []):
            if not is_identifier(lb):
                counts.errors.append(
                    counts.client.error(f"{f}: label {lb!r} cannot be named in PromQL; not counted")
                )
    named = {f: [lb for lb in labels.get(f, []) if is_identifier(lb)] for f in families}
    indexed = from_index(counts, families, named, top, series)
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
        names = counts.families[f]
        if what != "top":
            return counts.counter.evaluate(_count(what, names, lb))
        # the most common values: never split (a part's top values are not the whole's)
        has = f'{lb}!=""'
        try:
            rows = counts.counter.instant(
                f"topk({TOP_VALUES}, count by ({lb}) ({counts.counter.series_of(names, [has])}))"
            )
        except QueryTooLarge:
            counts.errors.append(
                InputWarning(
                    f"{f}: the most common values of {lb} not counted (over the server's query limits)"
                )
            )
            return {}
        return {(labels_.get(lb, ""),): v for labels_, v in rows}

    found: Found = {item: r for item, r in counts.each(work, one) if r is not None}
    for (f, lb), stat in indexed.items():
        found[(f, lb, "values")] = {(): float(stat.values)}
        found[(f, lb, "carriers")] = {(): float(stat.carriers)}
        if stat.top is not None and f in top:
            found[(f, lb, "top")] = {(value,): float(n) for value, n in stat.top}
    # series left without a label: counted by the backend, unless the counts above prove it
    after_work = []
    for f in sorted(top):
        for lb in named.get(f, []):
            if unchanged(found, f, lb, named[f], series[f]):
                found[(f, lb, "after")] = {(): float(series[f])}
            else:
                after_work.append((f, lb, "after"))
    found.update({item: r for item, r in counts.each(after_work, one) if r is not None})
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


def unchanged(
    found: Found,
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


def from_index(
    counts: BackendCounts,
    families: list[str],
    labels: dict[str, list[str]],
    top: set[str],
    series: dict[str, int],
) -> dict[tuple[str, str], LabelStat]:
    """Values, carriers and common values per (family, label) from the backend's cardinality API,
    once it has agreed with PromQL on the ``INDEX_CHECKS`` smallest families; {} where it cannot."""
    index = counts.index
    with_labels = [f for f in families if labels[f]]
    if index is None or not with_labels:
        return {}

    took: dict[str, float] = {}  # seconds per checked family: the index's answer, PromQL's
    promql_took: dict[str, float] = {}

    def ask(f: str) -> dict[str, LabelStat] | None:
        started = time.perf_counter()
        try:
            return index.label_stats(counts.families[f], labels[f], TOP_VALUES if f in top else 0)
        except IndexUnavailable as exc:
            counts.index_note = f"{exc}: PromQL counted its labels instead"
            return None
        finally:
            took[f] = time.perf_counter() - started

    def by_promql_timed(pair: tuple[str, str]) -> tuple[int, int]:
        started = time.perf_counter()
        try:
            return values_and_carriers(counts, pair)
        finally:
            promql_took[pair[0]] = promql_took.get(pair[0], 0.0) + time.perf_counter() - started

    checked = sorted(with_labels, key=lambda f: (series[f], f))[:INDEX_CHECKS]
    answers = {f: r for f, r in counts.each(checked, ask) if r is not None}
    if len(answers) < len(checked):
        return {}
    pairs = [(f, lb) for f in checked for lb in labels[f]]
    by_promql = dict(counts.each(pairs, by_promql_timed))
    index_s, promql_s = sum(took.values()) / len(checked), sum(promql_took.values()) / len(checked)
    if index_s > max(2 * promql_s, INDEX_SLOW_S):
        # a single node's status scans the whole day's index per request: past some millions of
        # series it costs more than counting a metric's labels with PromQL (docs/scale.md)
        counts.index_note = (
            f"{index.name} answers slower than PromQL here ({index_s:.2f} s a metric vs {promql_s:.2f} s"
            " counting its labels):"
            " PromQL counted every label"
        )
        return {}
    for (f, lb), promql in by_promql.items():
        stat = answers[f][lb]
        if promql is None or promql != (stat.values, stat.carriers):
            counts.index_note = (
                f"{index.name} disagrees with PromQL over the window on {f} {lb} ({stat.values:,} values,"
                f" {stat.carriers:,} series vs {promql}): PromQL counted every label"
            )
            return {}
    rest = [f for f in with_labels if f not in answers]
    answers.update({f: r for f, r in counts.each(rest, ask) if r is not None})
    counts.indexed = True
    counts.index_note = (
        f"label values and carriers of {len(answers):,} metric(s) from {index.name}, equal to PromQL on"
        f" {len(checked)} checked ({len(pairs)} labels)"
    )
    return {(f, lb): stat for f, stats in answers.items() for lb, stat in stats.items() if lb in labels[f]}


def values_and_carriers(counts: BackendCounts, pair: tuple[str, str]) -> tuple[int, int]:
    """A family's label: its distinct values and the series carrying it, counted with PromQL."""
    f, lb = pair
    values, carriers = (
        counts.counter.evaluate(_count(w, counts.families[f], lb)) for w in ("values", "carriers")
    )
    return int(values.get((), 0.0)), int(carriers.get((), 0.0))


def _count(what: str, names: tuple[str, ...], label: str) -> Count:
    """The PromQL count of a family's ``label``: its distinct ``values``, the ``carriers`` (series that
    have it), or the series left ``after`` it is dropped."""
    has = f'{label}!=""'
    if what == "values":
        return Count(names, f"count(count by ({label}) ({{x}}))", has, split_only=label)
    if what == "carriers":
        return Count(names, "count({x})", has)
    return Count(names, f"count(count without ({label}) ({{x}}))", never_split=frozenset({label}))
