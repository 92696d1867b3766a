"""Perses dashboards, as the classic Grafana dashboard model.

Perses (a CNCF project; OpenShift's monitoring console and the Perses operator use it) writes a
dashboard as ``{"kind": "Dashboard", "metadata": …, "spec": {"display", "panels", "variables",
"layouts"}}``, and the operator's ``PersesDashboard`` resource holds the same spec. Panels are a
map of ``Panel`` kinds, each with ``queries`` whose ``plugin`` says what runs them
(``PrometheusTimeSeriesQuery`` with a PromQL ``query``; Loki and Tempo plugins for logs and traces).
Variables are ``ListVariable`` with a plugin: ``PrometheusLabelValuesVariable`` (a label's values
among series of ``matchers``), ``PrometheusLabelNamesVariable`` and ``PrometheusPromQLVariable``.

``classic_perses`` maps one to the classic model, so ``sources.dashboards`` reads it as any other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from costscope.sources.documents import mapping


def _spec(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The dashboard spec: the resource's own, or the operator's ``spec.config``."""
    spec = mapping(doc.get("spec"))
    return mapping(spec.get("config")) if "config" in spec and "panels" not in spec else spec


def is_perses_dashboard(doc: object) -> bool:
    """Whether ``doc`` is a Perses dashboard (or a ``PersesDashboard`` resource)."""
    if not isinstance(doc, dict) or doc.get("kind") not in ("Dashboard", "PersesDashboard"):
        return False
    panels = _spec(doc).get("panels")
    return isinstance(panels, dict) and all(mapping(p).get("kind") == "Panel" for p in panels.values())


def _datasource_type(plugin_kind: str) -> str:
    """The classic datasource type a Perses query plugin stands for."""
    lowered = plugin_kind.lower()
    if lowered.startswith("prometheus"):
        return "prometheus"
    return next((t for t in ("loki", "tempo", "pyroscope") if lowered.startswith(t)), lowered)


def _target(query: Mapping[str, Any]) -> dict[str, Any]:
    plugin = mapping(mapping(query.get("spec")).get("plugin"))
    spec = mapping(plugin.get("spec"))
    kind = str(plugin.get("kind") or "")
    ds_type = _datasource_type(kind)
    text = spec.get("query")
    if ds_type == "tempo":  # TraceQL: kept, as a Tempo target's
        return {"query": text, "datasource": {"type": ds_type}}
    return {"expr": text, "datasource": {"type": ds_type}}


def _panel(name: str, panel: Mapping[str, Any]) -> dict[str, Any]:
    spec = mapping(panel.get("spec"))
    title = mapping(spec.get("display")).get("name") or name
    return {"title": title, "targets": [_target(mapping(q)) for q in spec.get("queries") or []]}


def _variables(variable: Mapping[str, Any]) -> list[dict[str, Any]]:
    spec = mapping(variable.get("spec"))
    plugin = mapping(spec.get("plugin"))
    body = mapping(plugin.get("spec"))
    name = spec.get("name")
    kind = plugin.get("kind")
    if kind == "PrometheusLabelValuesVariable":
        label = body.get("labelName")
        matchers = [m for m in body.get("matchers") or [] if isinstance(m, str) and m.strip()]
        # no matchers: the label's values across every series, which reads no metric in particular
        return [{"type": "query", "name": name, "query": f"label_values({m}, {label})"} for m in matchers]
    if kind == "PrometheusLabelNamesVariable":
        matchers = [m for m in body.get("matchers") or [] if isinstance(m, str) and m.strip()]
        return [{"type": "query", "name": name, "query": f"query_result({m})"} for m in matchers]
    if kind == "PrometheusPromQLVariable" and isinstance(body.get("expr"), str):
        return [{"type": "query", "name": name, "query": f"query_result({body['expr']})"}]
    return []


def classic_perses(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The classic dashboard model of a Perses dashboard."""
    spec = _spec(doc)
    title = mapping(spec.get("display")).get("name") or mapping(doc.get("metadata")).get("name")
    return {
        "title": title,
        "panels": [_panel(str(name), mapping(p)) for name, p in mapping(spec.get("panels")).items()],
        "templating": {"list": [v for x in spec.get("variables") or [] for v in _variables(mapping(x))]},
    }
