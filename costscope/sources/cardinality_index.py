"""A backend's own cardinality API: label statistics from its index, without touching a sample.

Counting a label's distinct values and the series carrying it with PromQL reads every sample of
the metric in the window, twice per label. Two backends answer both from their index in one call
per metric:

- VictoriaMetrics ``/api/v1/status/tsdb`` with ``match[]`` (the metric's names), ``topN`` and
  ``date`` (the day of the evaluation time): ``labelValueCountByLabelName`` and
  ``seriesCountByLabelName``; ``focusLabel`` gives one label's most common values
  (``seriesCountByFocusLabelValue``). It counts the series of that day, and in a cluster its sums
  are inflated by replication.
- Mimir ``/api/v1/cardinality/label_values`` (``label_names[]``, ``selector``,
  ``count_method=active``, ``limit`` ≤ 500, one tenant per call): per label ``label_values_count``,
  ``series_count`` and the most common values. Off unless the cluster runs with
  ``-querier.cardinality-analysis-enabled``; then it answers 400, or 200 with the error in the body.

Neither counts over exactly PromQL's window, so ``promql_counts`` checks the index against PromQL
on a few metrics first and uses it only where the two agree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from costscope.errors import SourceError
from costscope.sources.http import HttpClient
from costscope.sources.promql_counter import PromqlCounter

__all__ = [
    "CardinalityIndex",
    "IndexUnavailable",
    "LabelStat",
    "MimirCardinality",
    "VictoriaTsdbStatus",
    "index_for",
]

MIMIR_LIMIT = 500  # the most values Mimir's label_values returns per label


class IndexUnavailable(Exception):
    """The backend has no usable cardinality API (disabled, refused, or not the documented shape)."""


@dataclass(frozen=True)
class LabelStat:
    """One label of one metric, from the index: distinct values, series carrying it, common values."""

    values: int
    carriers: int
    top: tuple[tuple[str, int], ...] | None  # None: not asked, or the API gives none


class CardinalityIndex(Protocol):
    """Label statistics of a metric's series from the backend's index."""

    name: str

    def label_stats(self, names: tuple[str, ...], labels: list[str], top: int) -> dict[str, LabelStat]:
        """Per label of ``labels``: its statistics over the series of ``names`` (``top`` common values, 0: none)."""

    def distinct_values(self, names: tuple[str, ...], label: str) -> int:
        """Distinct values of ``label`` over the series of all of ``names`` (several metrics)."""


class VictoriaTsdbStatus:
    """VictoriaMetrics' ``/api/v1/status/tsdb`` (``match[]``, ``focusLabel``, ``date``)."""

    name = "VictoriaMetrics /api/v1/status/tsdb"

    def __init__(self, client: HttpClient, counter: PromqlCounter) -> None:
        self.client = client
        self.counter = counter
        self.date = dt.datetime.fromtimestamp(counter.end, dt.UTC).date().isoformat()
        self.first_date = dt.datetime.fromtimestamp(counter.start, dt.UTC).date().isoformat()

    def _status(self, selector: str, top_n: int, focus: str | None = None) -> dict[str, Any]:
        """One status request; none over a window across midnight (the status counts one day)."""
        if self.first_date != self.date:
            raise IndexUnavailable(
                f"{self.name}: the window crosses midnight UTC and the status counts one day"
            )
        params = {
            "match[]": selector,
            "topN": str(top_n),
            "date": self.date,
            **({"focusLabel": focus} if focus else {}),
        }
        doc = self.counter.timed(
            f"tsdb status {selector[:120]}", lambda: self.client.get_json("/api/v1/status/tsdb", params)
        )
        data = doc.get("data") if isinstance(doc, dict) and doc.get("status") == "success" else None
        if not isinstance(data, dict) or "labelValueCountByLabelName" not in data:
            raise IndexUnavailable(
                f"{self.name}: {doc.get('error') if isinstance(doc, dict) else 'not JSON'}"
            )
        return data

    def label_stats(self, names: tuple[str, ...], labels: list[str], top: int) -> dict[str, LabelStat]:
        """Values, carriers and common values per label in one call; a label whose common values
        the call's top pairs do not hold is asked again with ``focusLabel``."""
        selector = self.counter.selector(names)
        top_n = max(100, 10 * (len(labels) + 1))  # every label listed, and most labels' common values
        data = self._status(selector, top_n)
        values = {str(e["name"]): int(e["value"]) for e in data.get("labelValueCountByLabelName") or []}
        carriers = {str(e["name"]): int(e["value"]) for e in data.get("seriesCountByLabelName") or []}
        if len(values) >= top_n:
            raise IndexUnavailable(f"{self.name}: over {top_n:,} labels on {names[0]}")
        listed = data.get("seriesCountByLabelValuePair") or []
        pairs: dict[str, list[tuple[str, int]]] = {}
        for entry in listed:
            label, _, value = str(entry["name"]).partition("=")
            pairs.setdefault(label, []).append((value, int(entry["value"])))
        complete = len(listed) < top_n  # not cut: every pair is there
        out = {}
        for label in labels:
            common = None
            if top and carriers.get(label):
                found = pairs.get(label, [])
                # the top pairs hold a label's most common values down to where the list was cut
                if complete or len(found) >= min(top, values.get(label, 0)):
                    common = tuple(found[:top])
                else:
                    focus = self._status(selector, top, label).get("seriesCountByFocusLabelValue") or []
                    common = tuple((str(e["name"]), int(e["value"])) for e in focus)
            out[label] = LabelStat(values.get(label, 0), carriers.get(label, 0), common)
        return out

    def distinct_values(self, names: tuple[str, ...], label: str) -> int:
        """``labelValueCountByLabelName`` over one selector for every name."""
        data = self._status(self.counter.selector(names), 100, label)
        values = {str(e["name"]): int(e["value"]) for e in data.get("labelValueCountByLabelName") or []}
        if label not in values and len(values) >= 100:
            raise IndexUnavailable(f"{self.name}: {label} not among the 100 labels listed")
        return values.get(label, 0)


