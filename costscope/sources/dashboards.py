"""Grafana dashboards as usage: every PromQL query of every panel, variable and annotation.

Read from JSON files (a dashboard, the API's ``{"dashboard": …, "meta": …}`` export, or a Grafana 12+
dashboard resource of the v1 or v2 schema, ``sources.dashboard_resources``; a Perses dashboard,
``sources.perses``) or from a
Grafana server: ``/api/search?type=dash-db`` page by page, ``/api/dashboards/uid/<uid>`` for each,
and ``/api/library-elements/<uid>`` for the library panels they refer to.

What counts as a query: ``targets[].expr`` of every panel, including panels inside rows (the
current ``panels[].panels`` and the legacy ``rows[].panels`` layouts); template variables of type
``query`` (``label_values(m{…}, label)`` needs ``label`` of ``m``, and a selector naming no metric
reads only the metrics that carry ``label``; ``query_result(expr)`` needs all; ``metrics(regex)``
reads every metric the regex matches); Prometheus annotations. Targets of a
datasource known to be something else (Tempo, Elasticsearch…) are left out; Loki targets are kept
as LogQL (``usage_problems`` ``not_promql``) for the log analysis (``analyze/log_readers.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from costscope.errors import ParseError
from costscope.sources.compressed import read_bytes
from costscope.sources.dashboard_resources import classic, is_dashboard_resource
from costscope.sources.http import HttpClient
from costscope.sources.perses import classic_perses, is_perses_dashboard
from costscope.sources.promql import ALL, LabelNeed
from costscope.sources.usage import Problem, Query, malformed_is_parse_error

PROMETHEUS_TYPES = ("prometheus", "grafana-amazonprometheus-datasource", "victoriametrics-datasource")
SEARCH_PAGE = 1000
MAX_DASHBOARD_BYTES = 64 << 20
_LABEL_VALUES = re.compile(r"^\s*label_values\((?P<args>.*)\)\s*$", re.S)
_QUERY_RESULT = re.compile(r"^\s*query_result\((?P<expr>.*)\)\s*$", re.S)
_METRICS = re.compile(r"^\s*metrics\((?P<regex>.*)\)\s*$", re.S)
_VAR_REF = re.compile(r"^\$\{?(\w+)\}?$")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def read_dashboard_file(path: Path) -> dict[str, Any]:
    """The dashboard in ``path`` (a plain dashboard or an API export holding one)."""
    if path.stat().st_size > MAX_DASHBOARD_BYTES:
        raise ParseError(f"larger than {MAX_DASHBOARD_BYTES >> 20} MiB: not a dashboard", file=str(path))
    try:
        doc = json.loads(read_bytes(path).decode("utf-8"))
    except json.JSONDecodeError as exc:
        raise ParseError(f"invalid JSON: {exc.msg}", file=str(path), line=exc.lineno) from None
    except RecursionError:
        raise ParseError("JSON nested too deeply", file=str(path)) from None
    except UnicodeDecodeError:
        raise ParseError("not UTF-8 text", file=str(path)) from None
    if isinstance(doc, dict) and isinstance(doc.get("dashboard"), dict):
        doc = doc["dashboard"]
    if not is_dashboard(doc):
        raise ParseError("not a Grafana dashboard (no panels or rows)", file=str(path))
    return dict(doc)


def is_dashboard(doc: object) -> bool:
    """Whether ``doc`` looks like a Grafana dashboard model, or a dashboard resource."""
    if isinstance(doc, dict) and isinstance(doc.get("dashboard"), dict):
        doc = doc["dashboard"]
    if is_perses_dashboard(doc):
        return True
    return isinstance(doc, dict) and ("panels" in doc or "rows" in doc or is_dashboard_resource(doc))


def classic_model(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """The classic model of a dashboard resource (Grafana 12+, v1 or v2 schema) or a Perses
    dashboard; a classic dashboard as it is."""
    return classic_perses(doc) if is_perses_dashboard(doc) else classic(doc)


def _panels(panels: Any) -> Iterator[dict[str, Any]]:
    for panel in panels if isinstance(panels, list) else []:
        if not isinstance(panel, dict):
            continue
        yield panel
        yield from _panels(panel.get("panels"))  # a collapsed row holds its panels


def _all_panels(doc: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    yield from _panels(doc.get("panels"))
    for row in doc.get("rows") or []:  # the pre-5.0 layout, still common in provisioned files
        if isinstance(row, dict):
            yield from _panels(row.get("panels"))


def _datasource_types(doc: Mapping[str, Any]) -> dict[str, str]:
    """Datasource variables (``$datasource`` → plugin type), to tell Loki panels apart."""
    types = {}
    for var in (doc.get("templating") or {}).get("list") or []:
        if isinstance(var, dict) and var.get("type") == "datasource" and isinstance(var.get("query"), str):
            types[str(var.get("name"))] = var["query"]
    return types


def datasource_type(ds: Any, variables: Mapping[str, str]) -> str | None:
    """The plugin type of a panel's or target's datasource, when it can be known."""
    if isinstance(ds, dict):
        if isinstance(ds.get("type"), str) and not ds["type"].startswith("$"):
            return str(ds["type"])
        ds = ds.get("uid")
    if isinstance(ds, str):
        ref = _VAR_REF.match(ds)
        if ref:
            return variables.get(ref.group(1))
        lowered = ds.lower()
        for other in ("loki", "tempo", "jaeger", "elasticsearch", "influx", "graphite", "mysql", "postgres"):
            if other in lowered:
                return other
    return None


def _traceql(target: Mapping[str, Any]) -> str | None:
    """A Tempo target's TraceQL: its query, or the one its search builder's filters make."""
    query = target.get("query")
    if isinstance(query, str) and query.strip():
        return query
    terms = []
    for f in target.get("filters") or []:  # queryType traceqlSearch: {scope, tag, operator, value}
        if isinstance(f, dict) and isinstance(f.get("tag"), str) and f["tag"]:
            scope = f.get("scope") if f.get("scope") in ("span", "resource") else ""
            terms.append(f"{scope}.{f['tag']} {f.get('operator') or '='} {json.dumps(f.get('value'))}")
    return "{ " + " && ".join(terms) + " }" if terms else None


def is_prometheus_type(ds_type: str | None) -> bool:
    """Whether a datasource of ``ds_type`` runs PromQL (None: not known, so taken as PromQL)."""
    return ds_type is None or ds_type in PROMETHEUS_TYPES or ds_type in ("-- Mixed --", "mixed", "datasource")


def _split_args(text: str) -> list[str]:
    """Top-level comma-separated arguments (commas inside braces, parens, quotes kept)."""
    args, depth, quote, current = [], 0, "", ""
    for c in text:
        if quote:
            quote = "" if c == quote else quote
        elif c in "\"'`":
            quote = c
        elif c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        elif c == "," and depth == 0:
            args.append(current.strip())
            current = ""
            continue
        current += c
    args.append(current.strip())
    return args


def _variable_queries(doc: Mapping[str, Any], title: str, origin: str) -> Iterator[Query]:
    for var in (doc.get("templating") or {}).get("list") or []:
        if not isinstance(var, dict) or var.get("type") != "query":
            continue
        query = var.get("query")
        if isinstance(query, dict):
            query = query.get("query") or query.get("expr")
        if not isinstance(query, str) or not query.strip():
            continue
        where = f"variable ${var.get('name')}"
        if m := _LABEL_VALUES.match(query):
            args = _split_args(m.group("args"))
            if len(args) == 2 and args[0]:  # label_values(label) alone reads no metric
                label = args[1].strip("\"' ")
                need = LabelNeed(False, frozenset([label]))
                # a label named by a variable could be any label: no series can be ruled out
                carrying = frozenset([label]) if _LABEL_NAME.fullmatch(label) else frozenset()
                yield Query("dashboard", title, where, origin, args[0], need, carrying=carrying)
        elif m := _QUERY_RESULT.match(query):
            yield Query("dashboard", title, where, origin, m.group("expr"))
        elif m := _METRICS.match(query):
            regex = m.group("regex").strip().strip("\"'")
            yield Query("dashboard", title, where, origin, f'{{__name__=~"{regex}"}}', LabelNeed(False))
        else:
            yield Query("dashboard", title, where, origin, query)


@malformed_is_parse_error("Grafana dashboard")
def dashboard_queries(
    doc: Mapping[str, Any], origin: str, library: Mapping[str, Mapping[str, Any]] | None = None
) -> tuple[list[Query], list[Problem]]:
    """Every query of one dashboard model; library panels resolved from ``library`` (uid → model)."""
    doc = classic_model(doc)
    title = str(doc.get("title") or "untitled dashboard")
    variables = _datasource_types(doc)
    queries: list[Query] = list(_variable_queries(doc, title, origin))
    problems: list[Problem] = []
    for panel in _all_panels(doc):
        ref = panel.get("libraryPanel")
        if isinstance(ref, dict) and not panel.get("targets"):
            uid = str(ref.get("uid") or "")
            model = (library or {}).get(uid)
            if model is None:
                problems.append(
                    Problem(
                        "dashboard", title, str(ref.get("name") or uid), origin, None, "unresolved",
                        f"library panel {uid!r} is not in this file; read the dashboards through"
                        " Grafana's API (a grafana URL source) to include it",
                    )
                )  # fmt: skip
                continue
            panel = {**model, "title": panel.get("title") or model.get("title")}
        panel_title = str(panel.get("title") or f"panel {panel.get('id', '?')}")
        panel_type = datasource_type(panel.get("datasource"), variables)
        for target in panel.get("targets") or []:
            if not isinstance(target, dict):
                continue
            ds_type = datasource_type(target.get("datasource"), variables) or panel_type
            if ds_type == "tempo" and (traceql := _traceql(target)):  # kept: which attributes it reads
                problems.append(
                    Problem("dashboard", title, panel_title, origin, traceql, "not_promql", "TraceQL")
                )
                continue
            expr = target.get("expr")
            if not isinstance(expr, str) or not expr.strip():
                continue
            if ds_type == "loki":  # kept for the log analysis: which lines the panel reads
                problems.append(Problem("dashboard", title, panel_title, origin, expr, "not_promql", "LogQL"))
            if not is_prometheus_type(ds_type):
                continue
            queries.append(Query("dashboard", title, panel_title, origin, expr, ALL))
    for annotation in (doc.get("annotations") or {}).get("list") or []:
        if (
            isinstance(annotation, dict)
            and isinstance(annotation.get("expr"), str)
            and is_prometheus_type(datasource_type(annotation.get("datasource"), variables))
        ):
            name = f"annotation {annotation.get('name', '')}".strip()
            queries.append(Query("dashboard", title, name, origin, annotation["expr"]))
    return queries, problems


def grafana_queries(client: HttpClient) -> tuple[list[Query], list[Problem]]:
    """Every query of every dashboard a Grafana server holds (library panels resolved)."""
    queries: list[Query] = []
    problems: list[Problem] = []
    library: dict[str, Mapping[str, Any]] = {}
    seen: set[str] = set()
    page = 1
    while True:
        hits = client.get_json("/api/search", {"type": "dash-db", "limit": SEARCH_PAGE, "page": page})
        if not isinstance(hits, list):
            raise client.error("unexpected answer (not a list)", "/api/search")
        uids = [str(h["uid"]) for h in hits if isinstance(h, dict) and h.get("uid")]
        # a server may cap the page below our limit, or ignore `page`: stop on an empty or repeated page
        if not uids or seen.issuperset(uids):
            return queries, problems
        for uid in uids:
            if uid in seen:
                continue
            seen.add(uid)
            answer = client.get_json(f"/api/dashboards/uid/{uid}")
            doc = answer.get("dashboard") if isinstance(answer, dict) else None
            if not isinstance(doc, dict):
                raise client.error("unexpected answer (no dashboard)", f"/api/dashboards/uid/{uid}")
            doc = classic_model(doc)  # a Grafana that answers with a dashboard resource
            for panel in _all_panels(doc):
                ref = panel.get("libraryPanel")
                if isinstance(ref, dict) and ref.get("uid") and str(ref["uid"]) not in library:
                    element = client.get_json(f"/api/library-elements/{ref['uid']}")
                    model = (element.get("result") or {}).get("model") if isinstance(element, dict) else None
                    if isinstance(model, dict):
                        library[str(ref["uid"])] = model
            found, trouble = dashboard_queries(doc, client.url(f"/d/{uid}"), library)
            queries += found
            problems += trouble
        page += 1
