"""Cost models: from telemetry units to money per month.

A ``CostModel`` is a price per unit plus the billing rule of the vendor it imitates — every rule is
here and nowhere else: what a series costs, what a histogram's series count for, how data points
per minute raise a job's bill. Every
preset carries the date its prices were read (``as_of``) and where from, because prices change;
every unit can be overridden in costscope.yaml (``pricing.overrides``). Costs are always shown
together with the model that produced them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import polars as pl

MONTH_S = 30 * 86_400.0  # "per month" everywhere: counts over a period are scaled to 30 days
HISTOGRAM_TYPES = ("histogram", "gaugehistogram")

# unit -> what it means; the keys are what pricing.overrides accepts
UNITS: Mapping[str, str] = MappingProxyType(
    {
        "active_series": "per active metric series per month",
        "log_gb_ingested": "per GB of logs ingested",
        "log_gb_retained": "per GB of logs retained per month",
        "spans_million": "per million spans ingested",
        "trace_gb": "per GB of traces ingested",
    }
)


@dataclass(frozen=True)
class CostModel:
    """Prices per unit and the billing rule of one vendor (or of a self-hosted estimate)."""

    name: str
    as_of: str
    source: str
    prices: Mapping[str, float]
    # Grafana Cloud bills the higher of active series and DPM-equivalent series
    bill_max_of_series_and_dpm: bool = False
    # Datadog counts each histogram/distribution tag combination several times
    histogram_series_multiplier: float = 1.0
    overridden: tuple[str, ...] = ()

    def price(self, unit: str) -> float:
        """Price of one ``unit``; 0 when this model does not bill it."""
        return float(self.prices.get(unit, 0.0))

    def series_cost(self, series: float) -> float:
        """Monthly cost of ``series`` active series."""
        return series * self.price("active_series")

    def series_multiplier(self, metric_type: str) -> float:
        """How many billed series one stored series of ``metric_type`` counts for (histograms: more)."""
        return self.histogram_series_multiplier if metric_type in HISTOGRAM_TYPES else 1.0

    def series_multiplier_expr(self, types: pl.Expr) -> pl.Expr:
        """``series_multiplier`` over a column of metric types."""
        return types.replace_strict(
            {t: self.series_multiplier(t) for t in HISTOGRAM_TYPES}, default=1.0, return_dtype=pl.Float64
        )

    def dpm_factor(self, dpm: pl.Expr, series: pl.Expr) -> pl.Expr:
        """What data points per minute put on top of a job's series: Grafana Cloud bills the higher
        of active series and DPM with one data point per minute included per series, so a job
        scraped every 15 s costs four times its series; 1 for a model that bills series only."""
        if not self.bill_max_of_series_and_dpm:
            return pl.lit(1.0)
        return pl.max_horizontal(pl.lit(1.0), dpm / series)

    def log_bytes_cost(self, monthly_bytes: Any) -> Any:
        """Monthly cost of ingesting (and retaining, where priced) ``monthly_bytes`` of logs.

        A number or a polars expression: the same arithmetic serves both.
        """
        return monthly_bytes / 1e9 * (self.price("log_gb_ingested") + self.price("log_gb_retained"))

    def trace_cost(self, monthly_spans: Any, monthly_bytes: Any) -> Any:
        """Monthly cost of ``monthly_spans`` spans weighing ``monthly_bytes`` (number or polars expression)."""
        return monthly_spans / 1e6 * self.price("spans_million") + monthly_bytes / 1e9 * self.price(
            "trace_gb"
        )

    def describe(self) -> str:
        """One line naming the model, its date and its overrides, shown beside every cost."""
        text = f"{self.name} prices as of {self.as_of}"
        if self.overridden:
            text += " (overridden: " + ", ".join(self.overridden) + ")"
        return text


PRESETS: Mapping[str, CostModel] = MappingProxyType(
    {
        "grafana-cloud": CostModel(
            name="grafana-cloud",
            as_of="2026-11-01",
            source=(
                "grafana.com/pricing (Pro tier, usage above the free allowance); the billing rule, usage ="
                " max(active series, DPM / 1 included per series), from grafana.com/docs/grafana-cloud/"
                "cost-management-and-billing/understand-usage-cost/metrics"
            ),
            prices={
                "active_series": 6.50 / 1000,
                "log_gb_ingested": 0.50,
                "trace_gb": 0.50,
            },
            bill_max_of_series_and_dpm=True,
        ),
        "datadog": CostModel(
            name="datadog",
            as_of="2026-11-01",
            source="datadoghq.com/pricing (custom metrics: $5 per 100 per month; log ingest)",
            prices={
                "active_series": 0.05,
                "log_gb_ingested": 0.10,
                "spans_million": 1.70,
            },
            histogram_series_multiplier=5.0,
        ),
        "new-relic": CostModel(
            name="new-relic",
            as_of="2026-11-01",
            source="newrelic.com/pricing (data ingest per GB beyond the free 100 GB)",
            prices={
                # ~2.5 KB per series per month at 1-minute resolution
                "active_series": 0.40 * 0.0025,
                "log_gb_ingested": 0.40,
                "trace_gb": 0.40,
            },
        ),
        "honeycomb": CostModel(
            name="honeycomb",
            as_of="2026-11-01",
            source="honeycomb.io/pricing (Pro: events per month)",
            prices={"spans_million": 1.30, "active_series": 0.0},
        ),
        "self-hosted": CostModel(
            name="self-hosted",
            as_of="2026-11-01",
            source=(
                "estimate: ~8 KiB RAM per head series and ~1.3 bytes per sample on disk,"
                " at on-demand cloud prices"
            ),
            prices={
                "active_series": 0.0012,
                "log_gb_ingested": 0.03,
                "log_gb_retained": 0.023,
                "trace_gb": 0.03,
            },
        ),
    }
)

DEFAULT_PRESET = "grafana-cloud"


def cost_model(preset: str = DEFAULT_PRESET, overrides: Mapping[str, float] | None = None) -> CostModel:
    """The preset named ``preset`` with ``overrides`` (unit -> price) applied."""
    base = PRESETS[preset]
    if not overrides:
        return base
    prices = dict(base.prices)
    prices.update(overrides)
    return replace(base, prices=MappingProxyType(prices), overridden=tuple(sorted(overrides)))
