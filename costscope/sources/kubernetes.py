"""Dashboards, rules and SLOs carried inside Kubernetes resources.

On a cluster, monitoring config often lives in other resources: kube-prometheus ships its
dashboards as one ``ConfigMapList``, Grafana's Helm chart loads every ConfigMap labelled
``grafana_dashboard``, the Prometheus chart mounts its rule files from a ConfigMap, and
grafana-operator's ``GrafanaDashboard`` holds a dashboard in ``spec.json`` (or gzipped in
``spec.gzipJson``). ``kubectl get configmaps,prometheusrules -A -o yaml`` gives them all as one
``List``. ``embedded`` unwraps these into the documents the dashboard and rule readers know.

A ConfigMap value is recognised by its content, not its key (grafana-operator's examples keep a
dashboard under the key ``json``). A value under a ``.json`` key that is no JSON is a ``ParseError``
naming it, yielded rather than raised: the file's other resources are still read. A dashboard the
resource only points at (a URL, grafana.com, jsonnet, a ConfigMap that is not in the file) is
``Elsewhere``: a problem row, so that its readers are not lost unsaid.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from costscope.errors import ParseError
from costscope.sources.dashboards import MAX_DASHBOARD_BYTES
from costscope.sources.documents import mapping
from costscope.sources.yaml_text import yaml_documents

_REMOTE = ("url", "grafanaCom", "jsonnet", "jsonnetLib")  # GrafanaDashboard sources not in the file


@dataclass(frozen=True)
class Elsewhere:
    """A dashboard a resource points at but does not hold, and where it is."""

    name: str
    where: str


def is_kubernetes_list(doc: object) -> bool:
    """Whether ``doc`` is a Kubernetes list (``kubectl get … -o yaml``: ``List``, ``ConfigMapList``…)."""
    return (
        isinstance(doc, dict)
        and str(doc.get("kind") or "").endswith("List")
        and isinstance(doc.get("items"), list)
        and "apiVersion" in doc
    )


def is_carrier(doc: object) -> bool:
    """Whether ``doc`` is a resource that may carry dashboards or rules: a list, a ConfigMap, a
    GrafanaDashboard."""
    if not isinstance(doc, dict) or "apiVersion" not in doc:
        return False
    return doc.get("kind") in ("ConfigMap", "GrafanaDashboard") or is_kubernetes_list(doc)


def _ref(doc: Mapping[str, Any]) -> str:
    meta = mapping(doc.get("metadata"))
    parts = [str(meta.get(k)) for k in ("namespace", "name") if meta.get(k)]
    return f"{doc.get('kind')}/{'/'.join(parts) or '?'}"


def _configmaps(docs: list[Any]) -> set[tuple[str, str]]:
    """(namespace, name) of every ConfigMap in ``docs``, lists included."""
    found = set()
    for doc in docs:
        for item in doc["items"] if is_kubernetes_list(doc) else [doc]:
            if isinstance(item, dict) and item.get("kind") == "ConfigMap":
                meta = mapping(item.get("metadata"))
                found.add((str(meta.get("namespace") or ""), str(meta.get("name") or "")))
    return found


def _value_documents(key: str, value: str, origin: str) -> list[Any]:
    """The documents of one ConfigMap value: a JSON document, or YAML ones; [] for other text."""
    text = value.lstrip()
    if key.endswith(".json") or text.startswith(("{", "[")):
        try:
            return [json.loads(text)]
        except (json.JSONDecodeError, RecursionError) as exc:
            if not key.endswith(".json"):
                return []
            line = getattr(exc, "lineno", None)
            where = f" (line {line} of the value)" if line else ""
            raise ParseError(f"invalid JSON{where}: {getattr(exc, 'msg', exc)}", file=origin) from None
    if not key.endswith((".yml", ".yaml", ".rules")) and "groups:" not in text and "slos:" not in text:
        return []  # a script, a config of some other program: not ours to read
    try:
        return [d for d in yaml_documents(text) if d is not None]
    except yaml.YAMLError as exc:
        if key.endswith((".yml", ".yaml", ".rules")):
            raise ParseError(f"invalid YAML: {exc}", file=origin) from None
        return []


def _gunzipped(encoded: str, origin: str) -> Any:
    try:
        # bounded: a few kilobytes of gzip can expand to gigabytes
        stream = zlib.decompressobj(16 + zlib.MAX_WBITS)
        text = stream.decompress(base64.b64decode(encoded), MAX_DASHBOARD_BYTES + 1)
        if len(text) > MAX_DASHBOARD_BYTES:
            raise ParseError(f"spec.gzipJson expands past {MAX_DASHBOARD_BYTES >> 20} MiB", file=origin)
        return json.loads(text)
    except (binascii.Error, zlib.error, ValueError, RecursionError) as exc:
        raise ParseError(f"spec.gzipJson is not base64 of gzipped JSON: {exc}", file=origin) from None


def _grafana_dashboard(
    doc: Mapping[str, Any], origin: str, configmaps: set[tuple[str, str]]
) -> Iterator[tuple[str, Any]]:
    spec = mapping(doc.get("spec"))
    name = _ref(doc)
    if isinstance(spec.get("json"), str) and spec["json"].strip():
        yield origin, _value_documents(".json", spec["json"], origin)[0]
    elif isinstance(spec.get("gzipJson"), str) and spec["gzipJson"].strip():
        yield origin, _gunzipped(spec["gzipJson"], origin)
    elif isinstance(spec.get("configMapRef"), dict):
        ref = spec["configMapRef"]
        namespace = str(mapping(doc.get("metadata")).get("namespace") or "")
        if (namespace, str(ref.get("name") or "")) not in configmaps:  # in the file: read as a ConfigMap
            yield origin, Elsewhere(name, f"ConfigMap {ref.get('name')!r} (key {ref.get('key')!r})")
    else:
        remote = next((k for k in _REMOTE if spec.get(k)), None)
        where = f"spec.{remote}" if remote else "nothing (no spec.json, gzipJson or configMapRef)"
        target = spec.get(remote) if remote == "url" else None
        yield origin, Elsewhere(name, f"{where}{f' {target!r}' if target else ''}")


def _unwrap(doc: Any, origin: str, configmaps: set[tuple[str, str]]) -> Iterator[tuple[str, Any]]:
    if is_kubernetes_list(doc):
        for item in doc["items"]:
            if isinstance(item, dict):
                yield from _unwrap(item, f"{origin.split('#')[0]}#{_ref(item)}", configmaps)
    elif isinstance(doc, dict) and doc.get("kind") == "ConfigMap":
        origin = origin if "#" in origin else f"{origin}#{_ref(doc)}"
        data = mapping(doc.get("data"))
        for key, value in data.items():
            if isinstance(value, str):
                at = f"{origin}/{key}"
                try:
                    yield from ((at, d) for d in _value_documents(str(key), value, at))
                except ParseError as exc:
                    yield at, exc
    elif isinstance(doc, dict) and doc.get("kind") == "GrafanaDashboard":
        at = origin if "#" in origin else f"{origin}#{_ref(doc)}"
        try:
            yield from _grafana_dashboard(doc, at, configmaps)
        except ParseError as exc:
            yield at, exc
    else:
        yield origin, doc  # a PrometheusRule, an SLO… in a list: its own reader reads it


def embedded(docs: list[Any], origin: str) -> Iterator[tuple[str, Any]]:
    """(where, document) for every document inside the Kubernetes resources of a file's ``docs``;
    ``where`` is ``origin#Kind/namespace/name[/key]``, and the document may be ``Elsewhere`` or the
    ``ParseError`` of a value that could not be read. Other documents pass through as they are."""
    configmaps = _configmaps(docs)
    for doc in docs:
        yield from _unwrap(doc, origin, configmaps) if is_carrier(doc) else [(origin, doc)]
