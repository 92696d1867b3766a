"""Span attribute cost: bytes per key as OTLP JSON carries them, and the savings of each cut."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from costscope.analyze.attributes import HASHED_CHARS, TRUNCATE_AT, attribute_costs
from costscope.pricing import MONTH_S, cost_model
from costscope.simulate.policies import Policy
from costscope.store import Store

N = 200
STATEMENT = "SELECT * FROM orders WHERE id = ? AND " + "x" * 600  # a long db.statement


def _trace_file(path: Path) -> list[dict[str, str]]:
    spans, attrs = [], []
    for i in range(N):
        a = {"db.statement": STATEMENT, "tenant": f"t{i % 4}"}
        if i % 2:
            a["http.request.header.cookie"] = f"session={i:032x}"
        attrs.append(a)
        spans.append({
            "traceId": f"{i + 1:032x}", "spanId": f"{i + 1:016x}", "name": "query",
            "startTimeUnixNano": str(1_700_000_000_000_000_000 + i * 1_000_000_000),
            "endTimeUnixNano": str(1_700_000_000_000_000_000 + i * 1_000_000_000 + 5_000_000),
            "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in a.items()],
        })  # fmt: skip
    doc = {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "db"}}]},
                              "scopeSpans": [{"spans": spans}]}]}  # fmt: skip
    path.write_text(json.dumps(doc))
    return attrs


@pytest.fixture
def costs(tmp_path: Path) -> tuple[pl.DataFrame, list[dict[str, str]], float]:
    import costscope

    attrs = _trace_file(tmp_path / "t.otlp.json")
    ws = costscope.analyze([str(tmp_path / "t.otlp.json")], db=tmp_path / "c.duckdb")
    period = float(ws.analysis().traces.operations["period_s"].max())  # type: ignore[arg-type]
    policy = Policy("keep tenant t0", "tail_sampling", {"policies": [
        {"name": "t0", "type": "string_attribute", "string_attribute": {"key": "tenant", "values": ["t0"]}}]})  # fmt: skip
    with Store.open(tmp_path / "c.duckdb", read_only=True) as store:
        return attribute_costs(store, 1, cost_model("grafana-cloud"), period, [policy]), attrs, period


def test_bytes_and_savings_per_key_equal_a_count_of_the_input(
    costs: tuple[pl.DataFrame, list[dict[str, str]], float],
) -> None:
    frame, attrs, period = costs
    scale, per_gb = MONTH_S / period, 0.45 / 1e9
    for key in ("db.statement", "tenant", "http.request.header.cookie"):
        values = [a[key] for a in attrs if key in a]
        row = frame.filter(pl.col("key") == key).row(0, named=True)
        assert row["spans"] == len(values)
        assert row["monthly_bytes"] == pytest.approx(sum(len(key) + len(v) + 8 for v in values) * scale)
        assert row["hash_saves"] == pytest.approx(
            sum(max(0, len(v) - HASHED_CHARS) for v in values) * scale * per_gb
        )
        assert row["truncate_saves"] == pytest.approx(
            sum(max(0, len(v) - TRUNCATE_AT) for v in values) * scale * per_gb
        )
        assert row["delete_saves"] == pytest.approx(row["monthly_cost"])
    assert frame["key"][0] == "db.statement"  # most bytes first


def test_a_key_a_policy_reads_is_named_and_only_hashed(
    costs: tuple[pl.DataFrame, list[dict[str, str]], float],
) -> None:
    frame, _, _ = costs
    tenant = frame.filter(pl.col("key") == "tenant").row(0, named=True)
    assert tenant["read_by"] == ["keep tenant t0"] and "action: hash" in tenant["config"]
    statement = frame.filter(pl.col("key") == "db.statement").row(0, named=True)
    assert statement["read_by"] == [] and "action: delete" in statement["config"]


def test_a_tempo_panel_reading_an_attribute_is_named_and_keeps_it(tmp_path: Path) -> None:
    import costscope

    _trace_file(tmp_path / "t.otlp.json")
    board = {
        "title": "DB latency",
        "panels": [
            {
                "title": "slow statements",
                "datasource": {"type": "tempo", "uid": "tempo"},
                "targets": [{"refId": "A", "queryType": "traceql",
                             "query": '{ span.db.statement =~ "SELECT.*" && resource.service.name = "db" } | rate()'}],
            },
            {
                "title": "by tenant",
                "datasource": {"type": "tempo", "uid": "tempo"},
                "targets": [{"refId": "A", "queryType": "traceqlSearch",
                             "filters": [{"id": "t", "scope": "span", "tag": "tenant", "operator": "=", "value": ["t1"]}]}],
            },
        ],
    }  # fmt: skip
    (tmp_path / "board.json").write_text(json.dumps(board))
    ws = costscope.analyze(
        [str(tmp_path / "t.otlp.json"), str(tmp_path / "board.json")], db=tmp_path / "c.duckdb"
    )
    a = ws.analysis()
    spans = {r["key"]: r for r in a.traces.attributes.iter_rows(named=True)}
    assert spans["db.statement"]["read_by"] == ["dashboard 'DB latency' (panel 'slow statements')"]
    assert "action: delete" not in spans["db.statement"]["config"]  # read: hashed at most, never deleted
    assert spans["tenant"]["read_by"] == ["dashboard 'DB latency' (panel 'by tenant')"]
    assert spans["http.request.header.cookie"]["read_by"] == []
    resources = {r["key"]: r for r in a.traces.resource_attributes.iter_rows(named=True)}
    assert "dashboard 'DB latency' (panel 'slow statements')" in resources["service.name"]["read_by"]
    assert a.usage.unread().filter(pl.col("message") == "TraceQL").is_empty()  # read, not a problem