class MimirCardinality:
    """Mimir's ``/api/v1/cardinality/label_values`` (``count_method=active``)."""

    name = "Mimir /api/v1/cardinality/label_values"

    def __init__(self, client: HttpClient, counter: PromqlCounter) -> None:
        self.client = client
        self.counter = counter

    def _ask(self, endpoint: str, params: dict[str, Any], key: str) -> dict[str, Any]:
        """One cardinality request; a refusal (400 in plain text, or an error in a 200 body) or any
        other shape is IndexUnavailable naming what Mimir said."""
        path = f"/api/v1/cardinality/{endpoint}"
        try:
            response = self.counter.timed(
                f"cardinality {endpoint} {params['selector'][:100]}",
                lambda: self.client.get(path, params, accept=frozenset({400, 404})),
            )
        except SourceError as exc:
            raise IndexUnavailable(f"Mimir {path}: {exc.message}") from None
        try:
            doc = response.json()
        except ValueError:  # "cardinality analysis is disabled for the tenant: …"
            doc = None
        if not isinstance(doc, dict) or key not in doc:
            said = (
                (doc.get("error") or doc.get("message")) if isinstance(doc, dict) else response.text.strip()
            )
            raise IndexUnavailable(
                f"Mimir {path}: HTTP {response.status_code}: {said or 'not its documented shape'}"[:300]
            )
        return doc

    def label_stats(self, names: tuple[str, ...], labels: list[str], top: int) -> dict[str, LabelStat]:
        """Values, carriers and common values of every label in one call."""
        params = {"label_names[]": labels, "selector": self.counter.selector(names), "count_method": "active",
                  "limit": str(max(1, min(top or 1, MIMIR_LIMIT)))}  # fmt: skip
        doc = self._ask("label_values", params, "labels")
        out = {}
        for item in doc.get("labels") or []:
            common = tuple(
                (str(c["label_value"]), int(c["series_count"])) for c in item.get("cardinality") or []
            )
            out[str(item["label_name"])] = LabelStat(
                int(item.get("label_values_count", 0)),
                int(item.get("series_count", 0)),
                common if top else None,
            )
        return {lb: out.get(lb, LabelStat(0, 0, () if top else None)) for lb in labels}

    def distinct_values(self, names: tuple[str, ...], label: str) -> int:
        """``label_values_count`` of ``/api/v1/cardinality/label_names`` over one selector for every name."""
        params = {"selector": self.counter.selector(names), "limit": str(MIMIR_LIMIT)}
        doc = self._ask("label_names", params, "cardinality")
        counts = {str(c["label_name"]): int(c["label_values_count"]) for c in doc["cardinality"]}
        if label not in counts and len(counts) >= MIMIR_LIMIT:
            raise IndexUnavailable(f"Mimir label_names: {label} not among the {MIMIR_LIMIT} listed")
        return counts.get(label, 0)


def index_for(flavour: str, client: HttpClient, counter: PromqlCounter) -> CardinalityIndex | None:
    """The cardinality API of a backend of this flavour, if it has one."""
    if flavour == "victoriametrics":
        return VictoriaTsdbStatus(client, counter)
    if flavour == "mimir":
        return MimirCardinality(client, counter)
    return None
