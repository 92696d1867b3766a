"""Prometheus rules and SLO definitions as usage.

Rules come from rule files (``groups:``, or a ``PrometheusRule`` custom resource with
``spec.groups``; several YAML documents per file allowed), from a live server's ``/api/v1/rules``
or from its answer saved to a file (``curl …/api/v1/rules > rules.json``: Mimir, Thanos and Loki
rulers answer the same shape). An alert's name and a recorded metric's name say who uses a metric.

SLOs are usage of their own kind (breaking one is worse than breaking a dashboard):

- Sloth: ``version: prometheus/v1`` (``events.error_query``/``total_query``, ``raw.error_ratio_query``)
  and the ``sloth.slok.dev/v1`` ``PrometheusServiceLevel`` resource (the same in camelCase:
  ``errorQuery``/``totalQuery``/``errorRatioQuery``); ``{{.window}}`` is filled with a window. An SLI
  ``plugin`` builds its query in code: a problem row names it, so the SLO is never silently lost.
- OpenSLO ``v1`` (``SLO``/``SLI`` documents: every Prometheus ``metricSource`` query, however nested)
  and ``v1alpha`` (``ratioMetrics``/``thresholdMetric`` with ``source: prometheus`` and ``query``).
- Pyrra ``ServiceLevelObjective`` (``pyrra.dev/v1alpha1``): ``indicator.ratio`` (errors/total),
  ``latency`` (success/total), ``latencyNative`` and ``bool_gauge``, each a metric selector.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from costscope.errors import ParseError
from costscope.sources.compressed import read_bytes
from costscope.sources.grafana_rules import grafana_rule_queries, is_grafana_rule
from costscope.sources.http import HttpClient
from costscope.sources.usage import Problem, Query, malformed_is_parse_error, rule_identity
from costscope.sources.yaml_text import yaml_documents

_SLOTH_WINDOW = re.compile(r"\{\{\s*\.window\s*\}\}")
_PROMETHEUS_SOURCES = ("prometheus", "thanos", "mimir", "cortex", "victoriametrics", "amazonprometheus")


def load_yaml_documents(path: Path) -> list[Any]:
    """Every YAML document in ``path`` (JSON too); a syntax error names the file and line."""
    try:
        text = read_bytes(path).decode("utf-8")
        if text.lstrip().startswith("{"):  # a saved API answer: JSON, which YAML reads slowly
            with contextlib.suppress(json.JSONDecodeError, RecursionError):  # or a YAML flow mapping
                return [json.loads(text)]
        return [d for d in yaml_documents(text) if d is not None]
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise ParseError(f"invalid YAML: {exc.problem or exc}", file=str(path), line=line) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ParseError(f"invalid YAML: {exc}", file=str(path)) from None


def is_rule_document(doc: object) -> bool:
    """Whether ``doc`` is a rule file, a PrometheusRule resource or a ruler's rule config."""
    if not isinstance(doc, dict):
        return False
    if doc.get("kind") == "PrometheusRule":
        return True
    return isinstance(doc.get("groups"), list) or is_ruler_config(doc)


def is_ruler_config(doc: object) -> bool:
    """A ruler's rules by namespace, ``{namespace: [group, …]}``: Mimir's, Cortex's and Loki's
    ``/config/v1/rules`` and ``mimirtool rules print``, and Grafana's ruler API (folder: groups)."""
    if not isinstance(doc, dict) or not doc:
        return False
    return all(
        isinstance(groups, list)
        and groups
        and all(isinstance(g, dict) and "rules" in g and "name" in g for g in groups)
        for groups in doc.values()
    )


def _groups(doc: dict[str, Any]) -> Any:
    if doc.get("kind") == "PrometheusRule":
        return (doc.get("spec") or {}).get("groups")
    if "groups" not in doc and is_ruler_config(doc):  # each group named in its namespace
        return [{**g, "name": f"{ns}/{g.get('name')}"} for ns, groups in doc.items() for g in groups]
    return doc.get("groups")


def is_rules_answer(doc: object) -> bool:
    """Whether ``doc`` is a ``/api/v1/rules`` answer (``data.groups``)."""
    data = doc.get("data") if isinstance(doc, dict) else None
    return isinstance(data, dict) and isinstance(data.get("groups"), list)


def is_slo_document(doc: object) -> bool:
    """Whether ``doc`` is a Sloth spec/resource, an OpenSLO document or a Pyrra SLO."""
    if not isinstance(doc, dict):
        return False
    if doc.get("kind") == "PrometheusServiceLevel" or isinstance(doc.get("slos"), list):
        return True
    return str(doc.get("apiVersion", "")).startswith(("openslo/", "pyrra.dev/"))


@malformed_is_parse_error("rule file")
def rule_queries(doc: dict[str, Any], origin: str) -> tuple[list[Query], list[Problem]]:
    """The alerts and recording rules of one rule document."""
    groups = _groups(doc)
    queries: list[Query] = []
    problems: list[Problem] = []
    for group in groups or []:
        if not isinstance(group, dict):
            continue
        group_name = str(group.get("name") or "")
        for rule in group.get("rules") or []:
            if not isinstance(rule, dict):
                continue
            if is_grafana_rule(rule):
                found, trouble = grafana_rule_queries(rule, group_name, origin)
                queries += found
                problems += trouble
                continue
            expr = rule.get("expr")
            kind, name = (
                ("alert", rule.get("alert")) if "alert" in rule else ("recording_rule", rule.get("record"))
            )
            if not name or not isinstance(expr, str | int | float):
                problems.append(
                    Problem(
                        kind,
                        str(name or "?"),
                        group_name,
                        origin,
                        None,
                        "unresolved",
                        "rule without a name or expr",
                    )
                )
                continue
            queries.append(
                Query(kind, str(name), rule_identity(group_name, rule.get("labels")), origin, str(expr))
            )
    return queries, problems


