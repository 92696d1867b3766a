"""Query logs read as their servers write them: Prometheus, Mimir, Loki, VictoriaMetrics, Grafana."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costscope.errors import InputError, ParseError
from costscope.sources.kinds import detect
from costscope.sources.promql import metric_refs
from costscope.sources.query_logs import read_query_log
from costscope.sources.usage import Query, refs_frame

# shapes as Prometheus 2.42 writes its query_log_file (captured from a real one)
PROM_API = (
    '{"httpRequest":{"clientIP":"10.0.0.7","method":"GET","path":"/api/v1/query_range"},'
    '"params":{"end":"2026-11-30T10:00:00.000Z","query":"sum by (route) (rate(http_requests_total[5m]))",'
    '"start":"2026-11-30T09:00:00.000Z","step":15},"spanID":"0000000000000000","stats":{"timings":'
    '{"evalTotalTime":0.0001},"samples":{"totalQueryableSamples":0,"peakSamples":0}},"ts":"2026-11-30T10:00:00.313Z"}'
)
PROM_RULE = (
    '{"params":{"end":"2026-11-30T10:00:01.549Z","query":"sum by (job) (up)","start":"2026-11-30T10:00:01.549Z",'
    '"step":0},"ruleGroup":{"file":"/etc/prometheus/rules.yml","name":"g1"},"spanID":"0000000000000000",'
    '"stats":{},"ts":"2026-11-30T10:00:01.550Z"}'
)
# Mimir's query-frontend (pkg/frontend/transport/handler.go: reportQueryStats), go-kit logfmt
MIMIR = (
    "level=info ts=2026-11-30T10:00:02.123456789Z caller=handler.go:330 org_id=team-a traceID=5bdfb2e2"
    ' msg="query stats" component=query-frontend method=GET path=/prometheus/api/v1/query_range'
    " user_agent=Grafana/11.3.0 response_time=15.2ms query_wall_time_seconds=0.01 fetched_series_count=4"
    " fetched_chunk_bytes=1024 fetched_chunks_count=4 fetched_index_bytes=0 sharded_queries=0 split_queries=1"
    ' estimated_series_count=0 param_end=1764496800 param_query="sum by (route)'
    ' (rate(http_requests_total{job=\\"api\\"}[5m]))" param_start=1764493200 param_step=60 status=success'
)
MIMIR_LABELS = (  # a labels call: no query to read
    'level=info ts=2026-11-30T10:00:03Z caller=handler.go:330 org_id=team-a msg="query stats"'
    " component=query-frontend method=GET path=/prometheus/api/v1/labels user_agent=Grafana/11.3.0"
    " response_time=1ms param_match[]=up status=success"
)
# Loki's query-frontend metrics.go lines; a querier's piece and an ingester's are not whole queries
LOKI = (
    "level=info ts=2026-11-30T10:00:04.5Z caller=metrics.go:159 component=frontend org_id=fake traceID=0b21"
    ' latency=fast query="{app=\\"checkout\\"} |= \\"error\\"" query_hash=2943214005 query_type=filter'
    " range_type=range length=1h0m0s step=14s duration=25.5ms status=200 limit=1000 returned_lines=12"
    " throughput=1.2MB total_bytes=30kB"
)
LOKI_INGESTER = (
    "level=info ts=2026-11-30T10:00:04.9Z caller=metrics.go:275 component=ingester org_id=fake"
    " latency=fast query_type=ingester_series duration=110.792µs status=200 query=<omitted> query_hash=2166136261"
)
LOKI_LABELS = (
    "level=info ts=2026-11-30T10:00:05Z caller=metrics.go:170 component=frontend org_id=fake latency=fast"
    " query_type=labels length=1h0m0s duration=65.1ms status=200 label=container throughput=0B total_bytes=0B"
)


@pytest.mark.parametrize(
    ("lines", "fmt", "entries", "skipped", "expected"),
    [
        ([PROM_API, PROM_API, PROM_RULE], "prometheus", 3, 0,
         {"sum by (route) (rate(http_requests_total[5m]))": (2, ["10.0.0.7"]),
          "sum by (job) (up)": (1, ["rule group g1"])}),
        ([MIMIR, MIMIR_LABELS, MIMIR], "mimir", 2, 1,
         {'sum by (route) (rate(http_requests_total{job="api"}[5m]))': (2, ["Grafana/11.3.0"])}),
        ([LOKI, LOKI_INGESTER, LOKI_LABELS], "loki", 1, 2,
         {'{app="checkout"} |= "error"': (1, ["tenant fake"])}),
    ],
)  # fmt: skip
def test_line_shapes(
    tmp_path: Path,
    lines: list[str],
    fmt: str,
    entries: int,
    skipped: int,
    expected: dict[str, tuple[int, list[str]]],
) -> None:
    path = tmp_path / "query.log.gz"  # rotated logs are often gzip
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    assert detect(path) == "queries"
    log = read_query_log(path)
    assert (log.format, log.entries, log.skipped) == (fmt, entries, skipped)
    got = {r["query"]: (r["uses"], r["clients"]) for r in log.queries.iter_rows(named=True)}
    assert got == expected
    assert log.first_at is not None and log.last_at is not None and log.first_at <= log.last_at


def test_victoriametrics_top_queries(tmp_path: Path) -> None:
    doc = {
        "topN": "20", "maxLifetime": "10m0s", "search.queryStats.lastQueriesCount": 20000,
        "topByCount": [{"query": "up", "timeRangeSeconds": 0, "count": 5},
                       {"query": "up", "timeRangeSeconds": 3600, "count": 2},
                       {"query": "rate(x_total[5m])", "timeRangeSeconds": 3600, "count": 1}],
        "topByAvgDuration": [], "topBySumDuration": [],
    }  # fmt: skip
    path = tmp_path / "top.json"
    path.write_text(json.dumps(doc))
    assert detect(path) == "queries"
    log = read_query_log(path)
    assert log.format == "victoriametrics" and log.entries == 8
    assert dict(zip(log.queries["query"], log.queries["uses"], strict=True)) == {
        "up": 7,
        "rate(x_total[5m])": 1,
    }
    assert log.last_at is not None and log.first_at == pytest.approx(log.last_at - 600)


def test_grafana_query_history(tmp_path: Path) -> None:
    doc = {"result": {"totalCount": 2, "page": 1, "perPage": 100, "queryHistory": [
        {"uid": "a", "datasourceUid": "prom", "createdBy": 3, "createdAt": 1764496800, "starred": False,
         "queries": [{"refId": "A", "expr": "histogram_quantile(0.99, rate(lat_bucket[5m]))"}]},
        {"uid": "b", "datasourceUid": "prom", "createdBy": 4, "createdAt": 1764497000, "starred": False,
         "queries": [{"refId": "A", "expr": "histogram_quantile(0.99, rate(lat_bucket[5m]))"}, {"refId": "B"}]},
    ]}}  # fmt: skip
    path = tmp_path / "history.json"
    path.write_text(json.dumps(doc))
    log = read_query_log(path)
    row = log.queries.row(0, named=True)
    assert log.format == "grafana" and row["uses"] == 2
    assert row["clients"] == ["grafana user 3", "grafana user 4"]
    assert (log.first_at, log.last_at) == (1764496800, 1764497000)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1}\n', "no query log"),
        ("{not json\n", "nor JSON"),
        ("hello world\nnothing here\n", "nor JSON"),
    ],
)
def test_not_a_query_log_says_so(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "q.log"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as err:
        read_query_log(path)
    assert str(path) in str(err.value)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(st.lists(st.text(max_size=200), min_size=1, max_size=8), st.sampled_from([PROM_API, MIMIR, LOKI]))
def test_any_text_is_a_reader_or_a_problem(tmp_path: Path, noise: list[str], valid: str) -> None:
    path = tmp_path / "any.log"
    path.write_text("\n".join([valid, *noise]) + "\n", encoding="utf-8", errors="replace")
    try:
        log = read_query_log(path)
    except InputError:
        return  # refused, naming the file: never a crash
    assert log.entries + log.skipped >= 1
    queries = [Query("query", q, None, str(path), q) for q in log.queries["query"]]
    refs, problems = refs_frame("q", queries, [])
    assert isinstance(refs, pl.DataFrame) and isinstance(problems, pl.DataFrame)
    # every distinct query reads metrics, is a problem row saying why not, or reads no metric at all
    for q in log.queries["query"]:
        try:
            reads = metric_refs(q)
        except ParseError:
            assert q in set(problems["name"])
            continue
        assert (q in set(refs["name"])) == bool(reads)


def _history_item(i: int) -> dict[str, object]:
    expr = "sum by (route) (rate(http_requests_total[5m]))" if i % 2 else "max(queue_depth)"
    return {"uid": f"u{i}", "datasourceUid": "prom", "createdBy": i % 3, "createdAt": 1764496800 + i,
            "starred": False, "comment": "", "queries": [{"refId": "A", "expr": expr}]}  # fmt: skip


def test_grafana_query_history_is_read_page_by_page_over_http(tmp_path: Path) -> None:
    """Grafana's /api/query-history answered with its documented shape: every page is read."""
    import http.server
    from urllib.parse import parse_qs, urlsplit

    from costscope.config import SourceConfig
    from costscope.sources.http import HttpClient
    from costscope.sources.query_logs import fetch_queries
    from scripts.loopback import loopback

    items = [_history_item(i) for i in range(250)]
    pages: list[int] = []

    class Grafana(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            q = parse_qs(url.query)
            page, limit = int(q["page"][0]), int(q["limit"][0])
            pages.append(page)
            body = {"result": {"totalCount": len(items), "page": page, "perPage": limit,
                               "queryHistory": items[(page - 1) * limit : page * limit]}}  # fmt: skip
            data = json.dumps(body).encode()
            self.send_response(200 if url.path == "/api/query-history" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with loopback(Grafana) as base:
        source = SourceConfig(name="explore", kind="queries", url=base + "/api/query-history")
        with HttpClient(source) as client:
            log = fetch_queries(client)
    assert pages == [1, 2, 3]
    assert log.format == "grafana" and log.entries == 250
    runs = dict(zip(log.queries["query"], log.queries["uses"], strict=True))
    assert runs == {"sum by (route) (rate(http_requests_total[5m]))": 125, "max(queue_depth)": 125}
    assert set(log.queries["clients"][0]) == {"grafana user 0", "grafana user 1", "grafana user 2"}
