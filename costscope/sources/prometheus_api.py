"""The Prometheus-compatible HTTP API source: Prometheus, VictoriaMetrics, Mimir/Cortex, Thanos.

What it collects per snapshot, and why this way:

- the flavour: VictoriaMetrics is told apart by its ``/api/v1/status/tsdb`` keys (its Debian
  build answers ``buildinfo`` with an empty object), Mimir by ``buildinfo``'s application;
- every metric name (``/api/v1/label/__name__/values``), then **every series' label set, metric by
  metric** (``/api/v1/series?match[]={__name__="m"}``) over the ``lookback`` window, with bounded
  concurrency. ``/api/v1/status/tsdb`` is not enough: before Prometheus 2.45 it is a top-10 of the
  head block only. A metric too large for the server's series limit (VictoriaMetrics'
  ``-search.maxSeries``) is split by its most selective label, recursively;
- metadata (type, help, unit) and samples per job/target (``scrape_samples_scraped``,
  ``scrape_series_added`` and the targets' scrape intervals) for DPM-based pricing.

Each metric's series go to DuckDB as soon as they arrive: at most ``concurrency`` metrics are in
memory at once, never the whole fleet. A metric that still fails after retries is recorded as an
error and the rest goes on (the snapshot is then partial); after ``MAX_ERRORS`` failures the
source is given up.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import polars as pl

from costscope.errors import CostscopeError, SourceError
from costscope.sources.http import HttpClient
from costscope.sources.sinks import MetricsSink

MAX_ERRORS = 5
SPLIT_GROUP = 256  # label values per request when a metric must be split
_TOO_MANY = re.compile(r"exceeds|too many|limit", re.I)
_REGEX_META = re.compile(r"([\\.+*?()|\[\]{}^$])")

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ServerInfo:
    """What the server is: ``flavour`` (prometheus, victoriametrics, mimir, thanos) and version."""

    flavour: str
    version: str | None


class TooManySeries(Exception):
    """The server refused a series request as too large (it must be split)."""


def _data(doc: Any, what: str, client: HttpClient) -> Any:
    if not isinstance(doc, dict) or doc.get("status") != "success" or "data" not in doc:
        error = doc.get("error") if isinstance(doc, dict) else None
        raise client.error(f"{what}: {error or 'not a Prometheus API response'}")
    return doc["data"]


def detect(client: HttpClient, forced: str = "auto") -> ServerInfo:
    """The server's flavour and version (``forced`` wins when it is not ``auto``)."""
    version: str | None = None
    application = ""
    build = client.get_json("/api/v1/status/buildinfo", accept=frozenset({404}))
    if isinstance(build, dict) and isinstance(build.get("data"), dict):
        version = build["data"].get("version") or None
        application = str(build["data"].get("application", ""))
    if forced not in ("auto", "prometheus"):
        return ServerInfo(forced, version)
    tsdb = client.get_json("/api/v1/status/tsdb", accept=frozenset({404, 400, 501}))
    keys = set(tsdb.get("data") or {}) if isinstance(tsdb, dict) else set()
    if "totalSeries" in keys or "seriesCountByFocusLabelValue" in keys:
        return ServerInfo("victoriametrics", version)
    if "mimir" in application.lower():
        return ServerInfo("mimir", version)
    if "thanos" in application.lower():
        return ServerInfo("thanos", version)
    return ServerInfo("prometheus", version)


def _matcher(label: str, values: list[str]) -> str:
    if len(values) == 1:
        escaped = values[0].replace("\\", "\\\\").replace('"', '\\"')
        return f'{label}="{escaped}"'
    alternatives = "|".join(_REGEX_META.sub(r"\\\1", v) for v in values)
    escaped = alternatives.replace("\\", "\\\\").replace('"', '\\"')
    return f'{label}=~"{escaped}"'


