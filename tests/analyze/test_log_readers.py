"""LogQL readers: which log lines dashboards and alerts read, and the log cuts that would break them."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

import costscope
from costscope.analyze.log_readers import LogSelector, parse_logql, selector_reads
from tests.conftest import SAMPLE_DATA

PARSES = [
    ('sum(count_over_time({service_name="checkout"} |= "placed" [5m])) < 1',
     [LogSelector((("service_name", "=", "checkout"),), (("|=", "placed"),))]),
    (r'{app=~"api|web", level!="debug"} != "health" |~ "5\\d\\d" | json | status >= 500 |= "late"',
     [LogSelector((("app", "=~", "api|web"), ("level", "!=", "debug")), (("!=", "health"), ("|~", r"5\d\d")))]),
    ("{job=`a`} |= `say \"hi\"`", [LogSelector((("job", "=", "a"),), (("|=", 'say "hi"'),))]),
    ('rate({job="a"}[1m]) / rate({job="b"} |= "x" [1m])',
     [LogSelector((("job", "=", "a"),), ()), LogSelector((("job", "=", "b"),), (("|=", "x"),))]),
    ("{ span.http.status_code = 500 }", []),  # TraceQL
    ('{ .service.name = "api" && status = error }', []),
]  # fmt: skip


@pytest.mark.parametrize(("expr", "selectors"), PARSES, ids=[p[0][:40] for p in PARSES])
def test_parse_logql(expr: str, selectors: list[LogSelector]) -> None:
    assert parse_logql(expr) == selectors


TEXTS = ["order <*> placed total=<*> currency=EUR", "order 8812 placed total=12.50 currency=EUR"]
READS = [
    ('{service_name="checkout"}', "checkout", "INFO", TEXTS, True),
    ('{service_name="cart"}', "checkout", "INFO", TEXTS, False),
    ('{app=~"check.*"}', "checkout", "INFO", TEXTS, True),
    ('{service_name="checkout", level="error"}', "checkout", "INFO", TEXTS, False),
    ('{service_name="checkout", level=~"info|warn"}', "checkout", "INFO", TEXTS, True),  # case-blind levels
    ('{namespace="shop"}', "checkout", "INFO", TEXTS, True),  # a label not known here: may match
    ('{service_name="checkout"} |= "placed"', "checkout", "INFO", TEXTS, True),
    ('{service_name="checkout"} |= "refund"', "checkout", "INFO", TEXTS, False),
    ('{service_name="checkout"} != "placed"', "checkout", "INFO", TEXTS, False),
    ('{service_name="checkout"} |~ "total=[0-9.]+"', "checkout", "INFO", TEXTS, True),
    ('{service_name="checkout"} !~ "currency=(EUR|USD)"', "checkout", "INFO", TEXTS, False),
    ('{service_name="checkout"} |= "refund"', "checkout", "DEBUG", None, True),  # a whole level: any line
]


@pytest.mark.parametrize(("expr", "service", "level", "texts", "reads"), READS, ids=[r[0] for r in READS])
def test_selector_reads(expr: str, service: str, level: str, texts: list[str] | None, reads: bool) -> None:
    (selector,) = parse_logql(expr)
    assert selector_reads(selector, service, level, texts) is reads


def test_a_loki_alert_guards_the_template_it_counts(tmp_path: Path) -> None:
    shutil.copytree(SAMPLE_DATA / "logs", tmp_path / "logs")
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "loki-alerts.yml").write_text(
        "groups:\n- name: orders\n  rules:\n  - alert: OrdersStopped\n"
        '    expr: sum(count_over_time({service_name="checkout"} |= "placed" [15m])) < 1\n'
    )
    recs = costscope.analyze([str(tmp_path / "logs"), str(tmp_path / "rules")], db=tmp_path / "db").analysis()
    by_target = {r["target"]: r for r in recs.recommendations.iter_rows(named=True)}
    orders = by_target["keep 10% of 'order <*> placed total=<*> currency=EUR'"]
    assert orders["risk_level"] == "alert" and orders["risk"].startswith("breaks alert OrdersStopped")
    others = recs.recommendations.filter(pl.col("kind").is_in(["drop_level", "log_to_metric"]))
    assert "OrdersStopped" not in " ".join(others["risk"])  # other checkout lines are not counted by it
    (reader,) = recs.logs.readers_frame().iter_rows(named=True)
    assert reader["selectors"] == ['{service_name="checkout"} |= "placed"'] and reader["templates_read"] == 1
    assert reader["examples"] == ["order <*> placed total=<*> currency=EUR"] and reader["lines_read"] > 0
