"""Usage sources: real dashboards and rules, a real Prometheus' rules API, a Grafana API on loopback."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import polars as pl
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

import costscope
from costscope.config import Auth, SourceConfig
from costscope.credentials import Secret
from costscope.errors import ParseError
from costscope.sources.dashboards import dashboard_queries, grafana_queries, read_dashboard_file
from costscope.sources.grafana_rules import grafana_api_rule_queries
from costscope.sources.http import HttpClient
from costscope.sources.rules import rule_queries, slo_queries
from costscope.sources.usage import refs_frame
from costscope.sources.usage_file import file_usage
from scripts.loopback import loopback
from tests import servers
from tests.conftest import EXPOSITION, SAMPLE_DATA, SHARED

USAGE = SHARED / "dashboards_rules"
KUBE = USAGE / "kube-prometheus"
NODE_FULL = USAGE / "rfmoz" / "node-exporter-full.json"
E2E = EXPOSITION / "node_exporter" / "e2e-output.txt"


def _dashboard_refs(paths: list[Path]) -> tuple[int, pl.DataFrame, pl.DataFrame]:
    queries, problems = [], []
    for p in paths:
        q, pr = dashboard_queries(read_dashboard_file(p), str(p))
        queries += q
        problems += pr
    refs, problem_rows = refs_frame("t", queries, problems)
    return len(queries), refs, problem_rows


def test_kube_prometheus_dashboards_parse_completely() -> None:
    files = sorted((KUBE / "dashboards").glob("*.json"))
    assert len(files) == 33
    count, refs, problems = _dashboard_refs(files)
    assert count == 652  # 581 panel targets + 71 template variables
    assert problems.is_empty(), problems.to_dicts()
    assert refs["metric"].n_unique() > 150


def test_node_exporter_full_parses_completely() -> None:
    count, _refs, problems = _dashboard_refs([NODE_FULL])
    assert count > 250 and problems.is_empty(), problems.to_dicts()


@pytest.mark.parametrize(
    "path",
    sorted((KUBE / "rules").glob("*.yaml")) + sorted((USAGE / "awesome-prometheus-alerts").glob("*.yml")),
)
def test_real_rule_files_parse_completely(path: Path) -> None:
    usage = file_usage(path)
    queries, problems = usage.queries, usage.problems
    _refs, problem_rows = refs_frame("t", queries, problems)
    # a cardinality alert selects every series, a Watchdog's vector(1) none: rows of their own,
    # not failures to read them
    unread = problem_rows.filter(~pl.col("problem").is_in(["every_series", "no_metric"]))
    assert queries and unread.is_empty(), unread.to_dicts()
    assert {q.kind for q in queries} <= {"alert", "recording_rule"}


def test_rule_counts_match_the_files() -> None:
    kube = sum(len(file_usage(p).queries) for p in (KUBE / "rules").glob("*.yaml"))
    awesome = sum(len(file_usage(p).queries) for p in (USAGE / "awesome-prometheus-alerts").glob("*.yml"))
    assert (kube, awesome) == (234, 113)


def _independent_unused(dashboard: Path, exposition: Path) -> set[str]:
    """Families of the exposition whose samples no dashboard expression names: a token scan."""
    doc = json.loads(dashboard.read_text())
    texts = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("expr", "query", "definition") and isinstance(value, str):
                    texts.append(value)
                elif isinstance(value, dict) and key == "query" and isinstance(value.get("query"), str):
                    texts.append(value["query"])
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    tokens = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", "\n".join(texts)))
    unused = set()
    for family in text_string_to_metric_families(exposition.read_text()):
        names = {s.name for s in family.samples}
        if names and not names & tokens:  # a family with no samples costs nothing and is not stored
            unused.add(family.name if family.type != "counter" else family.name + "_total")
    return unused


def test_unused_metrics_of_node_exporter_full_match_an_independent_count(tmp_path: Path) -> None:
    ws = costscope.analyze([str(E2E), str(NODE_FULL)], db=tmp_path / "db")
    usage = ws.usage()
    got = set(usage.filter(pl.col("status") == "unused")["metric"])
    expected = _independent_unused(NODE_FULL, E2E)
    # prometheus_client names a counter family without _total; ours keeps the sample name
    normalize = {m.removesuffix("_total") for m in got}
    assert normalize == {m.removesuffix("_total") for m in expected}
    assert 0 < len(got) < usage.height
    assert set(ws.unused_metrics()["metric"]) == got


def test_sloth_and_openslo() -> None:
    sloth = {
        "version": "prometheus/v1",
        "service": "api",
        "slos": [
            {
                "name": "avail",
                "sli": {
                    "events": {
                        "error_query": 'sum(rate(req_total{code=~"5.."}[{{.window}}]))',
                        "total_query": "sum(rate(req_total[{{ .window }}]))",
                    }
                },
            },
            {"name": "raw", "sli": {"raw": {"error_ratio_query": "sum(rate(err_total[{{.window}}]))"}}},
        ],
    }
    queries, _ = slo_queries(sloth, "f")
    assert [(q.name, q.panel) for q in queries] == [
        ("api/avail", "error_query"),
        ("api/avail", "total_query"),
        ("api/raw", "error_ratio_query"),
    ]
    refs, problems = refs_frame("t", queries, [])
    assert problems.is_empty() and set(refs["metric"]) == {"req_total", "err_total"}
    openslo = {
        "apiVersion": "openslo/v1",
        "kind": "SLO",
        "metadata": {"name": "latency"},
        "spec": {
            "indicator": {
                "spec": {
                    "ratioMetric": {
                        "good": {"metricSource": {"type": "Prometheus", "spec": {"query": "sum(ok_total)"}}},
                        "total": {
                            "metricSource": {"type": "prometheus", "spec": {"query": "sum(all_total)"}}
                        },
                    }
                }
            }
        },
    }
    assert [q.expr for q in slo_queries(openslo, "f")[0]] == ["sum(ok_total)", "sum(all_total)"]


def test_prometheus_rule_crd_and_plain_groups_read_alike() -> None:
    groups = [
        {"name": "g", "rules": [{"alert": "A", "expr": "up == 0"}, {"record": "r:x", "expr": "sum(x)"}]}
    ]
    plain, _ = rule_queries({"groups": groups}, "f")
    crd, _ = rule_queries({"kind": "PrometheusRule", "spec": {"groups": groups}}, "f")
    assert plain == crd and [(q.kind, q.name) for q in plain] == [("alert", "A"), ("recording_rule", "r:x")]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("groups:\n  - name: g\n    rules: [\n", 4),
        ("groups:\n\t- bad tab\n", 2),
    ],
)
def test_malformed_rule_yaml_names_file_and_line(tmp_path: Path, text: str, line: int) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(text)
    with pytest.raises(ParseError) as err:
        file_usage(path)
    assert err.value.file == str(path) and err.value.line == line


@pytest.mark.parametrize(
    ("text", "message"),
    [("{", "invalid JSON"), ('{"title": "x"}', "not a Grafana dashboard"), ("[]", "not a Grafana dashboard")],
)
def test_malformed_dashboard_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "d.json"
    path.write_text(text)
    with pytest.raises(ParseError, match=message):
        read_dashboard_file(path)


def test_a_broken_file_does_not_hide_the_others(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "bad.yml").write_text("groups: [\n")
    (tmp_path / "rules" / "good.yml").write_text(
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n"
    )
    (tmp_path / "m.prom").write_text("up 1\n")
    ws = costscope.analyze([str(tmp_path)], db=tmp_path / "db")
    analysis = ws.analysis()
    assert analysis.status == "partial"
    errors = analysis.errors.filter(pl.col("severity") == "error")
    assert errors.height == 1 and "bad.yml:2" in errors["message"][0]
    assert ws.usage().filter(pl.col("metric") == "up")["alerts"].to_list() == [1]


def test_non_promql_targets_are_left_out_and_logql_kept_for_the_logs() -> None:
    doc = {
        "title": "mixed",
        "templating": {"list": [{"name": "logs", "type": "datasource", "query": "loki"}]},
        "panels": [
            {"title": "loki", "datasource": {"type": "loki"}, "targets": [{"expr": '{app="x"} |= "error"'}]},
            {
                "title": "via var",
                "datasource": "$logs",
                "targets": [{"expr": 'sum(count_over_time({a="b"}[5m]))'}],
            },
            {"title": "unknown ds, LogQL", "targets": [{"expr": '{job="x"} | json | level="error"'}]},
            {"title": "prom", "targets": [{"expr": "up"}]},
        ],
    }
    queries, problems = dashboard_queries(doc, "f")
    refs, problem_rows = refs_frame("t", queries, problems)
    assert set(refs["metric"]) == {"up"}
    assert problem_rows["problem"].to_list() == ["not_promql"] * 3
    assert problem_rows["panel"].to_list() == ["loki", "via var", "unknown ds, LogQL"]


# --- a real Prometheus evaluating the rule files --------------------------------------------------


def _ref_set(refs: pl.DataFrame) -> set[tuple[object, ...]]:
    return {
        (r["kind"], r["name"], r["metric"], r["name_match"], tuple(r["labels"]), r["all_labels"])
        for r in refs.iter_rows(named=True)
    }


@pytest.mark.servers
def test_rules_api_of_a_real_prometheus_equals_the_files(tmp_path: Path) -> None:
    files = [
        SAMPLE_DATA / "rules" / "shop.rules.yml",
        *sorted((USAGE / "awesome-prometheus-alerts").glob("*.yml")),
    ]
    with servers.prometheus(tmp_path, rule_files=files) as prom:
        servers.wait_for(lambda: len(prom_rules(prom.url)) > 0)
        source = SourceConfig(name="prom", kind="rules", url=prom.url)
        ws = costscope.analyze([], db=tmp_path / "api.db", config=_config(tmp_path, source))
        from_api = ws.query("SELECT * FROM usage_refs")
        # the same answer saved to a file (curl …/api/v1/rules > rules.json) reads as the live one
        import httpx

        saved = tmp_path / "saved" / "rules.json"
        saved.parent.mkdir()
        saved.write_bytes(httpx.get(prom.url + "/api/v1/rules", timeout=5).content)
    file_queries = [q for f in files for q in file_usage(f).queries]
    from_files, _ = refs_frame("files", file_queries, [])
    assert _ref_set(from_api) == _ref_set(from_files)
    assert from_api.height == from_files.height
    from_saved = costscope.analyze([str(saved.parent)], db=tmp_path / "saved.db").query(
        "SELECT * FROM usage_refs"
    )
    assert _ref_set(from_saved) == _ref_set(from_api)
    assert set(from_saved["origin"]) == {str(saved)}


def prom_rules(url: str) -> list[dict[str, object]]:
    import httpx

    groups = httpx.get(url + "/api/v1/rules", timeout=5).json()["data"]["groups"]
    return [r for g in groups for r in g["rules"]]


def _config(tmp_path: Path, source: SourceConfig) -> Path:
    path = tmp_path / "costscope.yaml"
    path.write_text(f"sources:\n  - name: {source.name}\n    kind: {source.kind}\n    url: {source.url}\n")
    return path


# --- a Grafana API on loopback ---------------------------------------------------------------------


LIBRARY_PANEL = {
    "uid": "lib-1",
    "name": "Shared latency",
    "kind": 1,
    "model": {
        "title": "Shared latency",
        "type": "timeseries",
        "targets": [{"expr": "histogram_quantile(0.9, sum by (le) (rate(lib_seconds_bucket[5m])))"}],
    },
}


@contextmanager
def grafana(
    dashboards: dict[str, dict[str, object]],
    token: str,
    page_size: int = 2,
    alert_rules: list[dict[str, object]] | int = 404,
) -> Iterator[str]:
    """Grafana's search, dashboard, library-element and alert-rule endpoints, shaped as documented;
    ``alert_rules`` is the rules it lists, or the status it refuses them with (404: before Grafana 9)."""
    uids = sorted(dashboards)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.headers.get("Authorization") != f"Bearer {token}":
                return self._send(401, {"message": "Unauthorized"})
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            if parts.path == "/api/search":
                limit = min(int(query["limit"][0]), page_size)  # a server may page by less
                page = int(query.get("page", ["1"])[0])
                chunk = uids[(page - 1) * limit : page * limit]
                hits = [{"uid": u, "title": dashboards[u]["title"], "type": "dash-db"} for u in chunk]
                return self._send(200, hits)
            if parts.path.startswith("/api/dashboards/uid/"):
                uid = parts.path.rsplit("/", 1)[1]
                if uid not in dashboards:
                    return self._send(404, {"message": "Dashboard not found"})
                return self._send(200, {"dashboard": dashboards[uid], "meta": {"slug": uid}})
            if parts.path == "/api/library-elements/lib-1":
                return self._send(200, {"result": LIBRARY_PANEL})
            if parts.path == "/api/v1/provisioning/alert-rules":
                if isinstance(alert_rules, int):
                    return self._send(alert_rules, {"message": "Access denied", "status": "Forbidden"})
                return self._send(200, alert_rules)
            return self._send(404, {"message": "Not found"})

    with loopback(Handler) as url:
        yield url


def test_grafana_api_reads_every_dashboard_and_library_panel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = sorted((KUBE / "dashboards").glob("*.json"))[:5]
    boards = {f.stem: read_dashboard_file(f) for f in files}
    boards["with-library"] = {
        "title": "Library user",
        "panels": [{"id": 1, "title": "latency", "libraryPanel": {"uid": "lib-1", "name": "Shared latency"}}],
    }
    token = "glsa_secret_token_123"
    with grafana(boards, token) as url:
        source = SourceConfig(
            name="grafana",
            kind="grafana",
            url=url,
            auth=Auth(bearer_token=Secret("env:GRAFANA_TOKEN", token)),
        )
        with HttpClient(source) as client:
            queries, problems = grafana_queries(client)
    _, from_files, _ = _dashboard_refs(files)
    from_api, _ = refs_frame("t", queries, problems)
    assert not problems
    lib = from_api.filter(pl.col("name") == "Library user")
    assert lib["metric"].to_list() == ["lib_seconds_bucket"] and lib["labels"].to_list() == [["le"]]
    assert _ref_set(from_api.filter(pl.col("name") != "Library user")) == _ref_set(from_files)


def test_library_panel_in_a_file_is_reported_unresolved() -> None:
    doc = {"title": "L", "panels": [{"id": 1, "libraryPanel": {"uid": "lib-9", "name": "shared"}}]}
    queries, problems = dashboard_queries(doc, "f")
    assert not queries and [p.problem for p in problems] == ["unresolved"]


def test_grafana_token_never_reaches_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token = "glsa_do_not_leak_987"
    monkeypatch.setenv("GRAFANA_TOKEN", token)
    boards = {"a": read_dashboard_file(NODE_FULL)}
    with grafana(boards, token) as url:
        cfg = tmp_path / "costscope.yaml"
        cfg.write_text(
            f"sources:\n  - name: grafana\n    kind: grafana\n    url: {url}\n"
            "    auth:\n      bearer_token_env: GRAFANA_TOKEN\n"
        )
        ws = costscope.analyze([str(E2E)], db=tmp_path / "db", config=cfg)
        assert ws.usage().filter(pl.col("status") == "used").height > 10
    assert token.encode() not in (tmp_path / "db").read_bytes()


def test_only_dashboards_are_read_as_dashboards(tmp_path: Path) -> None:
    """JSON-lines traces named *.otlp.json, and a big JSON file, are not (broken) dashboards."""
    from costscope.config import Config
    from costscope.sources import resolve
    from costscope.sources.kinds import classify
    from costscope.sources.sniff import MAX_WHOLE_BYTES
    from tests.conftest import SAMPLE_DATA

    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "shop.json").write_text((SAMPLE_DATA / "dashboards" / "shop-services.json").read_text())
    with gzip.open(SAMPLE_DATA / "traces" / "shop.otlp.jsonl.gz", "rt") as f:
        (folder / "spans.otlp.json").write_text("".join(f.readline() for _ in range(3)))  # JSON lines
    with (folder / "dump.json").open("wb") as f:
        f.truncate(MAX_WHOLE_BYTES + 1)  # sparse: big, never parsed whole
    contents = classify(folder)
    assert [p.name for p in contents.files["grafana"]] == ["shop.json"]
    resolution = resolve([str(folder)], Config())
    assert sorted(s.kind for s in resolution.sources) == ["grafana", "traces"]
    assert [w.file for _, w in resolution.warnings] == [str(folder / "dump.json")]


def _provisioned_rules() -> list[dict[str, object]]:
    """The Grafana-managed rules of test_rules' provisioning file, as the provisioning API lists them."""
    from tests.sources.test_rules import GRAFANA_RULES

    groups = yaml.safe_load(GRAFANA_RULES)["groups"]
    return [
        {**r, "orgID": 1, "folderUID": "infra", "ruleGroup": g["name"]} for g in groups for r in g["rules"]
    ]


