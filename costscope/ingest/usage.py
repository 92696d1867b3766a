"""Usage sources: dashboards, rules, SLOs and query logs into usage_refs, usage_problems, query_windows."""

from __future__ import annotations

from costscope.errors import CostscopeError, InputWarning
from costscope.ingest.reading import Reading, api_client, files_of
from costscope.sources.dashboards import dashboard_queries, grafana_queries, read_dashboard_file
from costscope.sources.grafana_rules import API, grafana_api_rule_queries
from costscope.sources.query_logs import QueryLog, fetch_queries, read_query_log, windows_frame
from costscope.sources.recording import is_recording
from costscope.sources.rules import api_rule_queries
from costscope.sources.usage import Problem, Query, refs_frame
from costscope.sources.usage_file import file_usage

_USAGE_KIND = {"grafana": "dashboard", "rules": "rule_file"}  # what a usage file with no readers is


def _live(r: Reading) -> bool:
    """Whether the source is a server (or a recording of one) rather than files."""
    return r.source.url is not None or (r.source.path is not None and is_recording(r.source.path))


def _write(r: Reading, queries: list[Query], problems: list[Problem]) -> None:
    """Usage rows for ``queries``; those that cannot be read join ``problems`` in usage_problems."""
    refs, problem_rows = refs_frame(r.source.name, queries, problems)
    r.snapshot.append("usage_refs", refs)
    r.snapshot.append("usage_problems", problem_rows)


def _usage_queries(r: Reading) -> tuple[list[Query], list[Problem]]:
    """The queries of a usage source; a bad file is an error and the other files go on."""
    kind = r.kind
    if _live(r):
        with api_client(r.source, r.record) as client:
            if kind != "grafana":
                return api_rule_queries(client), []
            boards, trouble = grafana_queries(client)
            rules = grafana_api_rule_queries(client)
            if isinstance(rules, int):  # dashboards alone: say that its alert rules were not seen
                why = (
                    f"Grafana-managed alert rules not read: GET {API} answered HTTP {rules}; the token needs"
                )
                r.errors.append(
                    InputWarning(f"{why} alert.provisioning:read (Grafana 9 or later)", file=client.url(API))
                )
                return boards, trouble
            return boards + rules[0], trouble + rules[1]
    queries: list[Query] = []
    problems: list[Problem] = []
    for f in files_of(r):
        try:
            if kind == "grafana":
                found, trouble = dashboard_queries(read_dashboard_file(f), str(f))
            else:
                usage = file_usage(f)
                found, trouble = usage.queries, usage.problems
                r.errors.extend(usage.errors)
                if usage.errors and not found and not trouble:
                    continue  # what it holds could not be read: said by its errors
        except CostscopeError as exc:
            r.errors.append(exc)
            continue
        if not found and not trouble:
            what = "panel queries" if kind == "grafana" else "rules, alerts, SLOs or dashboards"
            r.errors.append(InputWarning(f"no readers: the file holds no {what}", file=str(f)))
            trouble = [Problem(_USAGE_KIND[kind], f.name, None, str(f), None, "no_readers", f"no {what}")]
        queries += found
        problems += trouble
    return queries, problems


def collect_usage(r: Reading) -> None:
    """Dashboards, rules and SLOs into usage_refs / usage_problems."""
    queries, problems = _usage_queries(r)
    _write(r, queries, problems)
    r.read = len(queries)


def _query_rows(log: QueryLog) -> tuple[list[Query], list[Problem]]:
    """A query log's distinct queries as readers of kind ``query``; LogQL goes to the log analysis."""
    queries, problems = [], []
    for row in log.queries.iter_rows(named=True):
        if log.language == "logql":
            problems.append(
                Problem("query", row["query"], None, log.origin, row["query"], "not_promql", "LogQL")
            )
            continue
        queries.append(
            Query(
                "query",
                row["query"],
                None,
                log.origin,
                row["query"],
                uses=row["uses"],
                clients=tuple(row["clients"] or ()),
                first_at=row["first_at"],
                last_at=row["last_at"],
            )
        )
    return queries, problems


def collect_queries(r: Reading) -> None:
    """Query logs (every file tried), a VictoriaMetrics' top queries or Grafana's query history, into
    usage_refs and query_windows."""
    logs: list[QueryLog] = []
    if _live(r):
        with api_client(r.source, r.record) as client:
            logs.append(fetch_queries(client))
    else:
        for f in files_of(r):
            try:
                log = read_query_log(f)
            except CostscopeError as exc:
                r.errors.append(exc)
                continue
            if not log.entries:
                r.errors.append(InputWarning("no queries (a query log with no query entries)", file=str(f)))
            elif log.skipped:
                r.errors.append(
                    InputWarning(
                        f"{log.skipped} line(s) were no {log.format} query entries; skipped", file=str(f)
                    )
                )
            logs.append(log)
    queries: list[Query] = []
    problems: list[Problem] = []
    for log in logs:
        found, trouble = _query_rows(log)
        queries += found
        problems += trouble
    _write(r, queries, problems)
    r.snapshot.append("query_windows", windows_frame(r.source.name, logs))
    r.read = sum(log.entries for log in logs)
