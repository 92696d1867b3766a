"""Ranked, savings-estimated actions with config people can paste.

A ``Recommendation`` says what to do (``kind``) to what (``target``), what it saves per month
under the named cost model, what it would break (``risk``: filled from usage data when the
snapshot has it, else says that usage is unknown) and the evidence, plus ready config.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import polars as pl

from costscope.pricing import CostModel

RISK_UNKNOWN = "usage unknown: add dashboards and rules to check what reads this"
MIN_SHARE_OF_METRIC = 0.10  # a cut that saves less than 10% of a metric is noise
MAX_RECOMMENDATIONS = 50


@dataclass(frozen=True)
class Recommendation:
    """One action: kind, target, monthly savings, risk, evidence and config to paste."""

    kind: str
    target: str
    monthly_savings: float
    series_saved: int
    risk: str
    evidence: str
    config: str
    cost_model: str

    def as_dict(self) -> dict[str, object]:
        """Plain fields, for JSON and DataFrames."""
        return asdict(self)


def _family_regex(metric: str, type_: str | None) -> str:
    name = re.escape(metric)
    if type_ in ("histogram", "gaugehistogram"):
        return f"{name}(_bucket|_sum|_count|_created)?"
    if type_ == "summary":
        return f"{name}(_sum|_count|_created)?"
    if type_ == "counter":
        return f"{name}(_total|_created)?"
    return name


def _aggregate_config(metric: str, label: str, kept: list[str], type_: str | None) -> str:
    by = ", ".join(kept) if kept else ""
    inner = f"{metric}_bucket" if type_ in ("histogram", "gaugehistogram") else metric
    func = "rate" if type_ in ("counter", "histogram", "summary") or metric.endswith("_total") else ""
    selector = f"{func}({inner}[5m])" if func else inner
    record = f"{metric.removesuffix('_total')}:without_{label}"
    if type_ in ("histogram", "gaugehistogram"):
        expr = f"sum by ({by + ', ' if by else ''}le) ({selector})"
    else:
        expr = f"sum by ({by}) ({selector})" if by else f"sum({selector})"
    return (
        f"# 1. Prometheus recording rule keeping every label but {label}\n"
        f"groups:\n  - name: costscope-aggregations\n    rules:\n"
        f"      - record: {record}\n        expr: {expr}\n"
        f"# 2. once dashboards read {record}, stop ingesting the raw series\n"
        f"#    (prometheus.yml, under the scrape job's metric_relabel_configs):\n"
        f"metric_relabel_configs:\n"
        f"  - source_labels: [__name__]\n    regex: {_family_regex(metric, type_)}\n"
        f"    action: drop\n"
    )


def recommend_label_drops(
    drops: pl.DataFrame,
    metrics: pl.DataFrame,
    labels_by_metric: dict[str, list[str]],
    model: CostModel,
) -> list[Recommendation]:
    """Aggregate away the label that saves the most on each metric, where it saves enough."""
    types = dict(zip(metrics["metric"], metrics["type"], strict=True))
    best = (
        drops.filter(pl.col("series_saved") >= pl.col("series_before") * MIN_SHARE_OF_METRIC)
        .filter(~pl.col("label").is_in(["le", "quantile"]))
        .sort("series_saved", descending=True)
        .unique(subset="metric", keep="first")
        .sort(["monthly_savings", "metric"], descending=[True, False])
    )
    recs = []
    for row in best.iter_rows(named=True):
        metric, label = row["metric"], row["label"]
        kept = [lb for lb in labels_by_metric.get(metric, []) if lb not in (label, "le", "quantile")]
        unique = " — every series has its own value (ID-like)" if row["unique_per_series"] else ""
        evidence = (
            f"{metric} has {row['series_before']:,} series; without {label}"
            f" ({row['label_values']:,} values{unique}) {row['series_after']:,} remain"
        )
        recs.append(
            Recommendation(
                kind="aggregate",
                target=f"{metric} without {label}",
                monthly_savings=round(float(row["monthly_savings"]), 2),
                series_saved=int(row["series_saved"]),
                risk=RISK_UNKNOWN,
                evidence=evidence,
                config=_aggregate_config(metric, label, kept, types.get(metric)),
                cost_model=model.describe(),
            )
        )
    return recs[:MAX_RECOMMENDATIONS]


def recommendations_frame(recs: list[Recommendation]) -> pl.DataFrame:
    """Recommendations as a DataFrame, ranked by savings (rank 1 saves the most)."""
    schema = {
        "rank": pl.Int32,
        "kind": pl.String,
        "target": pl.String,
        "monthly_savings": pl.Float64,
        "series_saved": pl.Int64,
        "risk": pl.String,
        "evidence": pl.String,
        "config": pl.String,
        "cost_model": pl.String,
    }
    rows = [{"rank": i, **r.as_dict()} for i, r in enumerate(recs, 1)]
    return pl.DataFrame(rows, schema=schema)
