"""The pieces of counts mode that need no server: PromQL text, the query budget, answers' stats."""

from __future__ import annotations

import httpx
import pytest

from costscope.config import SourceConfig
from costscope.errors import SourceError
from costscope.sources.http import HttpClient
from costscope.sources.promql_counter import TAG, Count, PromqlCounter, QueryTooLarge, is_identifier, quoted
from costscope.sources.promql_counts import value_sample


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("plain", '"plain"'),
        ('a"b', '"a\\"b"'),
        ("back\\slash", '"back\\\\slash"'),
        ("two\nlines", '"two\\nlines"'),
    ],
)
def test_a_value_is_always_a_string_literal(value: str, literal: str) -> None:
    assert quoted(value) == literal


@pytest.mark.parametrize(
    ("label", "ok"), [("job", True), ("_x1", True), ("http.route", False), ("1a", False), ("ünicode", False)]
)
def test_only_names_promql_can_write_are_counted(label: str, ok: bool) -> None:
    assert is_identifier(label) is ok


def test_value_sample_is_the_same_every_run_whatever_the_order() -> None:
    values = [f"v{i}" for i in range(5000)]
    assert value_sample(values, 50) == value_sample(reversed(values), 50)
    assert len(value_sample(values)) == 2000


def _counter(handler: object, max_queries: int = 100) -> PromqlCounter:
    client = HttpClient(
        SourceConfig(name="t", url="http://127.0.0.1:9", retries=0), transport=httpx.MockTransport(handler)
    )  # type: ignore[arg-type]
    return PromqlCounter(client, 1_700_000_000.0, 3600, max_queries)


def _vector(value: str, stats: dict[str, object] | None = None) -> httpx.Response:
    data: dict[str, object] = {"resultType": "vector", "result": [{"metric": {}, "value": [1, value]}]}
    if stats:
        data["stats"] = stats
    return httpx.Response(200, json={"status": "success", "data": data})


def test_a_family_of_several_names_is_a_tagged_union_over_the_window() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.params["query"])
        assert request.url.params["time"] == "1700000000.000"
        return _vector("3", {"samples": {"totalQueryableSamples": 42}})

    counter = _counter(handler)
    result = counter.evaluate(Count(("x_sum", "x_count"), "count({x})", 'le!=""'))
    assert result == {(): 3.0}
    assert seen == [
        f'count(label_replace(last_over_time({{__name__="x_sum",le!=""}}[3600s]), "{TAG}", "x_sum", "", "")'
        f' or label_replace(last_over_time({{__name__="x_count",le!=""}}[3600s]), "{TAG}", "x_count", "", ""))'
    ]
    assert counter.stats.queries == 1 and counter.stats.samples == 42


def test_a_limit_message_means_split_and_anything_else_is_an_error() -> None:
    def limit(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            422, json={"status": "error", "error": "query processing would load too many samples"}
        )

    with pytest.raises(QueryTooLarge):
        _counter(limit).instant("count(up)")

    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"status": "error", "error": "parse error at char 3"})

    with pytest.raises(SourceError, match="parse error"):
        _counter(broken).instant("count(up")


def test_the_query_budget_is_never_exceeded() -> None:
    counter = _counter(lambda request: _vector("1"), max_queries=2)
    counter.instant("count(a)")
    counter.instant("count(b)")
    with pytest.raises(SourceError, match="query budget spent: 2 queries"):
        counter.instant("count(c)")
    assert counter.stats.queries == 2
