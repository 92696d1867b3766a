"""Where a source's rows go: the shapes a reader writes to, owned by the reader's side.

Readers know nothing of the snapshot or of how series get their ids: they are handed a sink and
push frames into it. ``costscope.ingest`` provides the sinks that write a snapshot; a test or a
notebook may hand any object of the same shape.
"""

from __future__ import annotations

from typing import Protocol

import polars as pl

__all__ = ["LogsSink", "MetricsSink", "TracesSink"]


class MetricsSink(Protocol):
    """Takes the series and metadata of one metrics source."""

    def frames(self, series: pl.DataFrame, labels: pl.DataFrame, unique: bool = False) -> None:
        """Series as columns: ``series`` (seq, metric, family), ``labels`` (seq, label, value)."""

    def prepare(
        self, series: pl.DataFrame, labels: pl.DataFrame, unique: bool = False
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The rows ``frames`` would write, made without touching the sink (safe in a worker thread)."""
        ...

    def rows(self, series: pl.DataFrame, labels: pl.DataFrame, unique: bool = True) -> None:
        """Write rows made by ``prepare`` (``unique=False``: a series may come again in another batch)."""

    def metadata(
        self,
        family: str,
        type_: str | None,
        help_: str | None = None,
        unit: str | None = None,
        *,
        temporality: str | None = None,
    ) -> None:
        """What the source says about a metric family (OTLP: its temporality too)."""


class LogsSink(Protocol):
    """Takes the parsed lines (or an index's volume) of one logs source."""

    def add(self, chunk: pl.DataFrame, stream: str) -> None:
        """Parsed lines (message, level, service, ts, has_trace, bytes[, weight]) of ``stream``."""

    def set_volume(self, volume: pl.DataFrame) -> None:
        """Volume rows (stream, service, level, lines, bytes, error_lines) an index reported."""


class TracesSink(Protocol):
    """Takes the spans of one traces source."""

    def add(self, spans: pl.DataFrame) -> None:
        """A batch of spans (columns of ``sources.traces.SPAN_SCHEMA``)."""
