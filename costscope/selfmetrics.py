"""costscope observing itself: each run's figures pushed to a Prometheus Pushgateway.

Spend is then graphed and alerted on where teams already look. One group per ``job`` (and
``instance``, default the host name) is replaced on every push (HTTP PUT), so a gauge always
holds the last run's value:

- ``costscope_last_run_timestamp_seconds``, ``costscope_run_duration_seconds{stage}``
- ``costscope_active_series``, ``costscope_log_bytes_per_month``, ``costscope_spans_per_month``
- ``costscope_monthly_cost{signal}``, ``costscope_team_monthly_cost{team}`` (the cost model's currency)
- ``costscope_budget_breaches{severity}``, ``costscope_source_errors``, ``costscope_snapshot_status{status}``
"""

from __future__ import annotations

import socket
import time
from urllib.parse import quote

import polars as pl

from costscope.analyze.result import Analysis
from costscope.config import PushTarget, SourceConfig
from costscope.sources.http import HttpClient


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def exposition(analysis: Analysis, timings: dict[str, float]) -> str:
    """The run's figures in the Prometheus text format."""
    lines: list[str] = []

    def gauge(name: str, help_: str, samples: list[tuple[dict[str, str], float]]) -> None:
        lines.append(f"# HELP {name} {help_}")
        lines.append(f"# TYPE {name} gauge")
        for labels, value in samples:
            text = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
            lines.append(f"{name}{{{text}}} {value:.10g}" if text else f"{name} {value:.10g}")

    costs = analysis.costs
    totals = {r["key"]: r for r in costs.filter(pl.col("dimension") == "total").iter_rows(named=True)}
    gauge("costscope_last_run_timestamp_seconds", "When the last costscope run ended.", [({}, time.time())])
    gauge("costscope_run_duration_seconds", "Seconds per stage of the last run.",
          [({"stage": k}, v) for k, v in sorted(timings.items())])  # fmt: skip
    gauge("costscope_active_series", "Active series seen.", [({}, float(analysis.total_series))])
    gauge("costscope_log_bytes_per_month", "Log bytes a month, extrapolated.",
          [({}, float(totals.get("logs", {}).get("volume", 0.0)))])  # fmt: skip
    gauge("costscope_spans_per_month", "Spans a month, extrapolated.",
          [({}, float(totals.get("traces", {}).get("volume", 0.0)))])  # fmt: skip
    gauge("costscope_monthly_cost", "Monthly cost per signal under the cost model.",
          [({"signal": k, "model": analysis.cost_model.name}, float(r["monthly_cost"])) for k, r in sorted(totals.items())])  # fmt: skip
    teams = costs.filter((pl.col("dimension") == "team") & (pl.col("signal") == "metrics"))
    gauge("costscope_team_monthly_cost", "Monthly metrics cost per team.",
          [({"team": r["key"]}, float(r["monthly_cost"])) for r in teams.iter_rows(named=True)])  # fmt: skip
    severities = {"critical": 0.0, "warning": 0.0}
    for b in analysis.breaches:
        severities[b.severity] = severities.get(b.severity, 0.0) + 1
    gauge("costscope_budget_breaches", "Budgets breached by the last run.",
          [({"severity": k}, v) for k, v in sorted(severities.items())])  # fmt: skip
    gauge(
        "costscope_source_errors", "Source errors in the last run.", [({}, float(analysis.failures.height))]
    )
    gauge("costscope_snapshot_status", "1 for the last snapshot's status.",
          [({"status": s}, 1.0 if analysis.status == s else 0.0) for s in ("complete", "partial", "failed")])  # fmt: skip
    return "\n".join(lines) + "\n"


def push(target: PushTarget, analysis: Analysis, timings: dict[str, float]) -> None:
    """Replace the group's metrics on the Pushgateway (retries and errors as for any source)."""
    instance = target.instance or socket.gethostname()
    path = f"/metrics/job/{quote(target.job, safe='')}/instance/{quote(instance, safe='')}"
    source = SourceConfig(name="pushgateway", url=target.url)
    with HttpClient(source) as client:
        client.put(path, exposition(analysis, timings))
