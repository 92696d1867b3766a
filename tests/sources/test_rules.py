"""SLOs in every format their tools accept, checked against what those tools generate.

Sloth's own examples (../shared/fixtures/realworld/usage/sloth/specs) come with the rules Sloth
generates from them: the metrics a spec's SLIs read are the metrics of the generated SLI rules
(an independent token scan of the generated expressions). Specs whose SLI is a plugin (its query
is code) are a problem row naming the plugin, never nothing. OpenSLO v1/v1alpha and Pyrra specs,
which the corpus lacks, are written here from their specifications.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import promql_parser
import pytest
import yaml

from costscope.errors import ParseError
from costscope.sources.kinds import detect
from costscope.sources.usage import refs_frame
from costscope.sources.usage_file import FileUsage, file_usage
from tests.conftest import REALWORLD, shared

SLOTH = REALWORLD / "usage" / "sloth"
SPECS = sorted((SLOTH / "specs").glob("*.y*ml")) if SLOTH.is_dir() else []
_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{")


def _metrics_read(path: Path) -> set[str]:
    usage = file_usage(path)
    queries, problems = usage.queries, usage.problems
    refs, _ = refs_frame("t", queries, problems)
    return set(refs["metric"].to_list())


def _selectors(expr: str) -> set[str]:
    """Metric names of every vector selector, walking promql-parser's tree (not costscope's analysis)."""
    names: set[str] = set()

    def walk(node: object) -> None:
        if type(node).__name__ == "VectorSelector" and getattr(node, "name", None):
            names.add(str(node.name))  # type: ignore[attr-defined]
        for attr in ("expr", "lhs", "rhs", "args", "param", "vector_selector"):
            child = getattr(node, attr, None)
            for c in child if isinstance(child, list) else [child]:
                if c is not None and not isinstance(c, str | int | float):
                    walk(c)

    walk(promql_parser.parse(expr))
    return names


def _generated_sli_metrics(generated: Path) -> set[str]:
    """Metrics of Sloth's generated SLI recording rules (slo:sli_error:ratio_rate*)."""
    names: set[str] = set()
    for doc in yaml.safe_load_all(generated.read_text()):
        groups = (
            (doc.get("spec") or {}).get("groups")
            if doc.get("kind") == "PrometheusRule"
            else doc.get("groups")
        )
        for group in groups or []:
            for rule in group.get("rules") or []:
                if str(rule.get("record", "")).startswith("slo:sli_error:ratio_rate"):
                    try:
                        names |= {n for n in _selectors(rule["expr"]) if not n.startswith("slo:")}
                    except ValueError:  # MetricsQL (VictoriaMetrics' dialect): a plain token scan
                        names |= {n for n in _SELECTOR.findall(rule["expr"]) if not n.startswith("slo:")}
    return names


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.name)
def test_sloth_examples_read_what_sloth_generates(spec: Path) -> None:
    generated = SLOTH / "generated" / spec.name
    expected = _generated_sli_metrics(generated)
    assert expected, f"no SLI rules in {generated}"
    usage = file_usage(spec)
    queries, problems = usage.queries, usage.problems
    plugins = [p for p in problems if "SLI plugin" in p.message]
    if plugins:  # the query is code: said, and the generated rules show what it reads
        assert not queries and all(p.kind == "slo" for p in plugins)
        assert _metrics_read(generated) >= expected
        return
    refs, problem_rows = refs_frame("t", queries, problems)
    read = set(refs["metric"].to_list())
    unreadable = problem_rows.filter(problem_rows["problem"] == "parse_error")
    if unreadable.height:  # MetricsQL, which the PromQL parser refuses: each such query is a problem row
        assert read <= expected and unreadable.height + refs["expr"].n_unique() >= len(queries)
        return
    assert read == expected


def test_every_sloth_example_yields_readers_or_says_why() -> None:
    if not SPECS:
        pytest.skip("../shared/fixtures/realworld is missing")
    assert len(SPECS) >= 17
    for spec in SPECS:
        usage = file_usage(spec)
        queries, problems = usage.queries, usage.problems
        assert queries or problems, spec.name


