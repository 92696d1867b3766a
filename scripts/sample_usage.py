"""The demo company's dashboards, rules and SLO: what reads part of sample_data's metrics.

Written by ``generate_sample_data.py`` into ``sample_data/dashboards/`` (Grafana JSON, one panel
in a collapsed row, template variables) and ``sample_data/rules/`` (a rule file with a recording
rule the dashboard reads, alerts, and a Sloth SLO). Chosen so the demo shows each usage case:

- ``http_requests_total`` is read only by job, route and code: its ``user_id`` label is not;
- ``http_request_duration_seconds`` feeds a latency SLO and a p99 panel (``le`` needed);
- the Go runtime set, ``search_query_terms_total``, ``inventory_stock_level`` and most of the
  postgres and kafka metrics are read by nothing.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import yaml

PROM = {"type": "prometheus", "uid": "${datasource}"}


def _panel(pid: int, title: str, *exprs: str, legend: str = "") -> dict[str, object]:
    targets = [{"refId": chr(65 + i), "expr": e, "legendFormat": legend} for i, e in enumerate(exprs)]
    return {"id": pid, "type": "timeseries", "title": title, "datasource": PROM, "targets": targets}


def services_dashboard() -> dict[str, object]:
    """The on-call dashboard: traffic, errors, latency per service; checkout in a collapsed row."""
    return {
        "title": "Shop services",
        "uid": "shop-services",
        "schemaVersion": 39,
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus"},
                {
                    "name": "job",
                    "type": "query",
                    "datasource": PROM,
                    "query": {"query": "label_values(http_requests_total, job)", "refId": "v"},
                    "multi": True,
                },
            ]
        },
        "panels": [
            _panel(
                1,
                "Requests per second by route",
                'sum by (job, route) (job_route_status:http_requests:rate5m{job=~"$job"})',
                legend="{{job}} {{route}}",
            ),
            _panel(
                2,
                "Error ratio",
                'sum by (job) (job_route_status:http_requests:rate5m{job=~"$job", status=~"5.."})'
                ' / sum by (job) (job_route_status:http_requests:rate5m{job=~"$job"})',
            ),
            _panel(
                3,
                "p99 latency",
                "histogram_quantile(0.99, sum by (le, job) "
                '(rate(http_request_duration_seconds_bucket{job=~"$job"}[$__rate_interval])))',
            ),
            {
                "id": 4,
                "type": "row",
                "title": "Checkout",
                "collapsed": True,
                "panels": [
                    _panel(
                        5,
                        "Checkout step p95",
                        "histogram_quantile(0.95, sum by (le, step) "
                        "(rate(checkout_step_duration_seconds_bucket[$__rate_interval])))",
                    ),
                    _panel(
                        6,
                        "Payments by outcome",
                        "sum by (provider, outcome) (rate(payment_transactions_total[$__rate_interval]))",
                    ),
                ],
            },
            _panel(
                7,
                "Container restarts",
                "sum by (container) (increase(kube_pod_container_status_restarts_total[1h]))",
            ),
        ],
    }


def database_dashboard() -> dict[str, object]:
    """The database team's dashboard (an API export: the model under ``dashboard``)."""
    return {
        "meta": {"slug": "postgres"},
        "dashboard": {
            "title": "Postgres",
            "uid": "postgres",
            "panels": [
                _panel(1, "Connections by state", "sum by (datname, state) (pg_stat_activity_count)"),
                _panel(2, "Up", "pg_up"),
            ],
        },
    }


def rules() -> dict[str, object]:
    """A rule file: the recording rule the dashboard reads, and the alerts on-call gets."""
    return {
        "groups": [
            {
                "name": "shop-recording",
                "rules": [
                    {
                        "record": "job_route_status:http_requests:rate5m",
                        "expr": "sum by (job, route, status) (rate(http_requests_total[5m]))",
                    }
                ],
            },
            {
                "name": "shop-alerts",
                "rules": [
                    {
                        "alert": "HighErrorRate",
                        "expr": 'sum by (job) (job_route_status:http_requests:rate5m{status=~"5.."})'
                        " / sum by (job) (job_route_status:http_requests:rate5m) > 0.05",
                        "for": "10m",
                        "labels": {"severity": "page"},
                    },
                    {
                        "alert": "KafkaConsumerLagHigh",
                        "expr": "sum by (consumergroup, topic) (kafka_consumergroup_lag) > 10000",
                        "for": "15m",
                        "labels": {"severity": "ticket"},
                    },
                    {"alert": "PostgresDown", "expr": "pg_up == 0", "for": "2m"},
                ],
            },
        ]
    }


