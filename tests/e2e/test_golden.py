"""Golden files for what users and scripts read: the terminal summary and the JSON document.

Regenerate after an intended change with ``COSTSCOPE_UPDATE_GOLDEN=1 pytest tests/e2e/test_golden.py``
and review the diff like code.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

import costscope
from costscope.report.json_doc import json_document
from costscope.report.terminal import print_summary
from tests.conftest import SAMPLE_DATA

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = bool(os.environ.get("COSTSCOPE_UPDATE_GOLDEN"))


@pytest.fixture(scope="module")
def analysis(tmp_path_factory: pytest.TempPathFactory) -> costscope.Analysis:
    db = tmp_path_factory.mktemp("golden") / "g.duckdb"
    return costscope.analyze([str(SAMPLE_DATA)], db=db).analysis()


def _check(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} missing: run with COSTSCOPE_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


def _stable(doc: Any) -> Any:
    """The document without what changes from run to run (times, ids, absolute paths)."""
    if isinstance(doc, dict):
        out = {}
        for key, value in doc.items():
            if key in ("generated_at", "started_at", "run_id", "seconds", "occurred_at", "timings"):
                out[key] = "<varies>"
            elif key in ("location", "origin") and isinstance(value, str):
                out[key] = value.replace(str(SAMPLE_DATA), "<sample_data>")
            else:
                out[key] = _stable(value)
        return out
    if isinstance(doc, list):
        return [_stable(v) for v in doc]
    return doc


def test_terminal_summary(analysis: costscope.Analysis) -> None:
    console = Console(width=100, no_color=True, record=True, file=io.StringIO())
    print_summary(replace(analysis, timings={}), console, Path("costscope-report.html"), "out.json")
    _check("summary.txt", console.export_text())


def test_json_document(analysis: costscope.Analysis) -> None:
    doc = _stable(json_document(analysis))
    _check("analysis.json", json.dumps(doc, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
