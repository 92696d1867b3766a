"""``costscope analyze`` and ``costscope scrape``: collect, analyze, write the outputs."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from costscope.cli.app import (
    CollectOpt,
    ConfigOpt,
    DbOpt,
    KindOpt,
    LockOpt,
    LogFormatOpt,
    NoColorOpt,
    QuietOpt,
    SourcesArg,
    VerboseOpt,
    app,
    fail,
    open_store,
    partial,
    progress_bar,
    start,
)
from costscope.errors import EXIT_SOURCE_FAILED, CostscopeError

if TYPE_CHECKING:
    from costscope.config import Config


@app.command()
def analyze(
    sources: SourcesArg = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="HTML report path (default: costscope-report.html)."),
    ] = None,
    json_out: Annotated[
        str | None, typer.Option("--json", help="Write the JSON document to FILE, or - for stdout.")
    ] = None,
    kind: KindOpt = "auto",
    quiet: QuietOpt = False,
    no_color: NoColorOpt = False,
    log_format: LogFormatOpt = "human",
    verbose: VerboseOpt = False,
    lock_timeout: LockOpt = 10.0,
    show_values: Annotated[
        bool, typer.Option("--show-values", help="Show values of ID-like labels instead of masking them.")
    ] = False,
    budgets: Annotated[
        Path | None, typer.Option("--budgets", help="Budgets file (YAML): exit 1 when one is breached.")
    ] = None,
    markdown: Annotated[
        Path | None,
        typer.Option("--markdown", help="Also write a Markdown summary (chat, PR comment) to FILE."),
    ] = None,
    collect: CollectOpt = None,
) -> None:
    """Collect SOURCEs into a new snapshot, rank what costs most, and write the report.

    Exit codes: 0 ok, 1 a budget was breached, 2 bad input or config, 3 a source failed (the
    snapshot is kept as partial).
    """
    err = Console(stderr=True, no_color=no_color, highlight=False)
    try:
        cfg, run_id = start(sources, config, log_format, verbose, err, quiet)
        cfg = with_collect(cfg, collect)
    except CostscopeError as exc:
        fail(exc, err)
    analyze_and_render(
        sources or [], cfg, run_id, db=db, report=report, json_out=json_out, kind=kind, quiet=quiet,
        no_color=no_color, lock_timeout=lock_timeout, show_values=show_values, budgets=budgets, markdown=markdown,
    )  # fmt: skip


def analyze_and_render(
    sources: list[str],
    cfg: Config,
    run_id: str,
    *,
    db: Path | None,
    report: Path | None,
    json_out: str | None,
    kind: str,
    quiet: bool,
    no_color: bool,
    lock_timeout: float,
    show_values: bool = False,
    budgets: Path | None = None,
    markdown: Path | None = None,
) -> None:
    """Collect, analyze, write the outputs, print the summary and exit as analyze does."""
    from costscope.errors import EXIT_BREACH
    from costscope.report.terminal import print_summary
    from costscope.run import apply_budgets, default_report_path, run_analysis, write_outputs

    err = Console(stderr=True, no_color=no_color, highlight=False)
    # with --json -, stdout carries the document only; the summary goes to stderr
    out = err if json_out == "-" else Console(no_color=no_color, highlight=False)
    try:
        with open_store(db, lock_timeout) as store:
            with progress_bar(err, not quiet and sys.stderr.isatty()) as bar:
                task = bar.add_task("sources", total=None)

                def hook(what: str, done: int, total: int) -> None:
                    bar.update(task, description=what, completed=done, total=total)

                run, analysis = run_analysis(
                    store,
                    sources,
                    cfg,
                    kind=kind,
                    run_id=run_id,
                    progress=hook,
                    show_values=show_values,
                )
            analysis = apply_budgets(analysis, budgets)
            report_path = report or default_report_path()
            write_outputs(analysis, run, store, report_path, json_out, markdown)
        if not quiet:
            print_summary(replace(analysis, timings=dict(run.timer.seconds)), out, report_path, json_out)
        if cfg.push is not None:
            from costscope.selfmetrics import push

            push(cfg.push, analysis, dict(run.timer.seconds))
        if run.errors:
            if quiet:  # the summary said nothing: one line says why the exit code is 3
                partial(run.snapshot_id, run.errors, err)
            raise typer.Exit(EXIT_SOURCE_FAILED)
        if analysis.breaches:
            raise typer.Exit(EXIT_BREACH)
    except CostscopeError as exc:
        fail(exc, err)


@app.command()
def scrape(
    sources: SourcesArg = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    kind: KindOpt = "auto",
    quiet: QuietOpt = False,
    no_color: NoColorOpt = False,
    log_format: LogFormatOpt = "human",
    verbose: VerboseOpt = False,
    lock_timeout: LockOpt = 10.0,
    record: Annotated[
        Path | None,
        typer.Option(
            "--record", help="Also save every API answer under DIR/<source>/, to analyze offline later."
        ),
    ] = None,
    collect: CollectOpt = None,
) -> None:
    """Collect SOURCEs into a new snapshot without analyzing them (for scheduled collection)."""
    from costscope.run import collect_snapshot

    err = Console(stderr=True, no_color=no_color, highlight=False)
    try:
        cfg, run_id = start(sources, config, log_format, verbose, err, quiet)
        cfg = with_collect(cfg, collect)
        with open_store(db, lock_timeout) as store:
            run = collect_snapshot(store, sources or [], cfg, kind=kind, run_id=run_id, record=record)
            series = store.snapshot_sources(run.snapshot_id)["series"].sum()
        if quiet:
            if run.errors:
                partial(run.snapshot_id, run.errors, err)
        else:
            Console(no_color=no_color, highlight=False).print(
                f"snapshot {run.snapshot_id} {run.status}: {series:,} series"
                f" in {run.timer.seconds.get('collect', 0):.2f}s"
            )
            for e in run.errors:
                err.print(f"[red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
            for w in run.warnings:
                err.print(f"[yellow]warning:[/] {escape(str(w))}", highlight=False, soft_wrap=True)
        if run.errors:
            raise typer.Exit(EXIT_SOURCE_FAILED)
    except CostscopeError as exc:
        fail(exc, err)


def with_collect(cfg: Config, collect: str | None) -> Config:
    """``cfg`` with ``--collect`` applied to every Prometheus-compatible API source."""
    return cfg if collect is None else replace(cfg, collect=collect)
