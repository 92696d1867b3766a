"""Perses dashboards (JSON, and the operator's PersesDashboard in YAML) read as dashboards.

The real kube-prometheus dashboards are rewritten here as Perses dashboards, as Perses' own
migration maps Grafana's (a target becomes a ``PrometheusTimeSeriesQuery``, ``label_values`` a
``PrometheusLabelValuesVariable``, any other query variable a ``PrometheusPromQLVariable``): the
readers must be those of the Grafana files.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from costscope.sources.dashboards import dashboard_queries, read_dashboard_file
from costscope.sources.kinds import detect
from costscope.sources.usage_file import file_usage
from tests.conftest import SHARED

KUBE = SHARED / "dashboards_rules" / "kube-prometheus" / "dashboards"
_LABEL_VALUES = re.compile(r"^\s*label_values\((.*),\s*([\w$]+)\s*\)\s*$", re.S)
_QUERY_RESULT = re.compile(r"^\s*query_result\((.*)\)\s*$", re.S)


def _panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [q for p in panels for q in ([p] if p.get("type") != "row" else _panels(p.get("panels") or []))]


def _variable(var: dict[str, Any]) -> dict[str, Any] | None:
    query = var.get("query")
    query = query.get("query") if isinstance(query, dict) else query
    if var.get("type") != "query" or not isinstance(query, str) or not query.strip():
        return None
    if m := _LABEL_VALUES.match(query):
        plugin = {
            "kind": "PrometheusLabelValuesVariable",
            "spec": {"labelName": m.group(2), "matchers": [m.group(1)]},
        }
    elif query.strip().startswith("label_values("):  # label_values(label): no matcher
        plugin = {"kind": "PrometheusLabelValuesVariable", "spec": {"labelName": "x", "matchers": []}}
    else:
        expr = m.group(1) if (m := _QUERY_RESULT.match(query)) else query
        plugin = {"kind": "PrometheusPromQLVariable", "spec": {"expr": expr, "labelName": "x"}}
    return {"kind": "ListVariable", "spec": {"name": var["name"], "plugin": plugin}}


def _perses(classic: dict[str, Any]) -> dict[str, Any]:
    panels = {}
    for i, panel in enumerate(_panels(classic.get("panels") or [])):
        queries = [
            {
                "kind": "TimeSeriesQuery",
                "spec": {"plugin": {"kind": "PrometheusTimeSeriesQuery", "spec": {"query": t["expr"]}}},
            }
            for t in panel.get("targets") or []
            if isinstance(t.get("expr"), str) and t["expr"].strip()
        ]
        display = {"name": panel.get("title", "")}
        panels[f"p{i}"] = {
            "kind": "Panel",
            "spec": {
                "display": display,
                "plugin": {"kind": "TimeSeriesChart", "spec": {}},
                "queries": queries,
            },
        }
    variables = [v for var in (classic.get("templating") or {}).get("list") or [] if (v := _variable(var))]
    spec = {"display": {"name": classic["title"]}, "panels": panels, "variables": variables, "layouts": []}
    return {"kind": "Dashboard", "metadata": {"name": "d", "project": "p"}, "spec": spec}


def _readers(queries: list[Any]) -> list[tuple[str, str | None, str]]:
    return sorted((q.name, q.panel, q.expr) for q in queries)


def test_real_dashboards_as_perses_read_as_the_grafana_files(tmp_path: Path) -> None:
    total = 0
    for f in sorted(KUBE.glob("*.json")):
        grafana = read_dashboard_file(f)
        path = tmp_path / f.name
        path.write_text(json.dumps(_perses(grafana)))
        assert detect(path) == "grafana", f
        ours, problems = dashboard_queries(read_dashboard_file(path), str(path))
        assert not problems
        assert _readers(ours) == _readers(dashboard_queries(grafana, "")[0]), f.name
        total += len(ours)
    assert total == 652  # the fixture's 581 panel targets and 71 variables


def test_a_perses_dashboard_resource_in_yaml(tmp_path: Path) -> None:
    """The Perses operator's PersesDashboard, with Loki and Tempo panels beside Prometheus ones."""

    def panel(name: str, kind: str, query: str) -> dict[str, Any]:
        q = {"kind": "TimeSeriesQuery", "spec": {"plugin": {"kind": kind, "spec": {"query": query}}}}
        return {"kind": "Panel", "spec": {"display": {"name": name}, "queries": [q]}}

    spec = {
        "display": {"name": "Checkout"},
        "panels": {
            "rate": panel(
                "Rate", "PrometheusTimeSeriesQuery", 'sum(rate(http_requests_total{job="checkout"}[5m]))'
            ),
            "logs": panel(
                "Errors", "LokiTimeSeriesQuery", 'sum(count_over_time({app="checkout"} |= "error" [5m]))'
            ),
            "traces": panel("Slow", "TempoTraceQuery", "{ duration > 1s }"),
        },
        "variables": [
            {
                "kind": "ListVariable",
                "spec": {
                    "name": "pod",
                    "plugin": {
                        "kind": "PrometheusLabelValuesVariable",
                        "spec": {"labelName": "pod", "matchers": ["kube_pod_info"]},
                    },
                },
            },
            {"kind": "TextVariable", "spec": {"name": "free", "value": "x"}},
        ],
        "layouts": [],
    }
    doc = {
        "apiVersion": "perses.dev/v1alpha1",
        "kind": "PersesDashboard",
        "metadata": {"name": "checkout"},
        "spec": spec,
    }
    path = tmp_path / "checkout.yaml"
    path.write_text(yaml.dump(doc))
    assert detect(path) == "rules"  # YAML usage: read with the rule and SLO files
    usage = file_usage(path)
    assert sorted((q.kind, q.panel, q.expr) for q in usage.queries) == [
        ("dashboard", "Rate", 'sum(rate(http_requests_total{job="checkout"}[5m]))'),
        ("dashboard", "variable $pod", "kube_pod_info"),
    ]
    assert sorted((p.panel, p.message) for p in usage.problems) == [("Errors", "LogQL"), ("Slow", "TraceQL")]