class PrometheusApiSource:
    """Reads one Prometheus-compatible server into a snapshot."""

    def __init__(self, client: HttpClient, flavour: str, progress: Progress | None = None) -> None:
        self.client = client
        self.flavour = flavour
        self.progress = progress
        self.end = time.time()
        self.start = self.end - client.source.lookback_s
        self.errors: list[CostscopeError] = []

    def _window(self) -> dict[str, str]:
        return {"start": f"{self.start:.3f}", "end": f"{self.end:.3f}"}

    def metric_names(self) -> list[str]:
        """Every metric name with series in the window."""
        doc = self.client.get_json("/api/v1/label/__name__/values", self._window())
        return sorted(str(n) for n in _data(doc, "metric names", self.client))

    def metadata(self) -> dict[str, tuple[str | None, str | None, str | None]]:
        """Type, help and unit per metric family, where the server keeps metadata."""
        doc = self.client.get_json("/api/v1/metadata", accept=frozenset({404, 400}))
        out: dict[str, tuple[str | None, str | None, str | None]] = {}
        data = doc.get("data") if isinstance(doc, dict) else None
        if isinstance(data, dict):
            for name, entries in data.items():
                if isinstance(entries, list) and entries and isinstance(entries[0], dict):
                    e = entries[0]
                    out[str(name)] = (e.get("type"), e.get("help"), e.get("unit") or None)
        return out

    def _series(self, selector: str) -> pl.DataFrame:
        params = {"match[]": selector, **self._window()}
        try:
            # 400/422 carry a server's limit message (a metric to split); 5xx is retried like any fault
            response = self.client.get("/api/v1/series", params, accept=frozenset({400, 422}))
        except SourceError as exc:  # name the metric: the URL shown has no query string
            raise self.client.error(f"series of {selector}: {exc.message}", "/api/v1/series") from None
        if response.status_code < 400 and (decoded := decoded_label_sets(response.content)) is not None:
            return decoded[0]
        try:
            doc = response.json()
        except ValueError:
            raise self.client.error(
                f"series of {selector}: HTTP {response.status_code}, not JSON", "/api/v1/series"
            ) from None
        if response.status_code >= 400 or doc.get("status") != "success":
            error = str(doc.get("error", ""))
            if _TOO_MANY.search(error):
                raise TooManySeries(error)
            raise self.client.error(
                f"series of {selector}: HTTP {response.status_code}: {error[:300]}", "/api/v1/series"
            )
        data = doc["data"]
        if not isinstance(data, list) or not all(isinstance(s, dict) for s in data):
            raise self.client.error(
                f"series of {selector}: data is not a list of label sets", "/api/v1/series"
            )
        return pl.from_dicts(data, infer_schema_length=None) if data else pl.DataFrame()

    def _label_values(self, label: str, selector: str) -> list[str]:
        doc = self.client.get_json(f"/api/v1/label/{label}/values", {"match[]": selector, **self._window()})
        return [str(v) for v in _data(doc, f"values of {label}", self.client)]

    def series_of(self, metric: str, matchers: tuple[str, ...] = ()) -> Iterator[pl.DataFrame]:
        """The label sets of ``metric`` (a column per label), in one frame or, when too large, several."""
        selector = "{" + ",".join((_matcher("__name__", [metric]), *matchers)) + "}"
        try:
            yield self._series(selector)
            return
        except TooManySeries:
            pass
        used = {m.split("=", 1)[0].rstrip("~") for m in matchers} | {"__name__"}
        doc = self.client.get_json("/api/v1/labels", {"match[]": selector, **self._window()})
        candidates = [str(lb) for lb in _data(doc, "labels", self.client) if lb not in used]
        if not candidates:
            raise self.client.error(
                f"{selector} has more series than the server returns at once and no label to split by",
                "/api/v1/series",
            )
        counted = [
            (len(values), label, values)
            for label in candidates
            if (values := self._label_values(label, selector))
        ]
        _, label, values = max(counted)
        yield from self._split(metric, matchers, label, values)
        yield from self.series_of(metric, (*matchers, f'{label}=""'))

    def _split(
        self, metric: str, matchers: tuple[str, ...], label: str, values: list[str]
    ) -> Iterator[pl.DataFrame]:
        group = SPLIT_GROUP
        i = 0
        while i < len(values):
            chunk = values[i : i + group]
            selector = (
                "{" + ",".join((_matcher("__name__", [metric]), *matchers, _matcher(label, chunk))) + "}"
            )
            try:
                yield self._series(selector)
                i += len(chunk)
            except TooManySeries:
                if len(chunk) == 1:  # one value is still too many: split it by another label
                    yield from self.series_of(metric, (*matchers, _matcher(label, chunk)))
                    i += 1
                else:
                    group = max(1, len(chunk) // 2)

    def _fetch(
        self, metric: str, family: str, writer: MetricsSink
    ) -> list[tuple[pl.DataFrame, pl.DataFrame]]:
        # runs in a worker thread: decoding, reshaping and hashing happen off the writing thread
        return [
            writer.prepare(*series_frames(part, family), unique=True)
            for part in self.series_of(metric)
            if part.height
        ]

    def collect(self, writer: MetricsSink) -> pl.DataFrame:
        """Collect every series into ``writer``; returns the scrape stats per job and instance."""
        names = self.metric_names()
        meta = self.metadata()
        infer_families(names, meta)
        concurrency = self.client.source.concurrency
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="costscope-series") as pool:
            pending: dict[Future[list[tuple[pl.DataFrame, pl.DataFrame]]], str] = {}
            queue = iter(names)
            done = 0
            while True:
                while len(pending) < concurrency + 1:
                    name = next(queue, None)
                    if name is None:
                        break
                    pending[pool.submit(self._fetch, name, family_of(name, meta), writer)] = name
                if not pending:
                    break
                future = next(iter(pending))  # in submission order: deterministic writes
                metric = pending.pop(future)
                try:
                    for series, labels in future.result():
                        writer.rows(series, labels)
                except CostscopeError as exc:
                    self.errors.append(exc)
                    if len(self.errors) >= MAX_ERRORS:
                        for f in pending:
                            f.cancel()
                        raise self.client.error(
                            f"giving up after {len(self.errors)} failed requests; last: {exc}"
                        ) from None
                done += 1
                if self.progress:
                    self.progress(metric, done, len(names))
        for family, (type_, help_, unit) in meta.items():
            writer.metadata(family, type_, help_, unit)
        return self.scrape_stats().with_columns(source=pl.lit(self.client.source.name))

    def scrape_stats(self) -> pl.DataFrame:
        """Samples scraped and series added per job/instance, with the targets' scrape intervals."""
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for metric, column in (
            ("scrape_samples_scraped", "samples_scraped"),
            ("scrape_series_added", "series_added"),
        ):
            doc = self.client.get_json("/api/v1/query", {"query": metric, "time": f"{self.end:.3f}"})
            result = _data(doc, metric, self.client).get("result", [])
            for item in result:
                labels = item.get("metric", {})
                key = (labels.get("job", ""), labels.get("instance", ""))
                rows.setdefault(key, {})[column] = float(item["value"][1])
        targets = self.client.get_json("/api/v1/targets", {"state": "active"}, accept=frozenset({404, 400}))
        active = (targets.get("data") or {}).get("activeTargets", []) if isinstance(targets, dict) else []
        for t in active:
            labels = t.get("labels", {})
            key = (labels.get("job", ""), labels.get("instance", ""))
            interval = t.get("scrapeInterval")
            if key in rows and isinstance(interval, str):
                from costscope.yaml_nodes import parse_duration

                rows[key]["interval_s"] = parse_duration(interval)
        schema = {"job": pl.String, "instance": pl.String, "samples_scraped": pl.Float64,
                  "series_added": pl.Float64, "interval_s": pl.Float64}  # fmt: skip
        return pl.DataFrame(
            [{"job": j, "instance": i, **{k: v.get(k) for k in ("samples_scraped", "series_added", "interval_s")}}
             for (j, i), v in sorted(rows.items())],
            schema=schema,
        )  # fmt: skip