def slos() -> dict[str, object]:
    """A Sloth spec: checkout availability and latency."""
    errors = 'sum(rate(http_requests_total{job="checkout",status=~"5.."}[{{.window}}]))'
    total = 'sum(rate(http_requests_total{job="checkout"}[{{.window}}]))'
    slow = (
        'sum(rate(http_request_duration_seconds_count{job="checkout"}[{{.window}}]))'
        ' - sum(rate(http_request_duration_seconds_bucket{job="checkout",le="0.5"}[{{.window}}]))'
    )
    return {
        "version": "prometheus/v1",
        "service": "checkout",
        "slos": [
            {
                "name": "requests-availability",
                "objective": 99.9,
                "sli": {"events": {"error_query": errors, "total_query": total}},
                "alerting": {"name": "CheckoutAvailability"},
            },
            {
                "name": "requests-latency",
                "objective": 99.0,
                "sli": {"events": {"error_query": slow, "total_query": total}},
                "alerting": {"name": "CheckoutLatency"},
            },
        ],
    }


def loki_rules() -> dict[str, object]:
    """A Loki ruler file: an alert counting checkout's order lines (LogQL)."""
    return {
        "groups": [
            {
                "name": "checkout-logs",
                "rules": [
                    {
                        "alert": "OrdersStopped",
                        "expr": 'sum(count_over_time({service_name="checkout"} |= "placed" [15m])) < 1',
                        "for": "15m",
                        "labels": {"severity": "page"},
                    }
                ],
            }
        ]
    }


# (query, querier IPs, runs over the fortnight): what engineers and scripts ran besides the dashboards.
# The search team checks the top search terms in every incident (so dropping that metric would
# break them); one script has a typo and reads a metric nothing ingests.
LOGGED_QUERIES = (
    ("sum by (route, status) (rate(http_requests_total[5m]))", ("10.0.4.21", "10.0.7.3"), 120),
    ("topk(10, sum by (term) (rate(search_query_terms_total[5m])))", ("10.0.4.21",), 41),
    (
        "histogram_quantile(0.99, sum by (le) (rate(checkout_step_duration_seconds_bucket[5m])))",
        ("10.0.7.3",),
        25,
    ),
    ("sum(rate(http_request_total[5m]))", ("10.0.9.14",), 3),
)
LOG_START = 1_794_787_200  # 2026-11-16T00:00:00Z: fourteen days of Prometheus' query log


def query_log() -> str:
    """Prometheus' query_log_file for the fortnight, as Prometheus 2.42 writes it (JSON lines)."""
    rng = random.Random(7)
    entries = []
    for query, clients, runs in LOGGED_QUERIES:
        for i in range(runs):
            at = LOG_START + rng.uniform(0, 14 * 86_400)
            entries.append((at, query, clients[i % len(clients)]))
    lines = []
    for at, query, client in sorted(entries):
        ts = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(at * 1000) % 1000:03d}Z"
        doc = {
            "httpRequest": {"clientIP": client, "method": "GET", "path": "/api/v1/query_range"},
            "params": {"end": ts, "query": query, "start": ts, "step": 15},
            "spanID": "0000000000000000",
            "stats": {
                "timings": {"evalTotalTime": 0.0012},
                "samples": {"totalQueryableSamples": 900, "peakSamples": 60},
            },
            "ts": ts,
        }
        lines.append(json.dumps(doc, separators=(",", ":")))
    return "\n".join(lines) + "\n"


def write_usage(out: Path) -> None:
    """Write the dashboards, the rule file, the SLO spec and a query log under ``out``."""
    dashboards, rule_dir = out / "dashboards", out / "rules"
    dashboards.mkdir(parents=True, exist_ok=True)
    rule_dir.mkdir(parents=True, exist_ok=True)
    for name, doc in (("shop-services.json", services_dashboard()), ("postgres.json", database_dashboard())):
        (dashboards / name).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    for name, doc in (
        ("shop.rules.yml", rules()),
        ("checkout.slo.yml", slos()),
        ("loki.rules.yml", loki_rules()),
    ):
        (rule_dir / name).write_text(yaml.safe_dump(doc, sort_keys=False, width=120), encoding="utf-8")
    queries = out / "queries"
    queries.mkdir(parents=True, exist_ok=True)
    (queries / "query.log").write_text(query_log(), encoding="utf-8")
