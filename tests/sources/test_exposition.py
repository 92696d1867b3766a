"""The exposition parser against real files (same series as prometheus_client) and bad input.

The real files under ../shared/fixtures/prometheus_exposition come from node_exporter, kube-state-metrics,
etcd, cadvisor and Prometheus (Apache-2.0; see SOURCES.tsv there).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_families
from prometheus_client.parser import text_string_to_metric_families

from costscope.errors import ParseError
from costscope.sources.exposition import ExpositionParser, parse_text
from tests.conftest import EXPOSITION

FIXTURES = EXPOSITION
REAL_FILES = sorted(
    p
    for p in FIXTURES.rglob("*")
    if p.is_file() and p.suffix in (".txt", ".prom") and ".om" not in p.suffixes
)
OPENMETRICS_FILES = sorted(FIXTURES.glob("prometheus/*.om.txt"))


def _reference_series(text: str, openmetrics: bool) -> set[tuple[str, frozenset[tuple[str, str]]]]:
    parse = om_families if openmetrics else text_string_to_metric_families
    return {(s.name, frozenset(s.labels.items())) for fam in parse(text) for s in fam.samples}


def _our_series(text: str, file: str) -> set[tuple[str, frozenset[tuple[str, str]]]]:
    return {(s.name, frozenset(s.labels)) for s in parse_text(text, file)}


@pytest.mark.parametrize("path", REAL_FILES + OPENMETRICS_FILES, ids=lambda p: p.name)
def test_real_files_have_the_same_series_as_prometheus_client(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    openmetrics = path in OPENMETRICS_FILES
    try:
        reference = len(_reference_series(text, openmetrics))
    except ValueError as exc:
        if not openmetrics:  # not an exposition (a textfile collector's stray input): both refuse it
            with pytest.raises(ParseError):
                _our_series(text, str(path))
            return
        # prometheus_client's OpenMetrics parser refuses alltypes.5mfs (a negative histogram
        # _sum), which Prometheus itself accepts; there every sample line is a distinct series
        assert "cannot be negative" in str(exc)
        reference = sum(1 for ln in text.split("\n") if ln and not ln.startswith("#"))
    assert len(_our_series(text, str(path))) == reference


def test_families_types_help_and_histogram_membership() -> None:
    text = (
        "# HELP rpc_seconds RPC latency.\n# TYPE rpc_seconds histogram\n"
        'rpc_seconds_bucket{le="0.1"} 1\nrpc_seconds_bucket{le="+Inf"} 2\n'
        "rpc_seconds_sum 0.3\nrpc_seconds_count 2\n"
        "# TYPE up gauge\nup 1\n"
    )
    parser = ExpositionParser("t")
    samples = list(parser.parse(text.splitlines()))
    assert {s.family for s in samples} == {"rpc_seconds", "up"}
    assert parser.families["rpc_seconds"].type == "histogram"
    assert parser.families["rpc_seconds"].help == "RPC latency."


def test_escaped_label_values_are_unescaped() -> None:
    (s,) = parse_text('m{path="C:\\\\dir",q="say \\"hi\\"",n="a\\nb"} 1\n')
    assert dict(s.labels) == {"path": "C:\\dir", "q": 'say "hi"', "n": "a\nb"}


def test_openmetrics_exemplars_timestamps_and_eof() -> None:
    text = (
        "# TYPE req counter\n# UNIT req requests\n"
        'req_total{a="1"} 5 1700000000.5 # {trace_id="abc"} 1.0 1700000000.1\n'
        "req_created 1700000000\n# EOF\n"
    )
    parser = ExpositionParser("t")
    samples = list(parser.parse(text.splitlines()))
    assert [s.family for s in samples] == ["req", "req"]
    assert samples[0].timestamp == 1700000000.5
    assert parser.openmetrics and parser.families["req"].unit == "requests"


# Each case: a malformed exposition, and why it must be refused.
INVALID = [
    ("1metric 1", "name starts with a digit"),
    ("met-ric 1", "dash in a metric name"),
    ("metric", "no value"),
    ("metric ", "no value after the space"),
    ("metric abc", "value is not a number"),
    ("metric 1 abc", "timestamp is not a number"),
    ("metric 1 NaN", "NaN timestamp"),
    ("metric 1 2 3", "text after the timestamp"),
    ('metric{a="1" 1', "label block never closed"),
    ('metric{a="1} 1', "label value never closed"),
    ("metric{a=1} 1", "label value without quotes"),
    ('metric{1a="x"} 1', "label name starts with a digit"),
    ('metric{a-b="x"} 1', "dash in a label name"),
    ('metric{a="1",a="2"} 1', "duplicate label name"),
    ('metric{a="1",,b="2"} 1', "two commas"),
    ('metric{,a="1"} 1', "leading comma"),
    ("metric{,} 1", "a lone comma in the label block"),
    ('metric{a="1",,} 1', "two commas before the closing brace"),
    ('metric{a="1"}1', "no space before the value"),
    ('metric{a:"1"} 1', "colon instead of equals"),
    ("metric{} ", "empty label block, no value"),
    ('metric{a="1"} 1 # {x="y"}', "exemplar without a value"),
    ('metric{a="1"} 1 # trace', "exemplar without labels"),
    ("# TYPE metric nonsense", "unknown metric type"),
    ("# TYPE 1bad counter", "TYPE with an invalid name"),
    ("# HELP", "HELP without a name"),
    ("# TYPE", "TYPE without a name"),
    ("metric 1\n# EOF\nother 2", "samples after # EOF"),
    ('{"utf8.name"} 1', "quoted metric names"),
    ("metric\t", "tab but no value"),
    ('metric{a="\n"} 1', "raw newline inside a label value"),
    ("metric 0x1F", "hex is not a Prometheus float"),
    ("metric 1_000", "digit separators"),
    ("metric 1 1.5.5", "malformed timestamp"),
    ('metric{a="1"} - ', "sign without digits"),
    ("métric 1", "non-ASCII in a metric name"),
    ('metric{lábel="x"} 1', "non-ASCII in a label name"),
    ('metric{a="x"}{b="y"} 1', "two label blocks"),
    ('metric 1 # {a="1"} x', "exemplar value is not a number"),
    ("x" * 10 + " 1 2 # {} 1 2 3", "exemplar with too many fields"),
    ('metric{a="1"} NaNx', "garbage after NaN"),
]


@pytest.mark.parametrize(("text", "why"), INVALID, ids=[w for _, w in INVALID])
def test_invalid_input_is_refused_with_its_line(text: str, why: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_text(text + "\n", "bad.prom")
    assert info.value.file == "bad.prom"
    assert info.value.line is not None and info.value.line >= 1
    assert "bad.prom:" in str(info.value)


# What promtool (and OpenMetrics) refuse and Prometheus scrapes: (text, line reported, families' last word)
SPLIT_FAMILIES = [
    ("# TYPE m counter\n# TYPE m gauge\nm 1", 2, "gauge", None),
    ("m 1\n# TYPE m counter", 2, "counter", None),
    ("# HELP m a\n# HELP m b\nm 1", 2, "unknown", "b"),
    (
        '# TYPE h histogram\nh_sum 1\n# TYPE x gauge\nx 1\n# TYPE h histogram\nh_count{a="b"} 1',
        5,
        "histogram",
        None,
    ),
]


@pytest.mark.parametrize(("text", "line", "kind", "help_"), SPLIT_FAMILIES)
def test_a_family_split_in_two_is_read_as_prometheus_scrapes_it(
    text: str, line: int, kind: str, help_: str | None
) -> None:
    parser = ExpositionParser("split.prom")
    samples = list(parser.parse(text.split("\n")))
    assert len(samples) == text.count(" 1")
    assert parser.tolerated >= 1 and parser.first_tolerated is not None
    assert (parser.first_tolerated.file, parser.first_tolerated.line) == ("split.prom", line)
    fam = parser.families[samples[-1].family]
    assert (fam.type, fam.help) == (kind, help_)
    with pytest.raises(ParseError):  # OpenMetrics refuses it
        list(ExpositionParser("split.om", openmetrics=True).parse([*text.split("\n"), "# EOF"]))


@pytest.mark.parametrize("text", ["metric {} 1", 'metric {a="1"} 1', "metric{} 1"])
def test_a_blank_before_the_label_block_is_allowed_as_prometheus_does(text: str) -> None:
    (sample,) = parse_text(text + "\n")
    assert sample.name == "metric"
    assert sample.value == 1.0


@pytest.mark.parametrize(("text", "why"), INVALID, ids=[w for _, w in INVALID])
def test_lenient_mode_skips_and_counts_bad_lines(text: str, why: str) -> None:
    parser = ExpositionParser("bad.prom", lenient=True)
    list(parser.parse((text + "\ngood_metric 1\n").splitlines()))
    assert parser.skipped >= 1
    assert parser.first_error is not None


_names = st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,20}", fullmatch=True)
_label_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,15}", fullmatch=True)


# label values: any text, and short texts made of the characters that delimit the format
_values = st.one_of(st.text(max_size=30), st.text(alphabet=',"={}\\\n #a', max_size=12))


@settings(max_examples=400, deadline=None)  # the first polars call warms up for longer than 200 ms
@given(
    name=_names,
    labels=st.dictionaries(_label_names, _values, max_size=6),
    value=st.floats(allow_nan=False),
)
def test_round_trip_of_any_sample(name: str, labels: dict[str, str], value: float) -> None:
    def esc(v: str) -> str:
        return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')

    block = ",".join(f'{k}="{esc(v)}"' for k, v in labels.items())
    line = f"{name}{{{block}}} {value!r}"
    # splitlines() would split on other line breaks in values; an exposition is \n-separated
    (sample,) = list(ExpositionParser("t").parse(line.split("\n")))
    assert sample.name == name
    assert dict(sample.labels) == labels
    assert sample.value == value
