"""Compiled monitoring mixins (../shared/fixtures/realworld/usage/mixins) read as a new user would:
the whole folder, every dashboard (some published without ``.json``), alert and rule file.

Oracles are the raw files: every rule with an ``expr`` in the YAML is a query, every dashboard is
read (its file is an origin of what was found), a rule file holding ``null`` is a ``no_readers``
problem row, and nothing is an error.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import yaml

import costscope
from tests.conftest import shared


def test_every_mixin_file_is_read_or_said(tmp_path: Path) -> None:
    mixins = shared("realworld", "usage", "mixins")
    ws = costscope.analyze([str(mixins)], db=tmp_path / "db")
    errors = ws.errors().filter(pl.col("severity") == "error")
    assert errors.height == 0, errors["message"].to_list()
    refs = ws.query("SELECT kind, name, panel, origin, expr FROM usage_refs")
    problems = ws.query("SELECT kind, name, origin, problem, message FROM usage_problems")
    origins = set(refs["origin"].to_list()) | set(problems["origin"].to_list())
    dashboards = rule_files = 0
    for path in sorted(p for p in mixins.rglob("*") if p.is_file() and p.name != "LICENSE"):
        if path.parent.name == "dashboards":
            dashboards += 1
            doc = json.loads(path.read_text())
            assert "panels" in doc or "rows" in doc or "dashboard" in doc, path
            assert str(path) in origins, f"dashboard {path} was not read"
            continue
        rule_files += 1
        doc = yaml.safe_load(path.read_text())
        rules = [r for g in (doc or {}).get("groups") or [] for r in g.get("rules") or [] if "expr" in r]
        from_file = refs.filter(pl.col("origin") == str(path))
        said = problems.filter(pl.col("origin") == str(path))
        if not rules:
            assert said["problem"].to_list() == ["no_readers"], path
            continue
        read = from_file.select("kind", "name", "panel", "expr").unique().height
        unread = said.filter(pl.col("problem") != "no_readers").height
        assert read + unread >= len(rules) - _same_rule_twice(rules), path
    assert dashboards >= 40 and rule_files >= 30


def _same_rule_twice(rules: list[dict[str, object]]) -> int:
    seen = {
        (r.get("alert") or r.get("record"), json.dumps(r.get("labels"), sort_keys=True), r["expr"])
        for r in rules
    }
    return len(rules) - len(seen)
