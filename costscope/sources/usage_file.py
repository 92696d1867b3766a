"""The readers in one usage file: rules, SLOs, a saved rules answer, and the dashboards and rules
that Kubernetes resources carry (``sources.kubernetes``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from costscope.errors import ParseError
from costscope.sources.dashboards import dashboard_queries, is_dashboard
from costscope.sources.kubernetes import Elsewhere, embedded, is_carrier
from costscope.sources.rules import (
    answer_rule_queries,
    is_rule_document,
    is_rules_answer,
    is_slo_document,
    load_yaml_documents,
    rule_queries,
    slo_queries,
)
from costscope.sources.usage import Problem, Query


@dataclass(frozen=True)
class FileUsage:
    """What one file says reads metrics, what could not be read as PromQL, and the parts of it
    that could not be read at all (the rest of the file still counts)."""

    queries: list[Query] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    errors: list[ParseError] = field(default_factory=list)


def file_usage(path: Path) -> FileUsage:
    """The rules, SLOs and embedded dashboards of one YAML or JSON file; a syntax error raises."""
    usage = FileUsage()
    for origin, doc in embedded(load_yaml_documents(path), str(path)):
        if isinstance(doc, ParseError):
            usage.errors.append(doc)
            continue
        try:
            found, trouble = _readers(doc, origin)
        except ParseError as exc:  # one malformed resource: the file's others are still read
            usage.errors.append(exc)
            continue
        usage.queries.extend(found)
        usage.problems.extend(trouble)
    return usage


def _readers(doc: object, origin: str) -> tuple[list[Query], list[Problem]]:
    if isinstance(doc, Elsewhere):
        why = (
            f"the dashboard is in {doc.where}, not in this file: read it through Grafana's API to include it"
        )
        return [], [Problem("dashboard", doc.name, None, origin, None, "unresolved", why)]
    if not isinstance(doc, dict):
        return [], []
    if is_rules_answer(doc):
        return answer_rule_queries(doc, origin), []
    if is_rule_document(doc):
        return rule_queries(doc, origin)
    if is_slo_document(doc):
        return slo_queries(doc, origin)
    if is_dashboard(doc):  # carried by a ConfigMap or a GrafanaDashboard
        return dashboard_queries(doc["dashboard"] if isinstance(doc.get("dashboard"), dict) else doc, origin)
    return [], []


def holds_usage(docs: list[object], origin: str) -> bool:
    """Whether Kubernetes resources among ``docs`` carry a dashboard, rules or an SLO (or one that
    cannot be read, or is elsewhere: then reading the file says so)."""
    return any(
        isinstance(doc, Elsewhere | ParseError)
        or is_dashboard(doc)
        or is_rule_document(doc)
        or is_slo_document(doc)
        or is_rules_answer(doc)
        for _, doc in embedded([d for d in docs if is_carrier(d)], origin)
    )
