"""Write docs/cli-reference.md from the commands' own --help (a test checks it is current).

Usage: python scripts/cli_reference.py [--check]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer.main
from typer.testing import CliRunner

from costscope.cli import app

OUT = Path(__file__).resolve().parent.parent / "docs" / "cli-reference.md"


def render() -> str:
    """The reference as Markdown: the top-level help, then each command's."""
    runner = CliRunner()
    env = {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
    parts = [
        "# CLI reference\n",
        "Generated from `--help` by `python scripts/cli_reference.py`; do not edit by hand.\n",
    ]
    group = typer.main.get_group(app)
    commands: list[list[str]] = [[]]
    for name in sorted(group.commands):
        commands.append([name])
        sub = getattr(group.commands[name], "commands", None)  # a group: its commands too
        commands += [[name, inner] for inner in sorted(sub or {})]
    for args in commands:
        result = runner.invoke(app, [*args, "--help"], env=env, prog_name="costscope")
        title = " ".join(["costscope", *args])
        parts.append(f"## `{title}`\n\n```text\n{result.output.rstrip()}\n```\n")
    return "\n".join(parts)


def main() -> None:
    text = render()
    if "--check" in sys.argv:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            sys.exit(f"{OUT} is out of date: run python scripts/cli_reference.py")
        return
    OUT.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    os.environ.setdefault("COLUMNS", "100")
    main()