def decoded_label_sets(raw: bytes) -> tuple[pl.DataFrame, list[str]] | None:
    """A successful ``/api/v1/series`` answer's label sets (a column per label) and its warnings,
    decoded by polars: no Python object per label, and no GIL. None where polars cannot put the
    label sets in one struct (the caller reads the JSON itself)."""
    try:
        answer = pl.read_json(io.BytesIO(raw))
    except (pl.exceptions.PolarsError, ValueError):
        return None
    if "data" not in answer.columns or answer.schema.get("status") != pl.String:
        return None
    if answer["status"][0] != "success":
        return None
    said = (
        answer["warnings"].explode().drop_nulls().to_list()
        if isinstance(answer.schema.get("warnings"), pl.List)
        else []
    )
    data_type = answer.schema["data"]
    if data_type == pl.List(pl.Null):  # an empty list
        return pl.DataFrame(), [str(w) for w in said]
    if isinstance(data_type, pl.List) and isinstance(data_type.inner, pl.Struct):
        return answer.select(pl.col("data").explode()).unnest("data"), [str(w) for w in said]
    return None


def infer_families(names: list[str], meta: dict[str, tuple[str | None, str | None, str | None]]) -> None:
    """Add histogram/summary families the server has no metadata for (VictoriaMetrics keeps none)."""
    present = set(names)
    for name in names:
        base = name.removesuffix("_bucket")
        if base != name and base not in meta and {base + "_sum", base + "_count"} <= present:
            meta[base] = ("histogram", None, None)
    for name in names:
        if name not in meta and {name + "_sum", name + "_count"} <= present:
            meta[name] = ("summary", None, None)


