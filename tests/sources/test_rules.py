"""SLOs in every format their tools accept, checked against what those tools generate.

Sloth's own examples (../shared/fixtures/realworld/usage/sloth/specs) come with the rules Sloth
generates from them: the metrics a spec's SLIs read are the metrics of the generated SLI rules
(an independent token scan of the generated expressions). Specs whose SLI is a plugin (its query
is code) are a problem row naming the plugin, never nothing. OpenSLO v1/v1alpha and Pyrra specs,
which the corpus lacks, are written here from their specifications.
"""

from __future__ import annotations

import re
from pathlib import Path

import promql_parser
import pytest
import yaml

from costscope.errors import ParseError
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