OPENSLO_V1ALPHA = """\
apiVersion: openslo/v1alpha
kind: SLO
metadata: {name: checkout-availability}
spec:
  service: checkout
  budgetingMethod: Occurrences
  objectives:
    - ratioMetrics:
        good: {source: prometheus, queryType: promql, query: 'sum(rate(checkout_total{code!~"5.."}[5m]))'}
        total: {source: prometheus, queryType: promql, query: 'sum(rate(checkout_total[5m]))'}
      target: 0.99
    - thresholdMetric: {source: prometheus, queryType: promql, query: 'histogram_quantile(0.9, rate(checkout_seconds_bucket[5m]))'}
      op: lte
      value: 1
"""
OPENSLO_V1 = """\
apiVersion: openslo/v1
kind: SLI
metadata: {name: search-latency}
spec:
  ratioMetric:
    counter: true
    good: {metricSource: {type: Prometheus, spec: {query: 'sum(search_seconds_bucket{le="0.5"})'}}}
    total: {metricSource: {type: Prometheus, spec: {query: 'sum(search_seconds_count)'}}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: search}
spec:
  service: search
  indicatorRef: search-latency
  objectives: [{target: 0.95}]
"""
PYRRA = """\
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: api-errors, namespace: monitoring}
spec:
  target: "99"
  window: 4w
  indicator:
    ratio:
      errors: {metric: 'http_requests_total{job="api",code=~"5.."}'}
      total: {metric: 'http_requests_total{job="api"}'}
---
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: api-latency}
spec:
  target: "99"
  window: 2w
  indicator:
    latency:
      success: {metric: 'http_request_duration_seconds_bucket{job="api",le="1"}'}
      total: {metric: 'http_request_duration_seconds_count{job="api"}'}
---
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: probes}
spec:
  target: "99"
  window: 4w
  indicator:
    bool_gauge: {metric: 'probe_success{job="blackbox"}'}
"""
EMPTY_SLO = "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: nothing}\nspec: {service: s}\n"


@pytest.mark.parametrize(
    ("text", "metrics"),
    [
        (OPENSLO_V1ALPHA, {"checkout_total", "checkout_seconds_bucket"}),
        (OPENSLO_V1, {"search_seconds_bucket", "search_seconds_count"}),
        (
            PYRRA,
            {
                "http_requests_total",
                "http_request_duration_seconds_bucket",
                "http_request_duration_seconds_count",
                "probe_success",
            },
        ),
    ],
    ids=["openslo-v1alpha", "openslo-v1", "pyrra"],
)
def test_slo_formats_from_their_specifications(tmp_path: Path, text: str, metrics: set[str]) -> None:
    path = tmp_path / "slo.yaml"
    path.write_text(text)
    queries = file_usage(path).queries
    assert {q.kind for q in queries} == {"slo"}
    assert _metrics_read(path) == metrics


def test_an_slo_file_that_reads_nothing_is_a_problem_row(tmp_path: Path) -> None:
    import costscope

    (tmp_path / "empty.slo.yaml").write_text(EMPTY_SLO)
    (tmp_path / "m.prom").write_text("up 1\n")
    ws = costscope.analyze([str(tmp_path)], db=tmp_path / "db")
    problems = ws.query("SELECT problem, origin FROM usage_problems")
    assert problems.rows() == [("no_readers", str(tmp_path / "empty.slo.yaml"))]


# --- a server's /api/v1/rules answer saved to a file --------------------------------------------


def test_the_documented_rules_answer_reads_its_alert_and_recording_rule() -> None:
    """Prometheus' own example answer (docs/querying/api.md): one alert and one recording rule."""
    answer = shared("api_responses", "prometheus", "rules.json")
    usage = file_usage(answer)
    queries, problems = usage.queries, usage.problems
    assert problems == []
    assert [(q.kind, q.name, q.panel, q.expr) for q in queries] == [
        (
            "alert",
            "HighRequestLatency",
            'example {severity="page"}',
            'job:request_latency_seconds:mean5m{job="myjob"} > 0.5',
        ),
        (
            "recording_rule",
            "job:http_inprogress_requests:sum",
            "example",
            "sum by (job) (http_inprogress_requests)",
        ),
    ]
    refs, _ = refs_frame("t", queries, problems)
    assert set(refs["metric"]) == {"job:request_latency_seconds:mean5m", "http_inprogress_requests"}


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            '{"status": "success", "data": {"groups": [{"name": "g", "rules": 7}]}}',
            "malformed rules API answer",
        ),
        ('{"status": "success", "data": {"groups": [1, {"name": "g"}]}}', None),
        ('{"status": "success", "data": {"groups": [}}', "invalid YAML"),
    ],
    ids=["rules not a list", "groups of no rules", "cut short"],
)
def test_a_bad_rules_answer_names_the_file(tmp_path: Path, text: str, said: str | None) -> None:
    """A file that is no YAML or JSON raises; a malformed document in it is an error of the file."""
    path = tmp_path / "rules.json"
    path.write_text(text)
    if said is None:
        assert file_usage(path) == FileUsage()
        return
    try:
        (error,) = file_usage(path).errors
    except ParseError as caught:
        error = caught
    assert said in error.message and error.file == str(path)