def family_of(metric: str, meta: dict[str, tuple[str | None, str | None, str | None]]) -> str:
    """The family a series name belongs to, by the server's metadata (``x_bucket`` → ``x``)."""
    if metric in meta:
        return metric
    for suffix in ("_bucket", "_sum", "_count", "_total", "_created", "_info"):
        base = metric.removesuffix(suffix)
        if base != metric and base in meta:
            return base
    return metric


def series_frames(series: pl.DataFrame, family: str | pl.Series) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Label sets (a column per label) as the store's frames: (seq, metric, family) and
    (seq, label, value); ``family`` is the family of all of them, or of each (a column).

    A label name is data, never a column name of ours: columns are renamed to positions first, so
    labels called ``label``, ``value`` or ``seq`` (node_exporter has a ``label``) are ordinary labels.
    Label sets of many families are sparse (each has a few of the labels): a label's rows are
    taken where it has a value, never a full table of every label × every series.
    """
    names = series.columns
    positional = {name: f"c{i}" for i, name in enumerate(names)}
    wide = series.rename(positional).with_row_index("seq").with_columns(pl.col("seq").cast(pl.Int64))
    families = pl.lit(family) if isinstance(family, str) else pl.lit(family.cast(pl.String))
    metric = (
        pl.col(positional["__name__"]).cast(pl.String).fill_null(families)
        if "__name__" in positional
        else families
    )
    frame = wide.select("seq", metric.alias("metric"), families.alias("family"))
    parts = [
        wide.select(
            "seq",
            pl.lit(name, pl.String).alias("label"),
            pl.col(positional[name]).cast(pl.String).alias("value"),
        ).filter(pl.col("value").is_not_null())
        for name in names
        if name != "__name__"
    ]
    if not parts:
        return frame, pl.DataFrame(schema={"seq": pl.Int64, "label": pl.String, "value": pl.String})
    return frame, pl.concat(parts)  # label by label: ``identify`` puts them in series order
