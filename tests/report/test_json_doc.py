"""docs/json.md and the emitted JSON document hold the same keys, both ways.

Every top-level key documented is emitted and every one emitted is documented; every key nested
under a top-level key (of its objects and of its rows) is named in that key's row of the table.
The document is the demo's, which has every signal, a simulation and a data-quality warning.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

import costscope
from costscope.report.json_doc import json_document
from tests.conftest import ROOT, SAMPLE_DATA

_ROW = re.compile(r"^\| `([a-z_]+)` \| (.*) \|$")


def _documented() -> dict[str, str]:
    text = (ROOT / "docs" / "json.md").read_text(encoding="utf-8")
    return {m.group(1): m.group(2) for line in text.splitlines() if (m := _ROW.match(line))}


def _nested_keys(value: Any) -> set[str]:
    keys: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            keys.add(str(k))
            keys |= _nested_keys(v)
    elif isinstance(value, list):
        for item in value[:50]:
            if isinstance(item, dict):
                keys |= _nested_keys(item)
    return keys


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("doc")
    data = tmp / "data"
    shutil.copytree(SAMPLE_DATA, data)
    (data / "NOTES").write_text("not telemetry\n")  # a warning row in errors
    ws = costscope.analyze([str(data)], db=tmp / "db")
    return json_document(ws.analysis())


def test_top_level_keys_both_ways(document: dict[str, Any]) -> None:
    assert set(_documented()) == set(document)


def test_every_nested_key_is_named_in_its_row(document: dict[str, Any]) -> None:
    docs = _documented()
    missing = {
        key: sorted(k for k in _nested_keys(value) if f"`{k}`" not in docs[key])
        for key, value in document.items()
    }
    assert {k: v for k, v in missing.items() if v} == {}


def test_the_demo_fills_what_it_has(document: dict[str, Any]) -> None:
    assert document["sampling"] is not None and document["traces"]["known"]
    assert any(e["severity"] == "warning" for e in document["errors"])


def test_timings_are_filled(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    out = tmp_path / "out.json"
    subprocess.run(
        [sys.executable, "-m", "costscope", "analyze", str(SAMPLE_DATA / "metrics"), "--db", str(tmp_path / "db"),
         "--json", str(out), "--report", str(tmp_path / "r.html"), "-q"],
        check=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    timings = json.loads(out.read_text())["timings"]
    assert {"collect", "analyze"} <= set(timings) and all(v >= 0 for v in timings.values())
