"""Log cost: bytes and money by service, level and template, and what each cut would save.

Counts in the store cover ``period_s`` seconds (a file's time span, a Loki window); money is per
month: bytes × (30 days / period) at the model's price per GB ingested (and retained, where
priced). Every action is simulated on the templates' own counts:

- drop a template, or sample it at ``SAMPLE_PERCENT`` (its count stays estimable: × 100/k);
- drop a level (DEBUG, TRACE) of a service;
- truncate lines longer than ``TRUNCATE_BYTES``;
- turn a chatty template into a counter metric (log-to-metric): the bytes go, one series per
  service is added.

What each loses is counted too: error lines (ERROR/FATAL) and lines carrying a trace id, the two
kinds whose loss hurts debugging most.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from costscope.analyze.attributes import OTEL_ATTRIBUTE_SCHEMA, otel_attribute_costs
from costscope.analyze.log_readers import LogReader, log_readers, readers_frame
from costscope.pricing import MONTH_S, CostModel
from costscope.store.database import Store

SAMPLE_PERCENT = 10
MIN_SHARE = 0.01  # a template under 1% of its source's bytes is not worth an action
CHATTY_LINES_PER_MINUTE = 10.0  # above this a repeated INFO event is a counter, not a log


@dataclass(frozen=True)
class LogsAnalysis:
    """Logs of one snapshot: volume by service/level, templates, and simulated actions."""

    volume: pl.DataFrame  # service, level, lines, bytes, monthly_bytes, monthly_cost, error_lines
    templates: pl.DataFrame  # one row per template with money and what it carries
    actions: pl.DataFrame  # kind, target, service, level, bytes_saved_month, monthly_savings, lost_*
    readers: tuple[LogReader, ...] = ()  # dashboards, alerts and rules reading logs (LogQL)
    # per OTLP attribute key of the records and their resources (analyze.attributes)
    attributes: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=OTEL_ATTRIBUTE_SCHEMA))

    @property
    def known(self) -> bool:
        """Whether the snapshot holds any logs."""
        return self.volume.height > 0

    @property
    def monthly_cost(self) -> float:
        """Monthly cost of all logs under the model."""
        return float(self.volume["monthly_cost"].sum()) if self.volume.height else 0.0

    def readers_frame(self) -> pl.DataFrame:
        """The dashboards, alerts and rules reading logs (LogQL), and which templates each reads."""
        return readers_frame(list(self.readers), self.templates)


def _monthly(model: CostModel) -> list[pl.Expr]:
    scale = MONTH_S / pl.col("period_s").fill_null(MONTH_S)
    return [
        (pl.col("bytes") * scale).alias("monthly_bytes"),
        model.log_bytes_cost(pl.col("bytes") * scale).alias("monthly_cost"),
    ]


def log_volume(store: Store, snapshot_id: int, model: CostModel) -> pl.DataFrame:
    """Bytes, lines and money per service and level, most expensive first."""
    df = store.query(
        "SELECT service, level, sum(lines)::BIGINT AS lines, sum(bytes)::BIGINT AS bytes,"
        " sum(error_lines)::BIGINT AS error_lines,"
        " max(period_s) AS period_s FROM log_volume WHERE snapshot_id = ? GROUP BY service, level",
        [snapshot_id],
    )
    return (
        df.with_columns(_monthly(model))
        .drop("period_s")
        .sort(["monthly_cost", "service", "level"], descending=[True, False, False], nulls_last=True)
    )


def log_templates(store: Store, snapshot_id: int, model: CostModel) -> pl.DataFrame:
    """Templates by money: lines, bytes, level, services, errors, trace ids, oversize, example."""
    df = store.query(
        "SELECT source, template_id, template, level, services, lines, bytes, error_lines, trace_lines,"
        " max_line_bytes, oversize_bytes, example, first_seen, last_seen, sampled, period_s"
        " FROM log_templates WHERE snapshot_id = ?",
        [snapshot_id],
    )
    total = pl.col("bytes").sum().over("source")
    return (
        df.with_columns(
            *_monthly(model),
            (pl.col("bytes") / total).alias("share"),
            (pl.col("lines") / (pl.col("period_s") / 60.0)).alias("lines_per_minute"),
        )
        .drop("period_s")
        .sort(["monthly_cost", "template_id"], descending=[True, False])
    )


def _action(
    t: pl.DataFrame, kind: str, saved: pl.Expr, lost_errors: pl.Expr, lost_traces: pl.Expr
) -> pl.DataFrame:
    """One candidate action per template row: what it saves a month and the lines it loses."""
    return t.select(
        pl.lit(kind).alias("kind"), "template_id", "template", "service", "level",
        saved.alias("bytes_saved_month"), lost_errors.alias("lost_error_lines"),
        lost_traces.alias("lost_trace_lines"), "lines",
    )  # fmt: skip


def simulate_actions(templates: pl.DataFrame, volume: pl.DataFrame, model: CostModel) -> pl.DataFrame:
    """Every candidate cut with bytes and money saved per month and what it would lose."""
    keep = SAMPLE_PERCENT / 100
    t = templates.filter(pl.col("share") >= MIN_SHARE).with_columns(
        service=pl.col("services").list.first(),
        month=pl.col("monthly_bytes") / pl.col("bytes").clip(lower_bound=1),
    )
    everything = pl.col("monthly_bytes"), pl.col("error_lines"), pl.col("trace_lines")
    drops = _action(t, "drop_template", *everything)
    samples = _action(
        t.filter(pl.col("lines") >= 100), "sample_template", *(c * (1 - keep) for c in everything)
    )
    zero = pl.lit(0.0)
    truncates = _action(
        t.filter(pl.col("oversize_bytes") > 0),
        "truncate_lines",
        pl.col("oversize_bytes") * pl.col("month"),
        zero,
        zero,
    )
    chatty = t.filter(
        (pl.col("lines_per_minute") >= CHATTY_LINES_PER_MINUTE) & pl.col("level").is_in(["INFO", "DEBUG"])
    )
    chatty = _action(chatty, "log_to_metric", *everything)
    levels = volume.filter(pl.col("level").is_in(["DEBUG", "TRACE"])).select(
        pl.lit("drop_level").alias("kind"),
        pl.lit(None, pl.String).alias("template_id"),
        pl.lit(None, pl.String).alias("template"),
        "service",
        "level",
        pl.col("monthly_bytes").alias("bytes_saved_month"),
        pl.lit(0.0).alias("lost_error_lines"),
        pl.lit(0.0).alias("lost_trace_lines"),
        pl.col("lines"),
    )
    actions = pl.concat([drops, samples, truncates, chatty, levels], how="vertical_relaxed")
    metric_cost = model.series_cost(1.0)  # log-to-metric adds a counter series per service
    return actions.with_columns(
        monthly_savings=model.log_bytes_cost(pl.col("bytes_saved_month"))
        - pl.when(pl.col("kind") == "log_to_metric").then(metric_cost).otherwise(0.0)
    ).sort(["monthly_savings", "kind", "template_id"], descending=[True, False, False], nulls_last=True)


def analyze_logs(store: Store, snapshot_id: int, model: CostModel) -> LogsAnalysis:
    """Volume, templates and simulated actions of a snapshot's logs."""
    volume = log_volume(store, snapshot_id, model)
    templates = log_templates(store, snapshot_id, model)
    readers = tuple(log_readers(store, snapshot_id))
    return LogsAnalysis(
        volume,
        templates,
        simulate_actions(templates, volume, model),
        readers,
        otel_attribute_costs(store, snapshot_id, "logs", model, attribute_readers(readers)),
    )


def attribute_readers(readers: tuple[LogReader, ...]) -> dict[str, list[str]]:
    """OTLP attribute keys the LogQL readers select on (as Loki names them: dots become underscores)."""
    out: dict[str, list[str]] = {}
    for r in readers:
        for label in {m[0] for s in r.selectors for m in s.matchers}:
            out.setdefault(label, []).append(r.describe())
    return out
