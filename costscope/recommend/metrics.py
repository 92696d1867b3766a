"""Ranked, savings-estimated actions with config people can paste.

A ``Recommendation`` says what to do (``kind``) to what (``target``), what it saves per month
under the named cost model, what it would break (``risk`` and ``risk_level``, from the dashboards,
rules and SLOs read; "unknown" until some are), the evidence, and ready config. ``config`` is a stream of YAML
documents, each opened by a comment saying where it goes: a Prometheus rule file,
``metric_relabel_configs`` for the scrape job, an OpenTelemetry Collector processor, or the SDK
view that fixes it at the source. Every document loads with ``yaml.safe_load_all`` and the
Prometheus ones pass ``promtool check`` (a test proves it on the real promtool).

Kinds:

- ``aggregate``: a label makes many series that differ only by it; record the metric without it
  (recording rule / collector ``aggregate_labels``) and stop ingesting the raw series. Dropping
  the label by relabelling alone would merge series into duplicates, so it is never offered.
- ``scrape_interval``: a job scraped more often than once a minute, where the vendor bills data
  points per minute above one per series; scraping every 60 s divides that part of the bill.
- ``reduce_buckets``: a histogram with many buckets; drop the bucket series of all but
  ``TARGET_BUCKETS`` bounds at scrape time (``histogram_quantile`` keeps working, coarser).
- ``drop_metric``: nothing (no dashboard, alert, recording rule, SLO or logged query) reads the metric.
- ``keep_used_labels``: the metric's readers need only some of its labels; aggregate the others
  away where it is ingested (the metric keeps its name, so the queries keep working).
"""

from __future__ import annotations

import re

import polars as pl

from costscope.analyze.usage import unknown_guard
from costscope.pricing import CostModel
from costscope.recommend.model import MIN_SHARE_OF_METRIC, Guard, Recommendation


def _family_regex(metric: str, type_: str | None) -> str:
    name = re.escape(metric)
    if type_ in ("histogram", "gaugehistogram"):
        return f"{name}(_bucket|_sum|_count|_created)?"
    if type_ == "summary":
        return f"{name}(_sum|_count|_created)?"
    if type_ == "counter":
        return f"{name}(_total|_created)?"
    return name


def yaml_str(value: str) -> str:
    """A YAML single-quoted scalar (safe for regexes and any label value)."""
    return "'" + value.replace("'", "''") + "'"


def _aggregate_config(metric: str, dropped: list[str], kept: list[str], type_: str | None) -> str:
    label = ", ".join(dropped)
    is_hist = type_ in ("histogram", "gaugehistogram")
    inner = f"{metric}_bucket" if is_hist else metric
    is_counter = type_ in ("counter", "histogram", "summary") or metric.endswith("_total")
    selector = f"rate({inner}[5m])" if is_counter else inner
    record = f"{metric.removesuffix('_total')}:without_{'_'.join(dropped)}" + (
        ":rate5m" if is_counter else ""
    )
    by = [*kept, "le"] if is_hist else kept
    expr = f"sum by ({', '.join(by)}) ({selector})" if by else f"sum({selector})"
    label_set = ", ".join(by)
    return (
        f"# 1. Prometheus rule file: record {metric} without {label}\n"
        f"groups:\n  - name: costscope-aggregations\n    rules:\n"
        f"      - record: {record}\n        expr: {yaml_str(expr)}\n"
        f"---\n"
        f"# 2. once dashboards and alerts read {record}: stop ingesting the raw series\n"
        f"#    (prometheus.yml, under the scrape job)\n"
        f"metric_relabel_configs:\n"
        f"  - source_labels: [__name__]\n    regex: {yaml_str(_family_regex(metric, type_))}\n"
        f"    action: drop\n"
        f"---\n"
        f"# or, in an OpenTelemetry Collector (contrib), aggregate {label} away before export\n"
        f"processors:\n  metricstransform:\n    transforms:\n"
        f"      - include: {yaml_str(metric)}\n        action: update\n        operations:\n"
        f"          - action: aggregate_labels\n            label_set: [{label_set}]\n"
        f"            aggregation_type: sum\n"
    )


def _reduce_buckets_config(metric: str, dropped: list[str], kept: list[str]) -> str:
    les = "|".join(re.escape(le) for le in dropped)
    bounds = ", ".join(le for le in kept if le != "+Inf")
    return (
        f"# Prometheus (prometheus.yml, under the scrape job): drop {len(dropped)} of the buckets of {metric}\n"
        f"metric_relabel_configs:\n"
        f"  - source_labels: [__name__, le]\n"
        f"    regex: {yaml_str(f'{re.escape(metric)}_bucket;({les})')}\n"
        f"    action: drop\n"
        f"---\n"
        f"# at the source, with the OpenTelemetry SDK: a view with the bounds kept\n"
        f"view:\n  instrument_name: {yaml_str(metric)}\n"
        f"  aggregation:\n    explicit_bucket_histogram:\n      boundaries: [{bounds}]\n"
    )


