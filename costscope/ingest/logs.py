"""Writing the log tables: ``log_volume`` (per stream, service, level) and ``log_templates``.

Chunks of parsed lines arrive from a source; their shapes (masked lines) go to one
``TemplateMiner`` per source and the counts are folded per (shape, service, level) as they come,
so memory holds aggregates, never lines. ``close`` settles the templates and writes both tables.
A template's id is a hash of its text, the same in every run, so snapshots compare.
"""

from __future__ import annotations

import hashlib

import polars as pl

from costscope.ingest.attributes import AttributeTally
from costscope.ingest.captures import Captures
from costscope.ingest.templates import TemplateMiner, mask_expr, present_in
from costscope.store.snapshot import SnapshotWriter

TRUNCATE_BYTES = 4096  # lines longer than this are "oversized": truncating them is an action
DEFAULT_PERIOD_S = 86_400.0  # a file without timestamps is taken to hold one day
FOLD_ROWS = 200_000  # partial aggregates gathered before they are folded again
DEDUPE_BELOW = 0.6  # share of distinct messages under which masking each distinct one once pays
REMEASURE_CHUNKS = 8

_ERROR = ("ERROR", "FATAL")


def template_key(text: str) -> str:
    """A stable id for a template text."""
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


class LogsWriter:
    """Folds parsed log chunks of one source into volume and template aggregates."""

    def __init__(self, snapshot: SnapshotWriter, source: str) -> None:
        self.snapshot = snapshot
        self.source = source
        self.miner = TemplateMiner()
        self._parts: list[pl.DataFrame] = []
        self._rows = 0
        self.lines = 0
        self.bytes = 0
        self.captures = Captures()
        self._volume: pl.DataFrame | None = None
        self.attributes = AttributeTally()
        self._chunks = 0
        self._distinct_share = 0.0  # of the messages in the last chunk measured

    def add(self, chunk: pl.DataFrame, stream: str) -> None:
        """Add parsed lines (message, level, service, ts, has_trace, bytes) of ``stream``.

        An optional ``weight`` column says how many lines each row stands for (a sample scaled
        to the whole, a pattern with its count).
        """
        if chunk.is_empty():
            return
        if "weight" not in chunk.columns:
            chunk = chunk.with_columns(weight=pl.lit(1.0))
        chunk = self.attributes.add(chunk, "weight")  # OTLP records' own and their resources' attributes
        shapes = self._shapes(chunk)
        # shape ids in order of first appearance: which shape of a template is met first decides its
        # text (and so its id), so the same lines must give the same ids in every run
        uniq = shapes.to_frame().group_by("shape", maintain_order=True).agg(pl.len().alias("count"))
        ids = uniq.select(
            "shape",
            shape_id=pl.Series(
                self.miner.add_shapes(uniq["shape"].to_list(), uniq["count"].to_list()), dtype=pl.Int64
            ),
        )
        shape_ids = shapes.to_frame().join(
            ids, on="shape", how="left", nulls_equal=True, maintain_order="left"
        )
        frame = chunk.with_columns(
            shape_id=shape_ids["shape_id"],
            shape=shapes,
            stream=pl.lit(stream),
            error=pl.col("level").is_in(list(_ERROR)).fill_null(False),
            oversize=(pl.col("bytes") - TRUNCATE_BYTES).clip(lower_bound=0),
        )
        timed = chunk.select("service", "ts").drop_nulls("ts")
        if timed.height:  # each service's own window: services of one folder may be days apart
            windows = timed.group_by("service").agg(first=pl.col("ts").min(), last=pl.col("ts").max())
            for service, first, last in windows.iter_rows():
                self.captures.see(float(first), float(last), service)
        self._fold(frame)
        self.lines += chunk.height
        self.bytes += int(chunk["bytes"].sum())

    def _shapes(self, chunk: pl.DataFrame) -> pl.Series:
        """Each line's shape (its message masked). A dozen regex passes a message: where messages
        repeat, each distinct one is masked once; where nearly all differ (the last measure said
        so), finding the distinct ones would cost more than it saves, and every line is masked.
        The share is measured again every ``REMEASURE_CHUNKS`` chunks."""
        self._chunks += 1
        if self._distinct_share > DEDUPE_BELOW and self._chunks % REMEASURE_CHUNKS:
            return chunk.select(mask_expr("message", present_in(chunk["message"])).alias("shape")).to_series()
        return self._distinct_shapes(chunk)

    def _distinct_shapes(self, chunk: pl.DataFrame) -> pl.Series:
        """``_shapes`` by masking each distinct message once; measures the share of distinct ones."""
        distinct = chunk.select(pl.col("message").unique())
        self._distinct_share = distinct.height / chunk.height
        masked = distinct.with_columns(mask_expr("message", present_in(distinct["message"])).alias("shape"))
        joined = chunk.select("message").join(
            masked, on="message", how="left", nulls_equal=True, maintain_order="left"
        )
        return joined["shape"]

    def set_volume(self, volume: pl.DataFrame) -> None:
        """Use these (stream, service, level, lines, bytes, error_lines) rows as the volume: an index knows better than a sample."""
        self._volume = volume

    def _fold(self, frame: pl.DataFrame) -> None:
        w = pl.col("weight")
        agg = frame.group_by("stream", "service", "level", "shape_id").agg(
            w.sum().alias("lines"),
            (pl.col("bytes") * w).sum().alias("bytes"),
            (pl.col("error").cast(pl.Float64) * w).sum().alias("error_lines"),
            (pl.col("has_trace").cast(pl.Float64) * w).sum().alias("trace_lines"),
            pl.col("bytes").max().alias("max_line_bytes"),
            (pl.col("oversize") * w).sum().alias("oversize_bytes"),
            pl.col("ts").min().alias("first_ts"),
            pl.col("ts").max().alias("last_ts"),
            pl.col("shape").first().alias("example"),
            (w != 1.0).any().alias("sampled"),
        )
        self._parts.append(agg)
        self._rows += agg.height
        if self._rows > FOLD_ROWS:
            self._parts = [_refold(pl.concat(self._parts))]
            self._rows = self._parts[0].height

    def close(self, period_s: float | None = None) -> int:
        """Settle templates, write both tables; returns the lines read."""
        if not self._parts:
            return 0
        agg = _refold(pl.concat(self._parts))
        template_ids, texts = self.miner.finalize()
        keys = [template_key(t) for t in texts]
        mapping = pl.DataFrame(
            {
                "shape_id": list(range(len(template_ids))),
                "template_id": [keys[t] for t in template_ids],
                "template": [texts[t] for t in template_ids],
            },
            schema={"shape_id": pl.Int64, "template_id": pl.String, "template": pl.String},
        )
        volume = (
            self._volume
            if self._volume is not None
            else agg.group_by("stream", "service", "level").agg(
                pl.col("lines").sum(), pl.col("bytes").sum(), pl.col("error_lines").sum()
            )
        )
        volume = volume.with_columns(pl.col("lines", "bytes", "error_lines").round().cast(pl.Int64))
        periods = self._periods(pl.concat([volume["service"], agg["service"]]), period_s)
        volume = volume.join(periods, on="service", how="left", nulls_equal=True)
        self.snapshot.append(
            "otel_attributes",
            self.attributes.rows("logs", volume.select(_spread()).item()).with_columns(
                source=pl.lit(self.source)
            ),
        )
        self.snapshot.append("log_volume", volume.with_columns(source=pl.lit(self.source)))
        by_template = agg.join(mapping, on="shape_id", how="left").join(
            periods, on="service", how="left", nulls_equal=True
        )
        level_rank = (
            by_template.group_by("template_id", "level")
            .agg(pl.col("lines").sum())
            .sort(["template_id", "lines", "level"], descending=[False, True, False], nulls_last=True)
        )
        top_level = level_rank.group_by("template_id", maintain_order=True).agg(pl.col("level").first())
        templates = (
            by_template.sort("first_ts", "shape_id", nulls_last=True)  # ties: the shape seen first
            .group_by("template_id", "template")
            .agg(
                pl.col("service").unique().sort().alias("services"),
                pl.col("lines").sum().round().cast(pl.Int64),
                pl.col("bytes").sum().round().cast(pl.Int64),
                pl.col("error_lines").sum().round().cast(pl.Int64),
                pl.col("trace_lines").sum().round().cast(pl.Int64),
                pl.col("max_line_bytes").max().cast(pl.Int64),
                pl.col("oversize_bytes").sum().round().cast(pl.Int64),
                pl.col("example").first(),
                pl.col("first_ts").min(),
                pl.col("last_ts").max(),
                pl.col("sampled").any(),
                _spread(),
            )
            .join(top_level, on="template_id", how="left")
            .with_columns(
                pl.from_epoch(pl.col("first_ts").cast(pl.Int64), "s")
                .dt.replace_time_zone("UTC")
                .alias("first_seen"),
                pl.from_epoch(pl.col("last_ts").cast(pl.Int64), "s")
                .dt.replace_time_zone("UTC")
                .alias("last_seen"),
                source=pl.lit(self.source),
            )
            .drop("first_ts", "last_ts")
        )
        self.snapshot.append("log_templates", templates)
        return self.lines

    def _periods(self, services: pl.Series, period_s: float | None) -> pl.DataFrame:
        """Seconds each service's lines cover: ``period_s`` where the source knows it (a Loki
        window), else the union of the service's captures, at least a minute; a day without times."""
        names = services.unique(maintain_order=True)
        if period_s is not None:
            return pl.DataFrame({"service": names, "period_s": [period_s] * names.len()})
        covered = [self.captures.covered(name) for name in names.to_list()]
        spans = [DEFAULT_PERIOD_S if c is None else max(c, 60.0) for c in covered]
        return pl.DataFrame(
            {"service": names, "period_s": spans}, schema={"service": pl.String, "period_s": pl.Float64}
        )


def _spread() -> pl.Expr:
    """The one period over which bytes of several services, each over its own period, cost what
    they cost apart: bytes / Σ (bytes_s / period_s); their period where they share one."""
    period = pl.col("period_s")
    rate = (pl.col("bytes") / period).sum()
    return (
        pl.when(period.min() == period.max())
        .then(period.max())
        .when(rate > 0)
        .then(pl.col("bytes").sum() / rate)
        .otherwise(period.max())
        .alias("period_s")
    )


def _refold(parts: pl.DataFrame) -> pl.DataFrame:
    return parts.group_by("stream", "service", "level", "shape_id").agg(
        pl.col("lines").sum(),
        pl.col("bytes").sum(),
        pl.col("error_lines").sum(),
        pl.col("trace_lines").sum(),
        pl.col("max_line_bytes").max(),
        pl.col("oversize_bytes").sum(),
        pl.col("first_ts").min(),
        pl.col("last_ts").max(),
        pl.col("example").first(),
        pl.col("sampled").any(),
    )
