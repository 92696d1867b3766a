"""Cost models: from telemetry units to money per month.

A ``CostModel`` is a price per unit plus the billing rule of the vendor it imitates — every rule is
here and nowhere else: what a series costs, what a histogram's series count for, how data points
per minute raise a job's bill. Every preset carries the date its prices were read (``as_of``) and
where from (``source``; ``checked`` gives the address each price was read at), because prices
change; a price no page of the vendor's confirmed is named as not checked, in ``source`` and in
``caveat()``. Every unit can be overridden in costscope.yaml (``pricing.overrides``). Costs are
always shown together with the model that produced them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
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
    # unit -> the address its price was read at; a priced unit missing here was not checked
    checked: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    estimate: bool = False  # our own estimate (self-hosted), not a vendor's price list

    @property
    def unchecked(self) -> tuple[str, ...]:
        """Units this model prices whose price no page of the vendor's confirmed (and not overridden)."""
        if self.estimate:
            return ()
        return tuple(
            u for u, p in self.prices.items() if p and u not in self.checked and u not in self.overridden
        )

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

    def caveat(self) -> str | None:
        """What the user should know of these prices' quality, as a line to act on; None when nothing."""
        if not self.unchecked:
            return None
        units = ", ".join(self.unchecked)
        return f"not checked against the vendor: {units} price (set pricing.overrides)"

    def describe(self) -> str:
        """One line naming the model, its date and its overrides, shown beside every cost."""
        text = f"{self.name} prices as of {self.as_of}"
        if self.estimate:
            text += ", an estimate"
        if self.overridden:
            text += " (overridden: " + ", ".join(self.overridden) + ")"
        return text


_READ_ON = "2026-12-02"  # the day the addresses below were read (the pages carry no date of their own)
_GRAFANA_LOGS = (
    "https://grafana.com/docs/grafana-cloud/cost-management-and-billing/understand-your-invoice/logs-invoice/"
)
_GRAFANA_METRICS = (
    "https://grafana.com/docs/grafana-cloud/cost-management-and-billing/understand-usage-cost/metrics"
)

PRESETS: Mapping[str, CostModel] = MappingProxyType(
    {
        "grafana-cloud": CostModel(
            name="grafana-cloud",
            as_of=_READ_ON,
            source=(
                f"logs and traces: $0.40 per GB written + $0.05 per GB processed beyond the free 50 GB"
                f" ({_GRAFANA_LOGS}); the metrics billing rule, usage = max(active series, DPM / 1 included"
                f" per series), from {_GRAFANA_METRICS}; the price per active series ($6.50 per 1,000,"
                " Pro) is not checked: Grafana's billing pages state the rule, not the price"
            ),
            prices={
                "active_series": 6.50 / 1000,
                "log_gb_ingested": 0.40 + 0.05,
                "trace_gb": 0.40 + 0.05,
            },
            bill_max_of_series_and_dpm=True,
            checked=MappingProxyType({"log_gb_ingested": _GRAFANA_LOGS, "trace_gb": _GRAFANA_LOGS}),
        ),
        "datadog": CostModel(
            name="datadog",
            as_of=_READ_ON,
            source=(
                "not checked against datadoghq.com: custom metrics at $5 per 100 per month and a histogram"
                " counting 5 times, as third parties quote Datadog (gist.github.com/Integralist/"
                "00450ac1debb0d243a5c); log ingestion $0.10 per GB, Datadog's documented starting price as"
                " michaelscodingspot.com/datadog-logs-pricing/ quotes it; indexed spans $1.70 per million."
                " What a custom metric is: https://docs.datadoghq.com/account_management/billing/custom_metrics/"
            ),
            prices={
                "active_series": 0.05,
                "log_gb_ingested": 0.10,
                "spans_million": 1.70,
            },
            histogram_series_multiplier=5.0,
        ),
        "new-relic": CostModel(
            name="new-relic",
            as_of=_READ_ON,
            source=(
                "not checked: $0.40 per GB ingested beyond the free 100 GB, as newrelic.com/pricing was"
                " remembered; no page of New Relic's was found to confirm it. A series is ~2.5 KB per month"
                " at 1-minute resolution (an estimate)"
            ),
            prices={
                # ~2.5 KB per series per month at 1-minute resolution
                "active_series": 0.40 * 0.0025,
                "log_gb_ingested": 0.40,
                "trace_gb": 0.40,
            },
        ),
        "honeycomb": CostModel(
            name="honeycomb",
            as_of=_READ_ON,
            source=(
                "not checked: events (spans) at about $1.30 per million on the Pro plan, as"
                " honeycomb.io/pricing was remembered; no page of Honeycomb's was found to confirm it"
            ),
            prices={"spans_million": 1.30, "active_series": 0.0},
        ),
        "self-hosted": CostModel(
            name="self-hosted",
            as_of=_READ_ON,
            source=(
                "an estimate, not a price list: ~8 KiB RAM per head series and ~1.3 bytes per sample on"
                " disk, at on-demand cloud prices"
            ),
            prices={
                "active_series": 0.0012,
                "log_gb_ingested": 0.03,
                "log_gb_retained": 0.023,
                "trace_gb": 0.03,
            },
            estimate=True,
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
