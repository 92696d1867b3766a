"""Docs can't drift: every command is documented, README's examples run, CI runs the README's checks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main

from costscope.cli import app
from tests.conftest import ROOT, SAMPLE_DATA


def test_every_command_is_in_the_cli_reference() -> None:
    doc = (ROOT / "docs" / "cli.md").read_text()
    for name in typer.main.get_group(app).commands:
        assert f"`costscope {name}" in doc, name


def test_readme_quick_start_is_two_commands_and_ci_runs_the_second() -> None:
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", quick, re.S)
    assert [b.strip() for b in blocks] == ["./scripts/demo.sh", "./scripts/check.sh"]
    assert "scripts/check.sh" in (ROOT / ".ci" / "run").read_text()
    assert "costscope analyze sample_data" in (ROOT / "scripts" / "demo.sh").read_text()


def test_readme_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (ROOT / "README.md").read_text()
    (code,) = re.findall(r"```python\n(.*?)```", readme, re.S)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sample_data").symlink_to(SAMPLE_DATA)
    namespace: dict[str, object] = {}
    exec(compile(re.sub(r"(?m)^  ", "", code), "README.md", "exec"), namespace)
    assert (tmp_path / "demo.duckdb").exists()


def test_cli_reference_is_generated_from_the_current_help() -> None:
    from scripts.cli_reference import OUT, render

    assert OUT.read_text(encoding="utf-8") == render(), "run python scripts/cli_reference.py"
