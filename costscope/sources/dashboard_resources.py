"""Grafana's Kubernetes-style dashboard resources, as the classic dashboard model.

Since Grafana 12 a dashboard is also a resource, ``{"apiVersion": "dashboard.grafana.app/…",
"kind": "Dashboard", "metadata": …, "spec": …}``, and that is what its exports, its ``/apis``
endpoints and Git Sync write:

- ``v0alpha1``/``v1beta1``/``v1``: ``spec`` is the classic model (``panels``, ``templating``).
- ``v2alpha1``/``v2beta1`` (the schema Grafana 13 writes): panels are ``spec.elements`` (``Panel``
  with ``data.spec.queries`` of ``PanelQuery``, or ``LibraryPanel``), laid out by reference;
  ``spec.variables`` and ``spec.annotations`` are lists of kinds. A query is a ``DataQuery`` whose
  ``group`` is the datasource's plugin type (v2beta1), or a kind named for it (v2alpha1); its
  ``spec`` holds what a classic target held (``expr``…).

``classic`` maps each to the classic model, so one reader (``sources.dashboards``) reads all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from costscope.sources.documents import mapping

_GROUP = "dashboard.grafana.app/"


def is_dashboard_resource(doc: object) -> bool:
    """Whether ``doc`` is a dashboard resource (any version) with a spec."""
    return (
        isinstance(doc, dict)
        and doc.get("kind") == "Dashboard"
        and str(doc.get("apiVersion") or "").startswith(_GROUP)
        and isinstance(doc.get("spec"), dict)
    )


def _datasource(query: dict[str, Any], outer: dict[str, Any]) -> dict[str, Any]:
    """A classic datasource reference: the query's plugin type, and its uid or name."""
    kind = query.get("kind")
    ds_type = query.get("group") if kind == "DataQuery" else kind  # v2beta1, else v2alpha1
    ref = mapping(query.get("datasource")) or mapping(outer.get("datasource"))
    return {"type": ds_type or ref.get("type"), "uid": ref.get("uid") or ref.get("name")}


def _panel(name: str, element: dict[str, Any]) -> dict[str, Any]:
    spec = mapping(element.get("spec"))
    title = spec.get("title") or name
    if element.get("kind") == "LibraryPanel":
        return {"id": spec.get("id"), "title": title, "libraryPanel": mapping(spec.get("libraryPanel"))}
    targets = []
    for item in mapping(mapping(spec.get("data")).get("spec")).get("queries") or []:
        outer = mapping(mapping(item).get("spec"))
        query = mapping(outer.get("query"))
        targets.append(
            {
                **mapping(query.get("spec")),
                "refId": outer.get("refId"),
                "datasource": _datasource(query, outer),
            }
        )
    return {"id": spec.get("id"), "title": title, "targets": targets}


def _variable(variable: dict[str, Any]) -> dict[str, Any] | None:
    spec = mapping(variable.get("spec"))
    if variable.get("kind") == "DatasourceVariable":
        return {"type": "datasource", "name": spec.get("name"), "query": spec.get("pluginId")}
    if variable.get("kind") != "QueryVariable":
        return None
    query = mapping(spec.get("query"))
    body = query.get("spec")  # {query: "label_values(…)"} or {expr: …}; the definition if empty
    has_query = isinstance(body, dict) and (body.get("query") or body.get("expr"))
    return {
        "type": "query",
        "name": spec.get("name"),
        "query": body if has_query else spec.get("definition"),
        "datasource": _datasource(query, spec),
    }


def _annotation(annotation: dict[str, Any]) -> dict[str, Any]:
    spec = mapping(annotation.get("spec"))
    query = mapping(spec.get("query"))
    return {
        "name": spec.get("name"),
        "expr": mapping(query.get("spec")).get("expr"),
        "datasource": _datasource(query, spec),
    }


def classic(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """The classic dashboard model of a dashboard resource (``doc`` as it is when it is none)."""
    if not is_dashboard_resource(doc):
        return doc
    spec: dict[str, Any] = doc["spec"]
    if "elements" not in spec:  # v0/v1: the classic model in a resource envelope
        return spec
    variables = [v for v in (_variable(mapping(x)) for x in spec.get("variables") or []) if v]
    return {
        "title": spec.get("title") or mapping(doc.get("metadata")).get("name"),
        "panels": [_panel(str(name), mapping(e)) for name, e in mapping(spec.get("elements")).items()],
        "templating": {"list": variables},
        "annotations": {"list": [_annotation(mapping(a)) for a in spec.get("annotations") or []]},
    }