# Grafana-managed rules as Grafana's file provisioning documents them (and its export writes them):
# each `data` entry is a query of a datasource or a server-side expression combining them.
GRAFANA_RULES = """
apiVersion: 1
groups:
  - orgId: 1
    name: node
    folder: Infrastructure
    interval: 1m
    rules:
      - uid: cpu
        title: High CPU
        condition: C
        data:
          - refId: A
            relativeTimeRange: {from: 600, to: 0}
            datasourceUid: PBFA97CFB590B2093
            model:
              editorMode: code
              expr: sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))
              instant: true
              refId: A
          - refId: B
            datasourceUid: __expr__
            model: {datasource: {type: __expr__, uid: __expr__}, expression: A, reducer: last, type: reduce}
          - refId: C
            datasourceUid: __expr__
            model: {expression: B, type: threshold, conditions: [{evaluator: {params: [0.9], type: gt}}]}
        for: 5m
        labels: {severity: warning}
      - uid: logs
        title: Error logs
        condition: B
        data:
          - refId: A
            datasourceUid: P8E80F9AEF21F6940
            model:
              datasource: {type: loki, uid: P8E80F9AEF21F6940}
              expr: sum(count_over_time({app="api"} |= "error" [5m]))
          - refId: B
            datasourceUid: __expr__
            model: {expression: A, type: threshold}
      - uid: rec
        title: cpu by instance
        record: {metric: "instance:node_cpu:rate5m", from: A}
        data:
          - refId: A
            datasourceUid: PBFA97CFB590B2093
            model: {expr: 'rate(node_cpu_seconds_total[5m])', refId: A}
      - uid: cw
        title: Lambda errors
        condition: B
        data:
          - refId: A
            datasourceUid: cloudwatch1
            model: {datasource: {type: cloudwatch, uid: cloudwatch1}, expr: "", namespace: AWS/Lambda}
"""


def _grafana_readers(usage: FileUsage) -> set[tuple[str, str, str | None, str]]:
    return {(q.kind, q.name, q.panel, q.expr) for q in usage.queries}


@pytest.mark.parametrize("form", ["yaml", "json"])
def test_grafana_managed_rules_read_their_promql(tmp_path: Path, form: str) -> None:
    """Before, each was 'rule without a name or expr' and the metrics it reads looked unused."""
    doc = yaml.safe_load(GRAFANA_RULES)
    path = tmp_path / f"alert-rules.{form}"
    path.write_text(GRAFANA_RULES if form == "yaml" else json.dumps(doc))
    assert detect(path) == "rules"
    usage = file_usage(path)
    assert _grafana_readers(usage) == {
        (
            "alert",
            "High CPU",
            'node {severity="warning"} A',
            'sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))',
        ),
        ("recording_rule", "instance:node_cpu:rate5m", "node A", "rate(node_cpu_seconds_total[5m])"),
    }
    # the Loki query is kept for the log analysis; the CloudWatch rule reads nothing of ours
    assert [(p.name, p.problem, p.message) for p in usage.problems] == [("Error logs", "not_promql", "LogQL")]
    assert usage.errors == []


def test_grafana_ruler_api_answer_reads_as_the_provisioning_file(tmp_path: Path) -> None:
    """Grafana's ruler API (/api/ruler/grafana/api/v1/rules): folder → groups of `grafana_alert`s."""
    groups = yaml.safe_load(GRAFANA_RULES)["groups"]
    answer = {
        "Infrastructure": [
            {
                "name": g["name"],
                "interval": g["interval"],
                "rules": [
                    {
                        "grafana_alert": {k: v for k, v in r.items() if k != "labels"},
                        "labels": r.get("labels"),
                    }
                    for r in g["rules"]
                ],
            }
            for g in groups
        ]
    }
    path = tmp_path / "ruler.json"
    path.write_text(json.dumps(answer))
    readers = {
        (kind, name, (panel or "").removeprefix("Infrastructure/"), expr)
        for kind, name, panel, expr in _grafana_readers(file_usage(path))
    }
    provisioned = tmp_path / "provisioned.yaml"
    provisioned.write_text(GRAFANA_RULES)
    assert readers == _grafana_readers(file_usage(provisioned))


def test_a_ruler_config_by_namespace_reads_every_rule(tmp_path: Path) -> None:
    """Mimir's, Cortex's and Loki's /config/v1/rules and `mimirtool rules print`: namespace → groups."""
    files = sorted((shared("dashboards_rules", "awesome-prometheus-alerts")).glob("*.yml"))
    config = {f.stem: yaml.safe_load(f.read_text())["groups"] for f in files}
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.dump(config))
    assert detect(path) == "rules"
    usage = file_usage(path)
    text = "".join(f.read_text() for f in files)  # oracle: one `alert:` line per rule in the files
    assert len(usage.queries) == len(re.findall(r"^\s*(?:- )?alert:", text, re.M)) > 100
    assert usage.problems == [] and usage.errors == []
    assert {q.panel.split("/")[0] for q in usage.queries if q.panel} == {f.stem for f in files}
