"""Log sources: files in every format, and Loki's documented API served on loopback."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

import costscope
from costscope.config import SourceConfig
from costscope.errors import ConfigError
from costscope.recommend.logs import template_regex
from costscope.sources.http import HttpClient
from costscope.sources.log_files import read_log_file
from costscope.sources.log_lines import detect_format, header_regex, parse_chunk
from scripts.loki_double import LokiDouble, serve


def _json_lines(n: int) -> list[str]:
    out = []
    for i in range(n):
        if i % 2:
            out.append(json.dumps({"level": "debug", "service": "api", "msg": f"cache miss key={i}"}))
        else:
            out.append(json.dumps({"level": "error", "service": "api", "msg": f"db timeout after {i}ms",
                                   "trace_id": f"{i:032x}", "ts": 1764064800 + i}))  # fmt: skip
    return out


@pytest.mark.parametrize(
    ("lines", "fmt"),
    [
        (['{"a": 1}', '{"b": 2}'], "json"),
        (["ts=1 level=info msg=x", 'level=warn msg="y z"'], "logfmt"),
        (["2025-01-01 INFO started", "plain words"], "text"),
        ([], "text"),
    ],
)
def test_detect_format(lines: list[str], fmt: str) -> None:
    assert detect_format(lines) == fmt


def test_header_pattern() -> None:
    regex = header_regex("<Date> <Time> <Level> [<Component>]: <Content>")
    chunk = parse_chunk(["2025-01-01 10:00:00 WARNING [db.pool]: pool exhausted"], "text", "svc",
                        "<Date> <Time> <Level> [<Component>]: <Content>")  # fmt: skip
    assert regex.startswith("^") and chunk.row(0, named=True) | {"bytes": 0} == {
        "message": "pool exhausted", "level": "WARN", "service": "db.pool", "has_trace": False, "bytes": 0,
        "ts": datetime(2025, 1, 1, 10, tzinfo=UTC).timestamp(),  # the time the line writes at its head
    }  # fmt: skip


@pytest.mark.parametrize("header", ["<Date> <Time>", "<Content> <Level>", "no fields"])
def test_header_must_end_with_content(header: str) -> None:
    with pytest.raises(ConfigError, match="<Content>"):
        header_regex(header)


def test_gzip_file_is_streamed_in_chunks(tmp_path: Path) -> None:
    path = tmp_path / "api.jsonl.gz"
    path.write_bytes(gzip.compress(("\n".join(_json_lines(1000)) + "\n").encode()))
    chunks = list(read_log_file(path, chunk_lines=300))
    assert len(chunks) > 1 and sum(c.height for c in chunks) == 1000  # a chunk per block of about 300 lines
    all_lines = pl.concat(chunks)
    assert all_lines["level"].value_counts().sort("level").rows() == [("DEBUG", 500), ("ERROR", 500)]
    assert all_lines["has_trace"].sum() == 500


def test_truncated_gzip_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.log.gz"
    body = "".join(f"request {i * 7919 % 100_003} took {i % 977} ms\n" for i in range(50_000)).encode()
    compressed = gzip.compress(body)
    path.write_bytes(compressed[: len(compressed) // 2])
    try:
        errors = costscope.analyze([str(path)], db=tmp_path / "db").analysis().errors
        messages = " ".join(errors["message"])
    except costscope.CostscopeError as exc:  # nothing at all could be read
        messages = str(exc)
    assert "cut.log.gz" in messages and "truncated" in messages


def test_log_files_analysis(tmp_path: Path) -> None:
    (tmp_path / "api.jsonl").write_text("\n".join(_json_lines(400)) + "\n")
    ws = costscope.analyze([str(tmp_path)], db=tmp_path / "db")
    logs = ws.analysis().logs
    assert logs.known
    volume = {(r["service"], r["level"]): r["lines"] for r in logs.volume.iter_rows(named=True)}
    assert volume == {("api", "DEBUG"): 200, ("api", "ERROR"): 200}
    texts = set(logs.templates["template"])
    assert texts == {"cache miss key=<*>", "db timeout after <*>"}
    error = logs.templates.filter(pl.col("template") == "db timeout after <*>").row(0, named=True)
    assert error["error_lines"] == 200 and error["trace_lines"] == 200
    recs = ws.recommendations()
    kinds = dict(zip(recs["target"], recs["risk_level"], strict=True))
    assert kinds.get("DEBUG lines of api") == "none"
    # an error statement is never offered as a safe cut
    assert all(lv in ("errors", "trace_links") for t, lv in kinds.items() if "db timeout" in t)


def test_template_regex_matches_its_lines() -> None:
    import re

    regex = template_regex("GET <*> took <*> (cache) [x]")
    assert re.search(regex, "GET /a?b=1 took 5 ms (cache) [x]")
    assert not re.search(regex, "POST /a took 5 ms (cache) [x]")


def test_recommended_log_configs_are_yaml(tmp_path: Path) -> None:
    (tmp_path / "api.jsonl").write_text("\n".join(_json_lines(400)) + "\n")
    ws = costscope.analyze([str(tmp_path)], db=tmp_path / "db")
    for config in ws.recommendations()["config"]:
        assert list(yaml.safe_load_all(config))


# --- Loki ----------------------------------------------------------------------------------------------


def _streams() -> list[tuple[dict[str, str], list[tuple[int, str]]]]:
    base = 1_764_064_800 * 10**9
    debug = [(base + i, f"query parsed terms={i % 7} took={i % 30}ms") for i in range(300)]
    info = [(base + i, f"search served results={i % 50}") for i in range(150)]
    errors = [(base + i, f"smtp send failed code={421 + i % 3}") for i in range(20)]
    return [
        ({"service_name": "search", "detected_level": "debug"}, debug),
        ({"service_name": "search", "detected_level": "info"}, info),
        ({"service_name": "mail", "detected_level": "error"}, errors),
    ]


def _loki_analysis(tmp_path: Path, double: LokiDouble) -> costscope.Workspace:
    with serve(double) as url:
        cfg = tmp_path / "costscope.yaml"
        cfg.write_text(f"sources:\n  - {{name: loki, kind: loki, url: '{url}', retries: 2, lookback: 1h}}\n")
        return costscope.analyze([], db=tmp_path / "db", config=cfg)


@pytest.mark.parametrize(
    ("version", "templates_from", "levels"),
    [
        ("3.1.0", "patterns", {"DEBUG", "INFO", "ERROR"}),  # volume by level, patterns per level
        ("2.9.4", "sample", {"DEBUG", "INFO", "ERROR"}),  # no pattern ingester: query_range sample
        ("2.7.0", "sample", {None}),  # no index/volume: stats per service, no level split
    ],
)
def test_loki_versions(tmp_path: Path, version: str, templates_from: str, levels: set[str | None]) -> None:
    double = LokiDouble(_streams(), version=version, multiplier=100)
    ws = _loki_analysis(tmp_path, double)
    logs = ws.analysis().logs
    assert ws.analysis().status == "complete"
    assert set(logs.volume["level"]) == levels
    total = {
        r["service"]: r["lines"]
        for r in logs.volume.group_by("service").agg(pl.col("lines").sum()).iter_rows(named=True)
    }
    assert total == {"search": 45_000, "mail": 2_000}  # the index's counts, not the sample's
    assert ("/loki/api/v1/query_range" in double.requests) == (templates_from == "sample")
    texts = set(logs.templates["template"])
    assert any(t.startswith("query parsed") for t in texts) and any(
        t.startswith("smtp send failed") for t in texts
    )
    assert logs.templates["lines"].sum() == pytest.approx(47_000, rel=0.01)


def test_loki_before_2_6_says_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(costscope.SourceError, match=r"neither index/volume \(2.9\+\) nor index/stats"):
        _loki_analysis(tmp_path, LokiDouble(_streams(), version="2.5.0"))


def test_loki_retries_429_and_5xx(tmp_path: Path) -> None:
    double = LokiDouble(_streams(), faults={"/loki/api/v1/index/volume": [429, 503]})
    ws = _loki_analysis(tmp_path, double)
    assert ws.analysis().status == "complete"
    assert double.requests.count("/loki/api/v1/index/volume") == 3


def test_loki_persistent_failure_is_a_source_error(tmp_path: Path) -> None:
    double = LokiDouble(_streams(), faults={"/loki/api/v1/labels": [500] * 5})
    with pytest.raises(costscope.SourceError, match="HTTP 500"):
        _loki_analysis(tmp_path, double)


def test_loki_requires_start_and_end_as_documented() -> None:
    status, body = LokiDouble(_streams()).answer("/loki/api/v1/index/volume", {"query": ['{a="b"}']})
    assert status == 400 and "start" in str(body)


def test_loki_tenant_header_is_sent(tmp_path: Path) -> None:
    seen: list[str | None] = []
    double = LokiDouble(_streams())
    with serve(double) as url:
        source = SourceConfig(name="l", kind="loki", url=url, tenant="team-a")
        with HttpClient(source) as client:
            seen.append(client._client.headers.get("X-Scope-OrgID"))
            assert client.get_json("/loki/api/v1/labels")["status"] == "success"
    assert seen == ["team-a"]


_NO_LONE_SURROGATES = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@given(_NO_LONE_SURROGATES, st.booleans())
def test_json_messages_read_back_exactly(text: str, ascii_only: bool) -> None:
    """Every JSON string escape (\\", \\\\, \\n, \\/, \\uXXXX, surrogate pairs) reads back as json.loads reads it."""
    line = json.dumps({"msg": text, "level": "info"}, ensure_ascii=ascii_only)
    assert parse_chunk([line], "json", "svc")["message"].to_list() == [text]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (r'{"msg":"C:\\new\\table"}', "C:\\new\\table"),  # escaped backslashes, not a newline and a tab
        (r'{"msg":"caf\u00e9 \ud83d\ude00 \/api"}', "café 😀 /api"),
        (r'{"msg":"lone \ud800 surrogate"}', "lone ? surrogate"),  # not valid text: replaced
        (r'{"msg":"\\u0041 is not A"}', "\\u0041 is not A"),
    ],
)
def test_json_escapes(raw: str, message: str) -> None:
    assert parse_chunk([raw], "json", "svc")["message"].to_list() == [message]
