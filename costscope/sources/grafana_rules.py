"""Grafana-managed alert and recording rules, from files or a Grafana server.

Grafana evaluates rules of its own, outside any Prometheus: file provisioning and the export
endpoints write them as ``groups`` of rules with a ``title`` and ``data`` (each entry a query of a
datasource, or a server-side expression — reduce, math, threshold — combining them); Grafana's
ruler API wraps each in ``grafana_alert``; ``/api/v1/provisioning/alert-rules`` lists them with
their ``ruleGroup``. A recording rule names its metric in ``record.metric``.
"""

from __future__ import annotations

from typing import Any

from costscope.sources.dashboards import datasource_type, is_prometheus_type
from costscope.sources.http import HttpClient
from costscope.sources.usage import Problem, Query, malformed_is_parse_error, rule_identity

API = "/api/v1/provisioning/alert-rules"
# Grafana answers these where the token may not read alert rules, or the server has no such API
REFUSED = frozenset({401, 403, 404})


def is_grafana_rule(rule: dict[str, Any]) -> bool:
    """A Grafana-managed rule: provisioning files and their export (``title``, ``data``), or the
    ruler API's ``grafana_alert``."""
    return isinstance(rule.get("grafana_alert"), dict) or (
        "title" in rule and isinstance(rule.get("data"), list)
    )


def grafana_rule_queries(rule: dict[str, Any], group: str, origin: str) -> tuple[list[Query], list[Problem]]:
    """The queries of a Grafana-managed rule: each ``data`` entry of a PromQL datasource (not the
    server-side expressions, reduce, math, threshold, that combine them). Its LogQL is kept for the
    log analysis, as a dashboard's is."""
    body = rule["grafana_alert"] if isinstance(rule.get("grafana_alert"), dict) else rule
    record = body.get("record")
    kind, name = (
        ("recording_rule", record.get("metric")) if isinstance(record, dict) else ("alert", body.get("title"))
    )
    name = str(name or body.get("uid") or "?")
    queries: list[Query] = []
    problems: list[Problem] = []
    elsewhere = False  # a query of another kind of datasource (CloudWatch, SQL…): nothing of ours
    identity = rule_identity(group, rule.get("labels") or body.get("labels"))
    for item in body.get("data") or []:
        model = item.get("model") if isinstance(item, dict) else None
        if not isinstance(model, dict):
            continue
        ds_type = datasource_type(model.get("datasource"), {})
        ds_type = ds_type or datasource_type(item.get("datasourceUid"), {})
        if ds_type != "loki" and not is_prometheus_type(ds_type):
            elsewhere |= ds_type != "__expr__"  # expressions (reduce, math, threshold) combine queries
            continue
        expr = model.get("expr")
        if not isinstance(expr, str) or not expr.strip():
            continue
        panel = f"{identity} {item.get('refId') or ''}".strip()
        if ds_type == "loki":
            problems.append(Problem(kind, name, panel, origin, expr, "not_promql", "LogQL"))
        else:
            queries.append(Query(kind, name, panel, origin, expr))
    if not queries and not problems and not elsewhere:
        problems.append(Problem(kind, name, group, origin, None, "unresolved", "Grafana rule with no query"))
    return queries, problems


@malformed_is_parse_error("Grafana alert rules answer")
def _answer_queries(answer: list[Any], origin: str) -> tuple[list[Query], list[Problem]]:
    queries: list[Query] = []
    problems: list[Problem] = []
    for rule in answer:
        if isinstance(rule, dict) and is_grafana_rule(rule):
            group = f"{rule.get('folderUID') or ''}/{rule.get('ruleGroup') or ''}"
            found, trouble = grafana_rule_queries(rule, group, origin)
            queries += found
            problems += trouble
    return queries, problems


def grafana_api_rule_queries(client: HttpClient) -> tuple[list[Query], list[Problem]] | int:
    """The Grafana-managed rules a Grafana server holds; the HTTP status where it will not say (no
    right to read alert rules, or a Grafana older than its provisioning API)."""
    response = client.get(API, accept=REFUSED)
    if response.status_code in REFUSED:
        return response.status_code
    try:
        answer = response.json()
    except ValueError:
        raise client.error("unexpected answer (not JSON)", API) from None
    if not isinstance(answer, list):
        raise client.error("unexpected answer (not a list of rules)", API)
    return _answer_queries(answer, client.url(API))
