"""Grafana 12+ dashboard resources (v1 and v2 schemas) read as the classic dashboards they hold.

The real kube-prometheus dashboards are rewritten here into each resource shape, as Grafana's
documentation describes the mapping (classic ``targets[i]`` fields go to the v2 query's ``spec``,
``refId`` and ``hide`` to its ``PanelQuery``, the datasource's type to the query's ``group``); the
readers must be those of the classic files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from costscope.sources.dashboards import dashboard_queries, read_dashboard_file
from costscope.sources.kinds import detect
from tests.conftest import SHARED

KUBE = SHARED / "dashboards_rules" / "kube-prometheus" / "dashboards"


def _flat_panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for p in panels:
        if p.get("type") == "row":  # v2 lays rows out by reference: their panels are elements
            out += _flat_panels(p.get("panels") or [])
        else:
            out.append(p)
    return out


def _ds_type(ds: Any) -> str:
    return ds.get("type", "prometheus") if isinstance(ds, dict) else "prometheus"


def _query(group: str, spec: dict[str, Any], version: str) -> dict[str, Any]:
    if version == "v2alpha1":  # the query's kind names its datasource type
        return {"kind": group, "spec": spec}
    return {
        "kind": "DataQuery",
        "group": group,
        "version": "v0",
        "datasource": {"name": "${datasource}"},
        "spec": spec,
    }


def _v2(classic: dict[str, Any], version: str) -> dict[str, Any]:
    elements = {}
    for i, panel in enumerate(_flat_panels(classic.get("panels") or [])):
        queries = []
        for t in panel.get("targets") or []:
            group = _ds_type(t.get("datasource") or panel.get("datasource"))
            spec = {k: v for k, v in t.items() if k not in ("datasource", "refId", "hide")}
            inner = {
                "refId": t.get("refId", "A"),
                "hidden": bool(t.get("hide")),
                "query": _query(group, spec, version),
            }
            queries.append({"kind": "PanelQuery", "spec": inner})
        data = {"kind": "QueryGroup", "spec": {"queries": queries, "transformations": [], "queryOptions": {}}}
        elements[f"panel-{i}"] = {
            "kind": "Panel",
            "spec": {"id": i, "title": panel.get("title", ""), "data": data},
        }
    variables = []
    for var in (classic.get("templating") or {}).get("list") or []:
        if var.get("type") == "datasource":
            variables.append(
                {"kind": "DatasourceVariable", "spec": {"name": var["name"], "pluginId": var["query"]}}
            )
        elif var.get("type") == "query":
            q = var["query"] if isinstance(var["query"], dict) else {"query": var["query"]}
            query = _query(_ds_type(var.get("datasource")), q, version)
            variables.append({"kind": "QueryVariable", "spec": {"name": var["name"], "query": query}})
    spec = {"title": classic["title"], "elements": elements, "variables": variables, "annotations": []}
    return _resource(spec, classic, version)


def _v1(classic: dict[str, Any], version: str) -> dict[str, Any]:
    return _resource(classic, classic, version)


def _resource(spec: dict[str, Any], classic: dict[str, Any], version: str) -> dict[str, Any]:
    meta = {"name": classic.get("uid") or "d"}
    return {
        "apiVersion": f"dashboard.grafana.app/{version}",
        "kind": "Dashboard",
        "metadata": meta,
        "spec": spec,
    }


def _readers(doc: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    queries, problems = dashboard_queries(doc, "f")
    assert not [p for p in problems if p.problem != "not_promql"]
    return sorted((q.name, q.panel, q.expr) for q in queries)


@pytest.mark.parametrize(
    ("shape", "version"),
    [(_v1, "v1beta1"), (_v1, "v0alpha1"), (_v2, "v2beta1"), (_v2, "v2alpha1")],
    ids=["v1beta1", "v0alpha1", "v2beta1", "v2alpha1"],
)
def test_real_dashboards_as_resources_read_as_the_classic_files(
    tmp_path: Path, shape: Any, version: str
) -> None:
    files = sorted(KUBE.glob("*.json"))
    total = 0
    for f in files:
        classic = read_dashboard_file(f)
        path = tmp_path / f.name
        path.write_text(json.dumps(shape(classic, version)))
        assert detect(path) == "grafana", f
        ours = _readers(read_dashboard_file(path))
        assert ours == _readers(classic), f.name
        total += len(ours)
    assert total == 652  # the fixture's 581 panel targets and 71 variables


def test_the_documented_v2beta1_shapes(tmp_path: Path) -> None:
    """Panels, a library panel, a Loki panel, variables and annotations as the v2beta1 schema has them."""

    def query(group: str, spec: dict[str, Any]) -> dict[str, Any]:
        return _query(group, spec, "v2beta1")

    def panel(title: str, *queries: dict[str, Any]) -> dict[str, Any]:
        items = [{"kind": "PanelQuery", "spec": {"refId": "A", "hidden": False, "query": q}} for q in queries]
        return {
            "kind": "Panel",
            "spec": {"id": 1, "title": title, "data": {"kind": "QueryGroup", "spec": {"queries": items}}},
        }

    spec = {
        "title": "Shop",
        "elements": {
            "panel-1": panel("Requests", query("prometheus", {"expr": "sum(rate(http_requests_total[5m]))"})),
            "panel-2": panel(
                "Errors", query("loki", {"expr": 'sum(count_over_time({app="shop"} |= "error" [5m]))'})
            ),
            "panel-3": {
                "kind": "LibraryPanel",
                "spec": {"id": 3, "title": "Shared", "libraryPanel": {"uid": "lib-1", "name": "Shared"}},
            },
            "panel-4": panel("Text", query("grafana", {})),
        },
        "variables": [
            {
                "kind": "QueryVariable",
                "spec": {
                    "name": "pod",
                    "query": query("prometheus", {"query": "label_values(kube_pod_info, pod)", "refId": "Q"}),
                },
            },
            {
                "kind": "QueryVariable",
                "spec": {
                    "name": "ns",
                    "definition": "label_values(kube_namespace_labels, namespace)",
                    "query": query("prometheus", {}),
                },
            },
            {"kind": "CustomVariable", "spec": {"name": "size", "query": "1,2,3"}},
        ],
        "annotations": [
            {
                "kind": "AnnotationQuery",
                "spec": {"name": "Annotations & Alerts", "builtIn": True, "query": query("grafana", {})},
            },
            {
                "kind": "AnnotationQuery",
                "spec": {
                    "name": "deploys",
                    "query": query(
                        "prometheus", {"expr": "changes(kube_deployment_status_observed_generation[5m]) > 0"}
                    ),
                },
            },
        ],
        "layout": {"kind": "GridLayout", "spec": {"items": []}},
    }
    doc = {
        "apiVersion": "dashboard.grafana.app/v2beta1",
        "kind": "Dashboard",
        "metadata": {"name": "shop"},
        "spec": spec,
    }
    path = tmp_path / "shop.json"
    path.write_text(json.dumps(doc))
    assert detect(path) == "grafana"
    queries, problems = dashboard_queries(read_dashboard_file(path), str(path))
    assert sorted((q.panel, q.expr) for q in queries) == [
        ("Requests", "sum(rate(http_requests_total[5m]))"),
        ("annotation deploys", "changes(kube_deployment_status_observed_generation[5m]) > 0"),
        ("variable $ns", "kube_namespace_labels"),
        ("variable $pod", "kube_pod_info"),
    ]
    assert sorted((p.panel, p.problem) for p in problems) == [
        ("Errors", "not_promql"),
        ("Shared", "unresolved"),
    ]
