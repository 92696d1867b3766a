"""Prometheus rules and SLO definitions as usage.

Rules come from rule files (``groups:``, or a ``PrometheusRule`` custom resource with
``spec.groups``; several YAML documents per file allowed) or from a live server's
``/api/v1/rules``. An alert's name and a recorded metric's name say who uses a metric.

SLOs are usage of their own kind (breaking one is worse than breaking a dashboard): Sloth specs
(``version: prometheus/v1`` and the ``PrometheusServiceLevel`` resource: ``events.error_query`` /
``total_query`` and ``raw.error_ratio_query``, whose ``{{.window}}`` is filled with a window) and
OpenSLO (``SLO``/``SLI`` documents: every Prometheus ``metricSource`` query, however nested).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from costscope.errors import ParseError
from costscope.sources.http import HttpClient
from costscope.sources.usage import Problem, Query, malformed_is_parse_error

_SLOTH_WINDOW = re.compile(r"\{\{\s*\.window\s*\}\}")
_PROMETHEUS_SOURCES = ("prometheus", "thanos", "mimir", "cortex", "victoriametrics", "amazonprometheus")


def load_yaml_documents(path: Path) -> list[Any]:
    """Every YAML document in ``path``; a syntax error names the file and line."""
    try:
        return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise ParseError(f"invalid YAML: {exc.problem or exc}", file=str(path), line=line) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ParseError(f"invalid YAML: {exc}", file=str(path)) from None


def is_rule_document(doc: object) -> bool:
    """Whether ``doc`` is a rule file or a PrometheusRule resource."""
    if not isinstance(doc, dict):
        return False
    if doc.get("kind") == "PrometheusRule":
        return True
    return isinstance(doc.get("groups"), list)


def is_slo_document(doc: object) -> bool:
    """Whether ``doc`` is a Sloth spec/resource or an OpenSLO document."""
    if not isinstance(doc, dict):
        return False
    if doc.get("kind") == "PrometheusServiceLevel" or isinstance(doc.get("slos"), list):
        return True
    return str(doc.get("apiVersion", "")).startswith("openslo/")


@malformed_is_parse_error("rule file")
def rule_queries(doc: dict[str, Any], origin: str) -> tuple[list[Query], list[Problem]]:
    """The alerts and recording rules of one rule document."""
    groups = (
        (doc.get("spec") or {}).get("groups") if doc.get("kind") == "PrometheusRule" else doc.get("groups")
    )
    queries: list[Query] = []
    problems: list[Problem] = []
    for group in groups or []:
        if not isinstance(group, dict):
            continue
        group_name = str(group.get("name") or "")
        for rule in group.get("rules") or []:
            if not isinstance(rule, dict):
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
            queries.append(Query(kind, str(name), group_name, origin, str(expr)))
    return queries, problems


def api_rule_queries(client: HttpClient) -> list[Query]:
    """The alerts and recording rules a live Prometheus (or Mimir/Thanos ruler) evaluates."""
    answer = client.get_json("/api/v1/rules")
    groups = (answer.get("data") or {}).get("groups") if isinstance(answer, dict) else None
    if not isinstance(groups, list):
        raise client.error("unexpected answer (no data.groups)", "/api/v1/rules")
    queries = []
    origin = client.url("/api/v1/rules")
    for group in groups:
        for rule in group.get("rules") or [] if isinstance(group, dict) else []:
            if not isinstance(rule, dict) or not rule.get("query"):
                continue
            kind = "alert" if rule.get("type") == "alerting" else "recording_rule"
            queries.append(
                Query(kind, str(rule.get("name")), str(group.get("name") or ""), origin, rule["query"])
            )
    return queries


def _sloth(doc: dict[str, Any], origin: str) -> Iterator[Query]:
    spec = doc.get("spec") if doc.get("kind") == "PrometheusServiceLevel" else doc
    service = str((spec or {}).get("service") or "")
    for slo in (spec or {}).get("slos") or []:
        if not isinstance(slo, dict):
            continue
        name = f"{service}/{slo.get('name')}" if service else str(slo.get("name"))
        sli = slo.get("sli") or {}
        parts = {**(sli.get("events") or {}), **(sli.get("raw") or {})}
        for part, expr in parts.items():
            if isinstance(expr, str) and part.endswith("query"):
                yield Query("slo", name, part, origin, _SLOTH_WINDOW.sub("5m", expr))


def _metric_sources(node: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        source = node.get("metricSource")
        if isinstance(source, dict):
            kind = str(source.get("type", "")).lower().replace("-", "").replace(" ", "")
            spec = source.get("spec") or {}
            query = spec.get("query") or spec.get("promql") if isinstance(spec, dict) else None
            if any(p in kind for p in _PROMETHEUS_SOURCES) and isinstance(query, str):
                yield path, query
        for key, value in node.items():
            if key != "metricSource":
                yield from _metric_sources(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _metric_sources(value, f"{path}[{i}]")


@malformed_is_parse_error("SLO document")
def slo_queries(doc: dict[str, Any], origin: str) -> list[Query]:
    """The PromQL of one SLO document (Sloth or OpenSLO)."""
    if not str(doc.get("apiVersion", "")).startswith("openslo/"):
        return list(_sloth(doc, origin))
    name = str((doc.get("metadata") or {}).get("name") or "unnamed SLO")
    return [Query("slo", name, path, origin, query) for path, query in _metric_sources(doc.get("spec"), "")]


def yaml_usage(path: Path) -> tuple[list[Query], list[Problem]]:
    """The rules and SLOs in one YAML file (both kinds may share a file)."""
    queries: list[Query] = []
    problems: list[Problem] = []
    for doc in load_yaml_documents(path):
        if is_rule_document(doc):
            found, trouble = rule_queries(doc, str(path))
            queries += found
            problems += trouble
        elif is_slo_document(doc):
            queries += slo_queries(doc, str(path))
    return queries, problems