def recommend_aggregations(
    drops: pl.DataFrame,
    keep_sets: pl.DataFrame,
    metrics: pl.DataFrame,
    labels_by_metric: dict[str, list[str]],
    model: CostModel,
    guard: Guard = unknown_guard,
) -> list[Recommendation]:
    """Per metric, the aggregation that saves the most: one label away, or all its risky labels."""
    types = dict(zip(metrics["metric"], metrics["type"], strict=True))
    single = drops.filter(~pl.col("label").is_in(["le", "quantile", "job"])).select(
        "metric",
        pl.concat_list(pl.col("label")).alias("dropped"),
        "series_before",
        "series_after",
        "series_saved",
        "monthly_savings",
        pl.col("label_values").cast(pl.Int64),
        "unique_per_series",
        "id_kind",
    )
    multi = keep_sets.select(
        "metric",
        "dropped",
        "series_before",
        "series_after",
        "series_saved",
        "monthly_savings",
        pl.lit(None, pl.Int64).alias("label_values"),
        pl.lit(False).alias("unique_per_series"),
        pl.lit(None, pl.String).alias("id_kind"),
    )
    best = (
        pl.concat([single, multi], how="vertical_relaxed")
        .filter(pl.col("series_saved") >= pl.col("series_before") * MIN_SHARE_OF_METRIC)
        .sort(["series_saved", "metric"], descending=[True, False])
        .unique(subset="metric", keep="first", maintain_order=True)
    )
    recs = []
    for row in best.iter_rows(named=True):
        metric, dropped = row["metric"], list(row["dropped"])
        kept = [lb for lb in labels_by_metric.get(metric, []) if lb not in (*dropped, "le", "quantile")]
        if len(dropped) == 1:
            detail = []
            if row.get("id_kind"):
                detail.append(f"values look like {row['id_kind'].replace('_', ' ')}s")
            if row["unique_per_series"]:
                detail.append("every series has its own value")
            extra = f" — {', '.join(detail)}" if detail else ""
            why = f"without {dropped[0]} ({row['label_values']:,} values{extra})"
        else:
            why = f"without its risky labels {', '.join(dropped)} (each alone saves less: they overlap)"
        risk, level = guard(metric, dropped, "", False)
        recs.append(
            Recommendation(
                kind="aggregate",
                target=f"{metric} without {', '.join(dropped)}",
                monthly_savings=round(float(row["monthly_savings"]), 2),
                series_saved=int(row["series_saved"]),
                risk=risk,
                risk_level=level,
                evidence=f"{metric} has {row['series_before']:,} series; {why} {row['series_after']:,} remain",
                config=_aggregate_config(metric, dropped, kept, types.get(metric)),
                cost_model=model.describe(),
                metric=metric,
                labels=tuple(dropped),
            )
        )
    return recs


def recommend_fewer_buckets(
    histograms: pl.DataFrame, model: CostModel, guard: Guard = unknown_guard
) -> list[Recommendation]:
    """Keep fewer buckets of histograms that have many."""
    recs = []
    for row in histograms.filter(pl.col("fewer_buckets_series_saved") > 0).iter_rows(named=True):
        kept, dropped = list(row["kept_points"]), list(row["dropped_points"])
        risk, level = guard(row["metric"], ["le"], "quantiles from it get coarser", True)
        recs.append(
            Recommendation(
                kind="reduce_buckets",
                target=f"{row['metric']} to {len(kept)} buckets",
                monthly_savings=round(float(row["fewer_buckets_monthly_savings"]), 2),
                series_saved=int(row["fewer_buckets_series_saved"]),
                risk=risk,
                risk_level=level,
                evidence=(
                    f"{row['metric']} has {row['points']} buckets × {row['label_sets']:,} label sets ="
                    f" {row['series']:,} series; keeping {len(kept)} buckets leaves"
                    f" {row['series'] - row['fewer_buckets_series_saved']:,}"
                    f" (a native histogram would leave {row['label_sets']:,})"
                    + (
                        f"; le={', '.join(row['read_points'])} kept: queries select them by name"
                        if row.get("read_points")
                        else ""
                    )
                ),
                config=_reduce_buckets_config(row["metric"], dropped, kept),
                cost_model=model.describe(),
                metric=row["metric"],
                points=tuple(dropped),
            )
        )
    return recs


