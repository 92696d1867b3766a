"""Fuzzing every reader of untrusted input: only CostscopeErrors (with a location) come out, never a crash.

Structured fuzzing with Hypothesis: arbitrary JSON values in the shapes the trace formats,
dashboards, rules and SLOs expect (and arbitrary text and bytes for the file readers).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costscope.config import parse_config
from costscope.errors import CostscopeError
from costscope.recommend.budgets import parse_budgets
from costscope.simulate.policies_file import parse_policies
from costscope.sources.dashboards import dashboard_queries, read_dashboard_file
from costscope.sources.rules import rule_queries, slo_queries
from costscope.sources.traces import read_trace_file, spans_of
from costscope.sources.usage import refs_frame
from costscope.sources.usage_file import file_usage

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
KEYS = st.sampled_from([
    "resourceSpans", "scopeSpans", "spans", "traceId", "spanId", "parentSpanId", "name", "kind", "status", "code",
    "startTimeUnixNano", "endTimeUnixNano", "attributes", "key", "value", "stringValue", "intValue", "resource",
    "data", "traceID", "spanID", "processes", "processID", "references", "refType", "tags", "duration", "startTime",
    "id", "parentId", "timestamp", "localEndpoint", "serviceName", "panels", "targets", "expr", "datasource", "type",
    "uid", "templating", "list", "query", "rows", "libraryPanel", "title", "groups", "rules", "alert", "record",
    "slos", "sli", "events", "error_query", "kind", "spec", "metricSource", "apiVersion", "annotations",
])  # fmt: skip
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12))
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.one_of(KEYS, st.text(max_size=5)), inner, max_size=6)
    ),
    max_leaves=30,
)


def _only_costscope_errors(fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except CostscopeError as exc:
        assert str(exc)  # says something


@FUZZ
@given(JSON)
def test_trace_formats(doc: Any) -> None:
    _only_costscope_errors(lambda: list(spans_of(doc)))


@FUZZ
@given(JSON)
def test_dashboards(doc: Any) -> None:
    def run() -> None:
        if isinstance(doc, dict):
            queries, problems = dashboard_queries(doc, "f")
            refs_frame("s", queries, problems)

    _only_costscope_errors(run)


@FUZZ
@given(JSON)
def test_rules_and_slos(doc: Any) -> None:
    def run() -> None:
        if isinstance(doc, dict):
            queries, problems = rule_queries(doc, "f")
            slo, slo_problems = slo_queries(doc, "f")
            refs_frame("s", [*queries, *slo], [*problems, *slo_problems])

    _only_costscope_errors(run)


@FUZZ
@given(st.text(max_size=300))
def test_yaml_configs_policies_and_budgets(text: str) -> None:
    for parse in (parse_config, parse_policies, parse_budgets):
        _only_costscope_errors(parse, text, "f.yaml")


@FUZZ
@given(st.one_of(st.binary(max_size=400), JSON.map(lambda d: json.dumps(d).encode())))
def test_files(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    tmp = tmp_path_factory.mktemp("fuzz")
    for name, reader in (
        ("t.otlp.json", lambda p: list(read_trace_file(p))),
        ("d.json", read_dashboard_file),
        ("r.yml", file_usage),
    ):
        path: Path = tmp / name
        path.write_bytes(data)
        _only_costscope_errors(reader, path)


class _Answer:
    """What the loopback server answers to every request, set per example."""

    body: bytes = b"{}"
    status: int = 200


@pytest.fixture(scope="module")
def any_server() -> Any:
    from http.server import BaseHTTPRequestHandler

    from scripts.loopback import loopback

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(_Answer.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(_Answer.body)))
            self.end_headers()
            self.wfile.write(_Answer.body)

        do_PUT = do_GET

    with loopback(Handler) as url:
        yield url


API_JSON = st.one_of(
    JSON,
    st.fixed_dictionaries({"status": st.sampled_from(["success", "error"]), "data": JSON}),
    st.fixed_dictionaries({"data": st.fixed_dictionaries({"resultType": st.sampled_from(["vector", "streams"]), "result": JSON})}),
)  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(API_JSON, st.sampled_from(["prometheus", "loki", "jaeger", "tempo", "grafana", "rules"]))
def test_server_answers_of_any_shape(
    any_server: str, tmp_path_factory: pytest.TempPathFactory, doc: Any, kind: str
) -> None:
    """Whatever JSON a server answers, every API source ends in a CostscopeError or a result."""
    from costscope.config import SourceConfig
    from costscope.run import collect_snapshot
    from costscope.store import Store

    _Answer.body = json.dumps(doc).encode()
    tmp = tmp_path_factory.mktemp("api")
    source = SourceConfig(name="s", kind=kind, url=any_server, retries=0, timeout_s=5)
    from costscope.config import Config

    with Store.open(tmp / "db") as store:
        run = collect_snapshot(store, [], Config(sources=(source,)))
        assert run.status in ("complete", "partial", "failed")
        assert all(isinstance(e, CostscopeError) for e in run.errors)
