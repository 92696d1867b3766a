"""``costscope diff BASE HEAD``: what a change does to the bill, for CI and pull requests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from costscope.cli.app import (
    ConfigOpt,
    DbOpt,
    LogFormatOpt,
    NoColorOpt,
    QuietOpt,
    VerboseOpt,
    app,
    fail,
    start,
    write_to,
)
from costscope.errors import EXIT_BREACH, CostscopeError


@app.command()
def diff(
    base: Annotated[
        str,
        typer.Argument(help="BASE: an exposition file or /metrics URL, a Parquet export, or a snapshot id."),
    ],
    head: Annotated[str, typer.Argument(help="HEAD: the same kinds as BASE.")],
    config: ConfigOpt = None,
    db: DbOpt = None,
    json_out: Annotated[
        str | None, typer.Option("--json", help="Write the diff as JSON to FILE, or - for stdout.")
    ] = None,
    markdown: Annotated[
        Path | None, typer.Option("--markdown", help="Write a Markdown pull-request comment to FILE.")
    ] = None,
    budgets: Annotated[
        Path | None,
        typer.Option(
            "--budgets", help="Budgets file (YAML), evaluated on HEAD: exit 1 when one is breached."
        ),
    ] = None,
    quiet: QuietOpt = False,
    no_color: NoColorOpt = False,
    log_format: LogFormatOpt = "human",
    verbose: VerboseOpt = False,
) -> None:
    """Compare two sides: new and gone metrics, new labels, series and money, risky labels introduced.

    Exit codes: 0 ok, 1 a budget was breached, 2 bad input or config, 3 a side could not be read.
    """
    from costscope.report.diff import diff_document, diff_markdown, print_diff
    from costscope.run import run_diff

    err = Console(stderr=True, no_color=no_color, highlight=False)
    try:
        cfg, _ = start([base, head], config, log_format, verbose, err, quiet, reads_sources=False)
        result = run_diff(base, head, cfg, db=db, budgets=budgets)
    except CostscopeError as exc:
        fail(exc, err)
    if json_out is not None:
        write_to(json.dumps(diff_document(result), indent=1, default=str) + "\n", json_out)
    if markdown is not None:
        markdown.write_text(diff_markdown(result), encoding="utf-8")
    if not quiet:
        print_diff(result, err if json_out == "-" else Console(no_color=no_color, highlight=False))
    if result.breaches:
        raise typer.Exit(EXIT_BREACH)