def recommend_scrape_intervals(
    dpm: pl.DataFrame, by_job: pl.DataFrame, model: CostModel, guard: Guard = unknown_guard
) -> list[Recommendation]:
    """Scrape once a minute the jobs whose data points per minute, not their series, set the bill."""
    cost = by_job.group_by("job").agg(pl.col("monthly_cost").sum())
    recs = []
    for row in dpm.filter(pl.col("factor") > 1).join(cost, on="job").iter_rows(named=True):
        saved = row["monthly_cost"] * (1 - 1 / row["factor"])
        seconds = 60.0 / (row["dpm"] / row["series"])
        effect = "rate() windows under 4m and alerts with short `for:` get coarser"
        risk, level = guard(f"job {row['job']}", None, effect, True)
        recs.append(
            Recommendation(
                kind="scrape_interval",
                target=f"job {row['job']} every 60s",
                monthly_savings=round(saved, 2),
                series_saved=0,
                risk=risk,
                risk_level=level,
                evidence=(
                    f"{row['job']} sends {row['dpm']:,.0f} data points per minute for {row['series']:,} series"
                    f" (scraped about every {seconds:.0f}s); {model.name} bills the higher of the two"
                ),
                config=(
                    f"# prometheus.yml (or the Alloy/Agent scrape block) for job {row['job']}\n"
                    f"scrape_configs:\n  - job_name: {yaml_str(row['job'])}\n    scrape_interval: 60s\n"
                ),
                cost_model=model.describe(),
            )
        )
    return recs


def _drop_config(metric: str, type_: str | None) -> str:
    regex = yaml_str(_family_regex(metric, type_))
    return (
        f"# Prometheus (prometheus.yml, under the scrape job): stop ingesting {metric}\n"
        f"metric_relabel_configs:\n  - source_labels: [__name__]\n    regex: {regex}\n    action: drop\n"
        f"---\n"
        f"# or, in an OpenTelemetry Collector: drop it before export\n"
        f"processors:\n  filter/costscope:\n    error_mode: ignore\n    metrics:\n      metric:\n"
        f"        - {yaml_str(f'name == {chr(34)}{metric}{chr(34)}')}\n"
    )


def recommend_unused_drops(
    usage: pl.DataFrame, metrics: pl.DataFrame, model: CostModel, window: str = ""
) -> list[Recommendation]:
    """Drop the metrics that no dashboard, alert, recording rule, SLO or logged query reads.

    ``window`` says what the query logs cover (``, in query logs of 30.0 days``): without query logs,
    "no reader" means no dashboard, rule or SLO; with them, also no query in that window.
    """
    types = dict(zip(metrics["metric"], metrics["type"], strict=True))
    recs = []
    for row in usage.filter(pl.col("status") == "unused").iter_rows(named=True):
        recs.append(
            Recommendation(
                kind="drop_metric",
                target=row["metric"],
                monthly_savings=round(float(row["monthly_cost"]), 2),
                series_saved=int(row["series"]),
                risk="none known: no dashboard, alert, recording rule, SLO or logged query that was read"
                f" uses it{window}",
                risk_level="none",
                evidence=f"{row['metric']} has {row['series']:,} series and no reader",
                config=_drop_config(row["metric"], types.get(row["metric"])),
                cost_model=model.describe(),
                metric=row["metric"],
            )
        )
    return recs


def recommend_keep_used(
    keep_used: pl.DataFrame, metrics: pl.DataFrame, model: CostModel, guard: Guard
) -> list[Recommendation]:
    """Aggregate away the labels no reader needs; the metric keeps its name and its queries work."""
    types = dict(zip(metrics["metric"], metrics["type"], strict=True))
    recs = []
    for row in keep_used.filter(
        pl.col("series_saved") >= pl.col("series_before") * MIN_SHARE_OF_METRIC
    ).iter_rows(named=True):
        metric, dropped, kept = row["metric"], list(row["dropped"]), list(row["kept"])
        risk, level = guard(metric, dropped, "", False)
        is_hist = types.get(metric) in ("histogram", "gaugehistogram")
        label_set = ", ".join([*kept, "le"] if is_hist and "le" not in kept else kept)
        recs.append(
            Recommendation(
                kind="keep_used_labels",
                target=f"{metric} keeping {', '.join(kept) or 'no labels'}",
                monthly_savings=round(float(row["monthly_savings"]), 2),
                series_saved=int(row["series_saved"]),
                risk=risk,
                risk_level=level,
                evidence=(
                    f"{metric} has {row['series_before']:,} series; its readers need only"
                    f" {', '.join(kept) or 'no label'}; without {', '.join(dropped)} {row['series_after']:,} remain"
                ),
                config=(
                    f"# OpenTelemetry Collector (contrib): keep only the labels read of {metric}\n"
                    f"processors:\n  metricstransform:\n    transforms:\n"
                    f"      - include: {yaml_str(metric)}\n        action: update\n        operations:\n"
                    f"          - action: aggregate_labels\n            label_set: [{label_set}]\n"
                    f"            aggregation_type: sum\n"
                ),
                cost_model=model.describe(),
                metric=metric,
                labels=tuple(dropped),
            )
        )
    return recs
