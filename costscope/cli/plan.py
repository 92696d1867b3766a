"""``costscope plan``: what the bill becomes when the chosen actions are applied together."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from costscope.cli.app import (
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
    start,
    write_to,
)
from costscope.errors import EXIT_SOURCE_FAILED, CostscopeError, InputError


def _ranks(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InputError(f"--actions takes ranks separated by commas (1,3,5), not {text!r}") from None


def _read_config(path: Path | None) -> str | None:
    if path is None:
        return None
    from costscope.recommend.plan_prometheus import load_prometheus_config

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read it ({exc})") from None
    load_prometheus_config(text, str(path))  # a bad file is said before anything is collected
    return text


@app.command()
def plan(
    sources: SourcesArg = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for plan.json and each action's config.")] = Path(
        "costscope-plan"
    ),
    risk_up_to: Annotated[
        str,
        typer.Option(
            "--risk-up-to",
            help="Take every action up to this risk: none (default), coarser, unknown, dashboard, trace_links,"
            " query, recording_rule, alert, errors, slo.",
        ),
    ] = "none",
    top: Annotated[
        int | None, typer.Option("--top", help="At most this many actions (in rank order).")
    ] = None,
    actions: Annotated[
        str | None,
        typer.Option("--actions", help="Exactly these actions, by rank: 1,3,5 (overrides --risk-up-to)."),
    ] = None,
    prometheus_config: Annotated[
        Path | None,
        typer.Option(
            "--prometheus-config",
            help="Your prometheus.yml: DIR/prometheus/prometheus.yml is a copy with the plan applied (comments kept).",
        ),
    ] = None,
    json_out: Annotated[
        str | None, typer.Option("--json", help="Also write plan.json's document to FILE or -.")
    ] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    kind: KindOpt = "auto",
    quiet: QuietOpt = False,
    no_color: NoColorOpt = False,
    log_format: LogFormatOpt = "human",
    verbose: VerboseOpt = False,
    lock_timeout: LockOpt = 10.0,
) -> None:
    """Collect SOURCEs, choose actions, and compute the bill after all of them applied together.

    Overlaps are resolved (a dropped metric's label cuts vanish; label and bucket cuts of one
    metric are counted as one reshaping, exactly). Exit codes: 0 ok, 2 bad input, 3 a source failed.
    """
    from costscope.report.plan import plan_document, plan_files, print_plan, write_plan
    from costscope.run import run_plan

    err = Console(stderr=True, no_color=no_color, highlight=False)
    try:
        prom_text = _read_config(prometheus_config)
        cfg, run_id = start(sources, config, log_format, verbose, err, quiet)
        with open_store(db, lock_timeout) as store:
            run, result = run_plan(
                store, sources or [], cfg, risk_up_to=risk_up_to, top=top, ranks=_ranks(actions), kind=kind,
                run_id=run_id,
            )  # fmt: skip
        files, notes = plan_files(result, prom_text)
        write_plan(result, out, files=files)
        if json_out is not None:
            write_to(json.dumps(plan_document(result), indent=1, default=str) + "\n", json_out)
    except CostscopeError as exc:
        fail(exc, err)
    if not quiet:
        console = err if json_out == "-" else Console(no_color=no_color, highlight=False)
        print_plan(result, console, out, files, notes)
    if run.errors:  # some inputs were refused: the plan is of what was read, and the exit code says so
        if quiet:
            partial(run.snapshot_id, run.errors, err)
        raise typer.Exit(EXIT_SOURCE_FAILED)