def test_grafana_api_reads_its_alert_rules(tmp_path: Path) -> None:
    from tests.sources.test_rules import GRAFANA_RULES

    token = "glsa_rules_token"
    with grafana({}, token, alert_rules=_provisioned_rules()) as url:
        source = SourceConfig(name="g", kind="grafana", url=url, auth=Auth(bearer_token=Secret("x", token)))
        with HttpClient(source) as client:
            found = grafana_api_rule_queries(client)
    assert not isinstance(found, int)
    provisioned = tmp_path / "alert-rules.yaml"
    provisioned.write_text(GRAFANA_RULES)
    from_file = file_usage(provisioned)
    strip = lambda qs: sorted((q.kind, q.name, (q.panel or "").removeprefix("infra/"), q.expr) for q in qs)  # noqa: E731
    assert strip(found[0]) == strip(from_file.queries) and len(found[0]) == 2
    assert [p.problem for p in found[1]] == [p.problem for p in from_file.problems] == ["not_promql"]


@pytest.mark.parametrize("refusal", [403, 404])
def test_a_grafana_that_will_not_list_alert_rules_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refusal: int
) -> None:
    """Its dashboards are still read; the run says which readers it could not see."""
    token = "glsa_viewer_token"
    monkeypatch.setenv("GRAFANA_TOKEN", token)
    with grafana({"a": read_dashboard_file(NODE_FULL)}, token, alert_rules=refusal) as url:
        cfg = tmp_path / "costscope.yaml"
        cfg.write_text(
            f"sources:\n  - name: grafana\n    kind: grafana\n    url: {url}\n"
            "    auth:\n      bearer_token_env: GRAFANA_TOKEN\n"
        )
        analysis = costscope.analyze([str(E2E)], db=tmp_path / "db", config=cfg).analysis()
    assert analysis.usage.metrics.filter(pl.col("status") == "used").height > 10
    (warning,) = analysis.errors.filter(pl.col("message").str.contains("alert rules")).rows(named=True)
    assert warning["severity"] == "warning" and f"answered HTTP {refusal}" in warning["message"]
    assert analysis.status == "complete"