def api_rule_queries(client: HttpClient) -> list[Query]:
    """The alerts and recording rules a live Prometheus (or Mimir/Thanos ruler) evaluates."""
    answer = client.get_json("/api/v1/rules")
    if not is_rules_answer(answer):
        raise client.error("unexpected answer (no data.groups)", "/api/v1/rules")
    return answer_rule_queries(answer, client.url("/api/v1/rules"))


@malformed_is_parse_error("rules API answer")
def answer_rule_queries(answer: dict[str, Any], origin: str) -> list[Query]:
    """The alerts and recording rules of a ``/api/v1/rules`` answer (live, or saved at ``origin``)."""
    queries = []
    for group in answer["data"]["groups"]:
        for rule in group.get("rules") or [] if isinstance(group, dict) else []:
            if not isinstance(rule, dict) or not rule.get("query"):
                continue
            kind = "alert" if rule.get("type") == "alerting" else "recording_rule"
            panel = rule_identity(str(group.get("name") or ""), rule.get("labels"))
            queries.append(Query(kind, str(rule.get("name")), panel, origin, str(rule["query"])))
    return queries


def _sloth(doc: dict[str, Any], origin: str) -> tuple[list[Query], list[Problem]]:
    spec = doc.get("spec") if doc.get("kind") == "PrometheusServiceLevel" else doc
    service = str((spec or {}).get("service") or "")
    queries: list[Query] = []
    problems: list[Problem] = []
    for slo in (spec or {}).get("slos") or []:
        if not isinstance(slo, dict):
            continue
        name = f"{service}/{slo.get('name')}" if service else str(slo.get("name"))
        sli = slo.get("sli") or {}
        parts = {**(sli.get("events") or {}), **(sli.get("raw") or {})}
        for part, expr in parts.items():
            # prometheus/v1 says error_query, the Kubernetes resource errorQuery
            if isinstance(expr, str) and part.lower().replace("_", "").endswith("query"):
                queries.append(Query("slo", name, part, origin, _SLOTH_WINDOW.sub("5m", expr)))
        plugin = sli.get("plugin")
        if isinstance(plugin, dict):
            problems.append(
                Problem(
                    "slo", name, "sli.plugin", origin, None, "unresolved",
                    f"SLI plugin {plugin.get('id')!r} builds its query in code: give costscope the rules"
                    " Sloth generates from this spec to see what it reads",
                )
            )  # fmt: skip
    return queries, problems


def _metric_sources(node: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        source = node.get("metricSource")
        if isinstance(source, dict):
            kind = str(source.get("type", "")).lower().replace("-", "").replace(" ", "")
            spec = source.get("spec") or {}
            query = spec.get("query") or spec.get("promql") if isinstance(spec, dict) else None
            if any(p in kind for p in _PROMETHEUS_SOURCES) and isinstance(query, str):
                yield path, query
        # OpenSLO v1alpha: {source: prometheus, queryType: promql, query: ...}
        alpha = str(node.get("source", "")).lower().replace("-", "")
        if any(p in alpha for p in _PROMETHEUS_SOURCES) and isinstance(node.get("query"), str):
            yield path, node["query"]
        for key, value in node.items():
            if key != "metricSource":
                yield from _metric_sources(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _metric_sources(value, f"{path}[{i}]")


def _pyrra(doc: dict[str, Any], origin: str) -> list[Query]:
    name = str((doc.get("metadata") or {}).get("name") or "unnamed SLO")
    indicator = (doc.get("spec") or {}).get("indicator") or {}
    queries = []
    for kind, parts in indicator.items() if isinstance(indicator, dict) else []:
        if not isinstance(parts, dict):
            continue
        if isinstance(parts.get("metric"), str):  # bool_gauge: one metric
            queries.append(Query("slo", name, kind, origin, parts["metric"]))
        for part, value in parts.items():
            if isinstance(value, dict) and isinstance(value.get("metric"), str):
                queries.append(Query("slo", name, f"{kind}.{part}", origin, value["metric"]))
    return queries


@malformed_is_parse_error("SLO document")
def slo_queries(doc: dict[str, Any], origin: str) -> tuple[list[Query], list[Problem]]:
    """The PromQL of one SLO document (Sloth, OpenSLO or Pyrra), and what could not be seen."""
    api = str(doc.get("apiVersion", ""))
    if api.startswith("pyrra.dev/"):
        return _pyrra(doc, origin), []
    if not api.startswith("openslo/"):
        return _sloth(doc, origin)
    name = str((doc.get("metadata") or {}).get("name") or "unnamed SLO")
    found = _metric_sources(doc.get("spec"), "")
    # Sloth reads OpenSLO too, filling the same {{.window}}
    return [Query("slo", name, path, origin, _SLOTH_WINDOW.sub("5m", query)) for path, query in found], []
