"""PromQL → the metrics an expression reads and, per metric, the labels its result depends on.

Each expected need is written as ``{"a", "b"}`` (exactly these labels) or ``ALL - {"a"}`` (every
label but these). Matchers' labels are always needed.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from costscope.errors import ParseError
from costscope.sources.promql import ALL, LabelNeed, metric_refs, substitute_variables


def only(*labels: str) -> LabelNeed:
    return LabelNeed(False, frozenset(labels))


def every_but(*labels: str) -> LabelNeed:
    return LabelNeed(True, frozenset(labels))


CASES = [
    # a bare selector on a dashboard: the legend may show any label
    ("up", {"up": ALL}),
    # matchers are needed, and the top still needs all
    ('up{job="api"}', {"up": ALL}),
    # by(): only the grouping labels and the matchers
    (
        'sum by (job) (rate(http_requests_total{code=~"5.."}[5m]))',
        {"http_requests_total": only("job", "code")},
    ),
    # the old position of by()
    ("sum(rate(x_total[5m])) by (route)", {"x_total": only("route")}),
    # without(): all but the removed labels
    ("sum without (instance, pod) (rate(x_total[5m]))", {"x_total": every_but("instance", "pod")}),
    # an aggregation without grouping needs no label
    ("count(up)", {"up": only()}),
    # nested aggregations: the inner grouping is what the selector sees
    ("count(count by (pod) (kube_pod_info))", {"kube_pod_info": only("pod")}),
    # histogram_quantile needs le beside the grouping
    (
        "histogram_quantile(0.99, sum by (le, job) (rate(h_bucket[5m])))",
        {"h_bucket": only("le", "job")},
    ),
    # histogram_quantile straight on a rate: everything (le included) stays
    ("histogram_quantile(0.9, rate(h_bucket[5m]))", {"h_bucket": ALL}),
    # vector/vector without modifier matches on every label
    ("a / b", {"a": ALL, "b": ALL}),
    # on(): one-to-one keeps only the on() labels
    ("sum by (job, x) (a) / on (job) sum by (job) (b)", {"a": only("job", "x"), "b": only("job")}),
    # ignoring(): matching on all but the ignored labels
    ("a / ignoring (code) b", {"a": every_but("code"), "b": every_but("code")}),
    # group_left: the many side keeps its labels, the one side gives on() + the copied labels
    (
        "a * on (instance) group_left (nodename) node_uname_info",
        {"a": ALL, "node_uname_info": only("instance", "nodename")},
    ),
    # group_right mirrors group_left
    ("m * on (ns) group_right (team) b", {"m": only("ns", "team"), "b": ALL}),
    # vector op scalar: labels pass through
    ("sum by (job) (a) > 0.5", {"a": only("job")}),
    # scalar() of an aggregation
    ("x / scalar(sum(y))", {"x": ALL, "y": only()}),
    # and/unless with on(): the right side only filters on the on() labels
    ("sum by (ns, pod) (a) unless on (ns) b", {"a": only("ns", "pod"), "b": only("ns")}),
    # or with on(): both sides' series reach the result
    ("sum by (ns) (a) or on (ns) sum by (ns) (b)", {"a": only("ns"), "b": only("ns")}),
    # label_replace needs its source label (and the result's)
    ('sum by (svc) (label_replace(x, "svc", "$1", "service", "(.*)"))', {"x": only("svc", "service")}),
    # label_join needs every source label
    ('sum by (id) (label_join(x, "id", "-", "ns", "pod"))', {"x": only("id", "ns", "pod")}),
    # absent() only looks at whether anything matches
    ('absent(up{job="db"})', {"up": only("job")}),
    # absent_over_time likewise
    ('absent_over_time(up{job="db"}[5m])', {"up": only("job")}),
    # topk keeps the input's labels
    ("topk(5, sum by (route) (rate(x[5m])))", {"x": only("route")}),
    # topk by(): grouping and the input's labels
    ("topk by (ns) (3, m)", {"m": ALL}),
    # a regex on __name__ is a pattern resolved later
    ('sum by (job) ({__name__=~"node_cpu.*"})', {"node_cpu.*": only("job")}),
    # __name__ equality is a plain metric name
    ('{__name__="up", job="x"}', {"up": ALL}),
    # subqueries pass needs through
    ("max_over_time(sum by (job) (rate(x[1m]))[1h:5m])", {"x": only("job")}),
    # offset and @ modifiers change nothing
    ("sum by (job) (rate(x[5m] offset 1h))", {"x": only("job")}),
    # count_values: the grouping only
    ('count_values by (job) ("version", build_info)', {"build_info": only("job")}),
    # quantile with a parameter
    ("quantile by (job) (0.9, latency)", {"latency": only("job")}),
    # sort_by_label needs its labels
    ('sort_by_label(sum by (a, b) (m), "a")', {"m": only("a", "b")}),
    # unary minus and parentheses are transparent
    ("-(sum by (z) (m))", {"m": only("z")}),
    # time() arithmetic on a gauge
    ("time() - max by (job) (process_start_time_seconds)", {"process_start_time_seconds": only("job")}),
    # the same metric twice: needs are joined (each side's aggregation bounds what matching sees)
    ('sum by (a) (m{x="1"}) / sum by (b) (m)', {"m": only("a", "b", "x")}),
    # Grafana: $__rate_interval in a range, a variable in a matcher value
    ('sum by (job) (rate(x{instance=~"$node"}[$__rate_interval]))', {"x": only("job", "instance")}),
    # Grafana: a variable as the grouping label means any label
    ("sum by ($group) (rate(x[5m]))", {"x": ALL}),
    # Grafana: a variable inside a metric name becomes a pattern
    ('rate(${prefix}_requests_total{job="a"}[5m])', {".*_requests_total": ALL}),
    # Grafana legacy [[var]] and a variable as a number
    ("topk([[n]], sum by (route) (rate(x[5m])))", {"x": only("route")}),
]


@pytest.mark.parametrize(("expr", "expected"), CASES, ids=[c[0][:60] for c in CASES])
def test_metric_refs(expr: str, expected: dict[str, LabelNeed]) -> None:
    refs = metric_refs(expr)
    got: dict[str, LabelNeed] = {}
    for ref in refs:
        got[ref.metric] = got[ref.metric].union(ref.need) if ref.metric in got else ref.need
    assert got == expected


def test_enough_cases() -> None:
    assert len(CASES) >= 30


def test_selector_without_a_name_is_any_metric_with_its_labels() -> None:
    (ref,) = metric_refs('{job="api", code="500"}')
    assert ref.match == "any" and ref.matchers == ("code", "job")


@pytest.mark.parametrize(
    ("expr", "match", "matchers"),
    [
        ('count by (__name__) ({__name__=~".+"}) > 10000', "every_series", ()),  # a cardinality alert
        ('count({__name__!=""})', "every_series", ()),
        ('count({__name__=~".*", __name__!=""})', "every_series", ()),
        ('sum by (job) ({__name__=~".+", job="api"})', "any", ("job",)),  # as a selector naming no metric
        ('{__name__=~"node_.+"}', "regex", ()),  # a set of metrics, by name
        ('{__name__=~"$metric"}', "regex", ()),  # a metric a variable picks: any of them
    ],
)
def test_a_selector_of_every_series_names_no_metric(expr: str, match: str, matchers: tuple[str, ...]) -> None:
    (ref,) = metric_refs(expr)
    assert (ref.match, ref.matchers) == (match, matchers)


def test_negative_name_matcher() -> None:
    (ref,) = metric_refs('{__name__!~"go_.*", job="a"}')
    assert (ref.metric, ref.match) == ("go_.*", "not_regex")


@pytest.mark.parametrize(
    ("expr", "bounds"),
    [
        ('sum(rate(x_bucket{le="0.5"}[5m])) / sum(rate(x_count[5m]))', ("0.5",)),  # an apdex-style SLI
        (r'x_bucket{le=~"0\\.25|1|\\+Inf"}', ("+Inf", "0.25", "1")),  # literal alternatives, unescaped
        ('x_bucket{le=~"0.*"}', ()),  # a real pattern pins nothing by name
        ('x_bucket{le!="1"}', ()),
        ('x_bucket{le="$bound"}', ()),  # a dashboard variable: unknown until run time
        ("histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))", ()),
    ],
)
def test_bucket_bounds_read_by_name(expr: str, bounds: tuple[str, ...]) -> None:
    (ref,) = [r for r in metric_refs(expr) if r.metric == "x_bucket"]
    assert ref.bounds == bounds


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("sum by (job (x)", "unclosed"),  # unbalanced
        ("rate(x[5m]", "unclosed"),
        ("x +", "unexpected"),
        ("", "no expression"),
    ],
)
def test_parse_errors_are_costscope_errors(expr: str, message: str) -> None:
    with pytest.raises(ParseError):
        metric_refs(expr)


def test_variables_in_strings_are_left_alone() -> None:
    assert substitute_variables('x{a="$v", b=~"${w:regex}"}[$__range]') == 'x{a="$v", b=~"${w:regex}"}[5m]'


@given(st.text(alphabet='$_{}[]()"abc xy,=~', max_size=40))
def test_any_text_parses_or_raises_parse_error(text: str) -> None:
    with contextlib.suppress(ParseError):
        metric_refs(text)
