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


def _blocks(doc: str) -> list[tuple[str, str]]:
    return re.findall(r"```(\w*)\n(.*?)```", (ROOT / "docs" / doc).read_text(encoding="utf-8"), re.S)


def _with_what_it_names(doc: object, base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Secrets by environment variable and files by path, as a real run would have them."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key.endswith("_env") and isinstance(value, str):
                monkeypatch.setenv(value, "example-secret")
            elif key.endswith("_file") and isinstance(value, str) and not Path(value).is_absolute():
                (base / value).parent.mkdir(parents=True, exist_ok=True)
                # a policies file is read as one: the one docs/traces.md shows
                policies = dict(_blocks("traces.md"))["yaml"] if key == "policies_file" else "example\n"
                (base / value).write_text(policies)
            else:
                _with_what_it_names(value, base, monkeypatch)
    elif isinstance(doc, list):
        for item in doc:
            _with_what_it_names(item, base, monkeypatch)


def _read_as_what_it_is(text: str, where: str, base: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Read one YAML block of the docs with the loader costscope reads that kind of file with."""
    import textwrap

    import yaml

    from costscope.config import parse_config
    from costscope.recommend.budgets import parse_budgets
    from costscope.simulate.policies_file import parse_policies

    text = textwrap.dedent(text)
    doc = yaml.safe_load(text)
    if "budgets" in doc:
        assert parse_budgets(text, where)
        return "budgets"
    if "policies" in doc:
        assert parse_policies(text, where)[0]
        return "policies"
    if ("jobs" in doc and "on" in doc) or True in doc:  # a GitHub Actions workflow ("on" reads as True)
        steps = [s.get("run", "") for job in doc["jobs"].values() for s in job["steps"]]
        _check_commands("\n".join(steps), where)
        return "workflow"
    if "exporters" in doc and "service" in doc:  # an OpenTelemetry Collector config (docs/otel.md)
        exporters = doc["exporters"]
        for pipeline in doc["service"]["pipelines"].values():
            assert all(e in exporters for e in pipeline["exporters"]), where
        for name, conf in exporters.items():
            kind = name.split("/")[0]
            if kind == "file":
                assert conf.get("format", "json") in ("json", "proto") and conf["path"], where
            elif kind == "otlphttp":
                assert str(conf["endpoint"]).startswith(("http://", "https://")), where
                if "costscope" in name:  # the tap's address, as `costscope tap` listens by default
                    from costscope.cli.tap import DEFAULT_LISTEN

                    assert conf["endpoint"] == f"http://{DEFAULT_LISTEN}", where
            else:
                raise AssertionError(f"{where}: exporter {name} is not checked")
        return "collector"
    _with_what_it_names(doc, base, monkeypatch)
    parse_config(text, where, base_dir=base)
    return "config"


def _check_commands(script: str, where: str) -> None:
    """Every ``costscope CMD --option`` in a shell snippet names a command and options it has."""
    from typer.testing import CliRunner

    from costscope.cli import app

    script = script.replace("\\\n", " ")
    calls = re.findall(r"costscope ((?:simulate )?[a-z]+)((?: +[^;&|\n]*)?)", script)
    assert calls, where
    for command, args in calls:
        help_text = CliRunner().invoke(app, [*command.split(), "--help"]).output
        for option in re.findall(r"(?<!\S)(--[a-z-]+)", args):
            assert option in help_text, f"{where}: costscope {command} has no {option}"


@pytest.mark.parametrize(
    "doc", ["ci.md", "config.md", "otel.md", "scale.md", "traces.md", "usage.md", "weekly.md"]
)
def test_every_code_block_of_the_docs_is_read_as_costscope_reads_it(
    doc: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = _blocks(doc)
    assert blocks
    for lang, text in blocks:
        where = f"docs/{doc}"
        if lang == "yaml":
            _read_as_what_it_is(text, where, tmp_path, monkeypatch)
        else:  # a shell snippet (cron): its costscope commands and options exist
            _check_commands(text, where)
