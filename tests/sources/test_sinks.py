"""A reader pushes into any object of a sink's shape: it needs neither the store nor ingest."""

from __future__ import annotations

import polars as pl
from prometheus_client.parser import text_string_to_metric_families

from costscope.sources.metrics_file import collect_file
from tests.conftest import shared


class ListSink:
    """A MetricsSink that keeps what it is given, as a notebook might."""

    def __init__(self) -> None:
        self.series: list[pl.DataFrame] = []
        self.labels: list[pl.DataFrame] = []
        self.families: dict[str, str | None] = {}

    def frames(self, series: pl.DataFrame, labels: pl.DataFrame, unique: bool = False) -> None:
        self.series.append(series)
        self.labels.append(labels)

    def prepare(
        self, series: pl.DataFrame, labels: pl.DataFrame, unique: bool = False
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        return series, labels

    def rows(self, series: pl.DataFrame, labels: pl.DataFrame, unique: bool = True) -> None:
        self.frames(series, labels)

    def metadata(
        self,
        family: str,
        type_: str | None,
        help_: str | None = None,
        unit: str | None = None,
        *,
        temporality: str | None = None,
    ) -> None:
        self.families[family] = type_


def test_a_reader_fills_a_plain_sink_with_every_sample() -> None:
    path = shared("prometheus_exposition", "node_exporter", "e2e-output-darwin.txt")
    sink = ListSink()
    stats = collect_file(path, sink)
    text = path.read_text(encoding="utf-8")
    oracle = [s for f in text_string_to_metric_families(text) for s in f.samples]
    series = pl.concat(sink.series)
    assert stats.samples == series.height == len(oracle)
    assert sorted(series["metric"].unique().to_list()) == sorted({s.name for s in oracle})
    # prometheus_client renames counter families (no _total): the TYPE lines are the oracle here
    typed = {line.split()[2]: line.split()[3] for line in text.splitlines() if line.startswith("# TYPE ")}
    # the text format's "untyped" is OpenMetrics' "unknown", the name costscope keeps
    assert sink.families == {k: "unknown" if v == "untyped" else v for k, v in typed.items()}
