"""Metric names read from expressions the PromQL parser refuses (MetricsQL, newer functions)."""

from __future__ import annotations

import pytest

from costscope.sources.promql import metric_refs
from costscope.sources.promql_names import mentioned_names

CASES = [
    # MetricsQL, from Sloth's VictoriaMetrics example
    (
        '1 - histogram_share(0.2, sum by (vmrange) (rate(requests_duration_seconds_bucket{container_name="x"}'
        "[{{.window}}])))",
        ["requests_duration_seconds_bucket"],
    ),
    ("vector(1)[{{.window}}]", []),
    ("rate(foo[5m:1m]) * 1e3 + bar_total @ start()", ["foo", "bar_total"]),
    (
        'sum(rate(a_total{job="$job"}[$__rate_interval])) / on (job) group_left(team) team_info',
        ["a_total", "team_info"],
    ),
    ("up offset 5m and bool 1 or on() absent(x_seconds)", ["up", "x_seconds"]),
    ('m{a="{", b=~"}["} > 0', ["m"]),  # braces and brackets inside strings are text
    ("median_over_time(q:rate5m[1h]) > 0x1F", ["q:rate5m"]),  # a recorded name; no hex digits
    ("sum without (pod) (kube_pod_info) unless kube_node_info", ["kube_pod_info", "kube_node_info"]),
    ("", []),
]


@pytest.mark.parametrize(("expr", "names"), CASES)
def test_names_a_refused_expression_mentions(expr: str, names: list[str]) -> None:
    assert mentioned_names(expr) == names


@pytest.mark.parametrize(
    "expr",
    ["sum by (job) (rate(http_requests_total[5m]))", "a / on (x) group_left b", "histogram_quantile(0.9, m)"],
)
def test_on_what_the_parser_reads_it_finds_the_same_metrics(expr: str) -> None:
    assert set(mentioned_names(expr)) == {r.metric for r in metric_refs(expr)}
