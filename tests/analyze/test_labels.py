"""Risky labels: ID-like values are recognised, and masked in every output unless asked."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from costscope.analyze.labels import classify_values, mask
from costscope.cli import app

# Each case: sample values, and the kind they must be classified as (None: not an identifier).
CASES = [
    (["3f2b1c9e-8a7d-4e6f-9b0a-1c2d3e4f5a6b", "0b8e5c7a-1d2f-4a3b-8c9d-0e1f2a3b4c5d"], "uuid"),
    (["ann@example.com", "bob.smith@mail.example.org"], "email"),
    (["10.0.3.17", "192.168.1.20:8080"], "ip"),
    (["2001:db8::1", "[fe80::1ff:fe23:4567:890a]:9100"], "ip"),
    (["1764072000", "1764072000123"], "timestamp"),
    (["2026-11-25T10:00:00Z", "2026-11-24 23:59:59"], "timestamp"),
    (["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b", "e3b0c44298fc1c149afbf4c8996fb924"], "hex_hash"),
    (["1048576", "99999999"], "numeric_id"),
    (["/api/v1/orders/123456", "/users/4242/profile"], "url_with_id"),
    (["u-1a2b3c4d", "sess_9f8e7d6c5b"], "prefixed_id"),
    (["200", "404", "503"], None),  # status codes
    (["GET", "POST"], None),  # methods
    (["/api/v1/users/:id", "/checkout"], None),  # templated routes
    (["eu-west-1", "us-east-2"], None),  # regions
    (["0.005", "0.01", "+Inf"], None),  # histogram buckets
]


@pytest.mark.parametrize(("values", "kind"), CASES, ids=[str(k) + f"-{i}" for i, (_, k) in enumerate(CASES)])
def test_classify_values(values: list[str], kind: str | None) -> None:
    assert classify_values(pl.Series(values))[0] == kind


def test_mask_keeps_no_more_than_two_characters() -> None:
    assert mask("ann@example.com", "email") == "an…<email>"
    assert mask("abc") == "…<masked>"


def _exposition(tmp_path: Path) -> Path:
    lines = ["# TYPE logins_total counter"]
    for i in range(30):
        lines.append(f'logins_total{{user_email="user{i}@example.com",region="eu",job="auth"}} {i}')
    for i in range(5):
        lines.append(f'logins_total{{user_email="user{i}@example.com",region="us",job="auth"}} {i}')
    path = tmp_path / "auth.prom"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("show", [False, True])
def test_values_of_risky_labels_are_masked_unless_shown(tmp_path: Path, show: bool) -> None:
    src = _exposition(tmp_path)
    args = ["analyze", str(src), "--db", str(tmp_path / "m.duckdb"), "--report", str(tmp_path / "r.html"),
            "--json", str(tmp_path / "r.json"), "-q"] + (["--show-values"] if show else [])  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    doc_text = (tmp_path / "r.json").read_text()
    doc = json.loads(doc_text)
    risky = {row["label"]: row for row in doc["labels"] if row["reason"]}
    assert "user_email" in risky and risky["user_email"]["id_kind"] == "email"
    assert "region" not in risky
    assert doc["values_masked"] is not show
    for artifact in (doc_text, (tmp_path / "r.html").read_text()):
        assert ("user1@example.com" in artifact) is show
    pairs = {(p["label"], p["value"]) for p in doc["top_label_pairs"]}
    assert ("region", "eu") in pairs  # values of ordinary labels are shown as they are


def test_cost_per_team_from_ownership_rules(tmp_path: Path) -> None:
    from tests.conftest import SAMPLE_DATA

    cfg = tmp_path / "costscope.yaml"
    cfg.write_text(
        "ownership:\n"
        "  - team: payments\n    match: {job: 'checkout|payment'}\n"
        "  - team: platform\n    match: {job: 'postgres|kafka'}\n"
        "  - team: web\n    match: {job: '.*', route: '/.*'}\n"
    )
    result = CliRunner().invoke(app, ["analyze", str(SAMPLE_DATA), "--config", str(cfg), "--db",
                                      str(tmp_path / "t.duckdb"), "--json", str(tmp_path / "t.json"),
                                      "--report", str(tmp_path / "t.html"), "-q"])  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "t.json").read_text())
    teams = {t["team"]: t for t in doc["teams"]}
    assert set(teams) == {"payments", "platform", "web", "(unowned)"}
    assert sum(t["series"] for t in teams.values()) == doc["totals"]["series"]
    by_job = {m["metric"]: m for m in doc["metrics"]}
    assert teams["platform"]["series"] == sum(
        by_job[m]["series"] for m in by_job if m.startswith(("pg_", "kafka_"))
    )
    assert abs(sum(t["monthly_cost"] for t in teams.values()) - doc["totals"]["monthly_cost"]) < 0.05
