"""The ``costscope`` command: a thin skin over the library (see docs/cli.md).

Each command parses its options, calls one library function and renders the result. A
``CostscopeError`` becomes one red line on stderr and its exit code; anything else is a bug
and keeps its traceback (without local variables, which could hold secrets).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from costscope._version import __version__
from costscope.errors import EXIT_BAD_INPUT, EXIT_SOURCE_FAILED, CostscopeError
from costscope.runlog import LOG_FORMATS, configure_logging, new_run_id
from costscope.source_kinds import SOURCE_KINDS

if TYPE_CHECKING:  # the rest loads when a command runs: --version and --help stay quick
    from rich.progress import Progress

    from costscope.config import Config
    from costscope.store.database import Store

app = typer.Typer(
    name="costscope",
    help="What does our telemetry cost, why, and what can we cut without breaking anything?",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    rich_markup_mode=None,
)

GETTING_STARTED = """\
costscope needs something to analyze. Try one of:

  costscope analyze sample_data                      # the demo company, no server needed
  costscope analyze http://localhost:9100/metrics    # one /metrics endpoint
  costscope analyze path/to/dumps/                   # exposition files (*.prom, *.txt, *.om)
  costscope analyze --config costscope.yaml          # sources, pricing and ownership from a file

See docs/config.md for costscope.yaml.
"""


def _version(value: bool) -> None:
    if value:
        typer.echo(f"costscope {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """What does our telemetry cost, why, and what can we cut without breaking anything?"""


ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="costscope.yaml (default: $COSTSCOPE_CONFIG or ./costscope.yaml)."),
]
DbOpt = Annotated[
    Path | None,
    typer.Option("--db", help="DuckDB file (default: $COSTSCOPE_DB or ./costscope.duckdb)."),
]
KindOpt = Annotated[
    str, typer.Option("--kind", help=f"Force the kind of every SOURCE: {', '.join(SOURCE_KINDS)}.")
]
LogFormatOpt = Annotated[str, typer.Option("--log-format", help="Logs on stderr: human or json.")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Debug logs.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
NoColorOpt = Annotated[bool, typer.Option("--no-color", help="No colors in the output.")]
LockOpt = Annotated[
    float,
    typer.Option("--lock-timeout", help="Seconds to wait while another costscope uses the database."),
]
SourcesArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="URLs or paths: a Prometheus-compatible API, a /metrics URL, exposition files, a recording, sample_data."
    ),
]


def _fail(error: CostscopeError, console: Console) -> NoReturn:
    console.print(f"[red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
    raise typer.Exit(error.exit_code)


def _partial(snapshot_id: int, errors: tuple[CostscopeError, ...], console: Console) -> None:
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    console.print(
        f"[red]error:[/] snapshot {snapshot_id} is partial: {escape(str(errors[0]))}{more}",
        highlight=False,
        soft_wrap=True,
    )


def _start(
    sources: list[str] | None,
    config: Path | None,
    log_format: str,
    verbose: bool,
    err: Console,
    quiet: bool = False,
) -> tuple[Config, str]:
    """Load the config, say how to start when there is nothing to read, set up logs: (config, run id)."""
    from costscope.config import discover_config

    cfg = discover_config(config)
    if not sources and not cfg.sources:
        err.print(GETTING_STARTED, highlight=False, markup=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    if log_format not in LOG_FORMATS:
        raise CostscopeError(f"--log-format must be one of {', '.join(LOG_FORMATS)}")
    run_id = new_run_id()
    configure_logging(run_id, log_format, verbose, cfg.secrets(), quiet)
    return cfg, run_id


def _open_store(db: Path | None, lock_timeout: float, read_only: bool = False) -> Store:
    from costscope.store.database import Store, default_db_path

    return Store.open(db or default_db_path(), read_only=read_only, lock_timeout=lock_timeout)


def _progress(console: Console, enabled: bool) -> Progress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("collecting [bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not enabled,
    )


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
) -> None:
    """Collect SOURCEs into a new snapshot, rank what costs most, and write the report.

    Exit codes: 0 ok, 1 a budget was breached, 2 bad input or config, 3 a source failed (the
    snapshot is kept as partial).
    """
    from costscope.errors import EXIT_BREACH
    from costscope.report.terminal import print_summary
    from costscope.run import apply_budgets, default_report_path, run_analysis, write_outputs

    err = Console(stderr=True, no_color=no_color, highlight=False)
    # with --json -, stdout carries the document only; the summary goes to stderr
    out = err if json_out == "-" else Console(no_color=no_color, highlight=False)
    try:
        cfg, run_id = _start(sources, config, log_format, verbose, err, quiet)
        with _open_store(db, lock_timeout) as store:
            with _progress(err, not quiet and sys.stderr.isatty()) as bar:
                task = bar.add_task("sources", total=None)

                def hook(what: str, done: int, total: int) -> None:
                    bar.update(task, description=what, completed=done, total=total)

                run, analysis = run_analysis(
                    store,
                    sources or [],
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
                _partial(run.snapshot_id, run.errors, err)
            raise typer.Exit(EXIT_SOURCE_FAILED)
        if analysis.breaches:
            raise typer.Exit(EXIT_BREACH)
    except CostscopeError as exc:
        _fail(exc, err)


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
) -> None:
    """Collect SOURCEs into a new snapshot without analyzing them (for scheduled collection)."""
    from costscope.run import collect_snapshot

    err = Console(stderr=True, no_color=no_color, highlight=False)
    try:
        cfg, run_id = _start(sources, config, log_format, verbose, err, quiet)
        with _open_store(db, lock_timeout) as store:
            run = collect_snapshot(store, sources or [], cfg, kind=kind, run_id=run_id, record=record)
            series = store.snapshot_sources(run.snapshot_id)["series"].sum()
        if quiet:
            if run.errors:
                _partial(run.snapshot_id, run.errors, err)
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
        _fail(exc, err)


simulate_app = typer.Typer(help="What-if: sampling policies tried on real traffic.", no_args_is_help=True)
app.add_typer(simulate_app, name="simulate")


TraceSourcesArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="Trace files (OTLP JSON, Jaeger JSON, Zipkin v2 JSON; gzip allowed), folders of them, or a Jaeger or Tempo URL."
    ),
]


@simulate_app.command("traces")
def simulate_traces(
    sources: TraceSourcesArg = None,
    policies: Annotated[
        Path | None, typer.Option("--policies", "-p", help="Policies file (YAML, see docs/traces.md).")
    ] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    slo_ms: Annotated[
        float | None, typer.Option("--slo-ms", help="A trace slower than this is slow.")
    ] = None,
    min_error_kept: Annotated[
        float | None,
        typer.Option("--min-error-kept", help="Share of error traces a policy must keep (0.99)."),
    ] = None,
    max_p99_error: Annotated[
        float | None, typer.Option("--max-p99-error", help="Largest relative p99 error allowed (0.05).")
    ] = None,
    json_out: Annotated[
        str | None, typer.Option("--json", help="Write the comparison as JSON to FILE, or - for stdout.")
    ] = None,
    kind: KindOpt = "auto",
    quiet: QuietOpt = False,
    no_color: NoColorOpt = False,
    lock_timeout: LockOpt = 10.0,
) -> None:
    """Compare sampling policies on the traces in SOURCEs: what each keeps and costs, the error and
    slow traces it keeps, and how far its RED estimates (rate, errors, duration) are from the truth.

    Policies come from --policies (docs/traces.md), else from costscope.yaml's sampling section,
    else a built-in set (head 25%, 10%, 1%, tail errors+slow, Refinery rules and dynamic). The recommended
    policy (★) is the cheapest that meets the constraints; its config is printed to paste.

    Exit codes: 0 ok, 2 bad input or policies, 3 a source failed.
    """
    import json as jsonlib

    from costscope.report.json_doc import sampling_document
    from costscope.report.terminal import print_simulation
    from costscope.run import run_simulation
    from costscope.simulate.engine import Constraints

    err = Console(stderr=True, no_color=no_color, highlight=False)
    out = err if json_out == "-" else Console(no_color=no_color, highlight=False)
    try:
        cfg, _ = _start(sources, config, "human", False, err, quiet)
        base = cfg.sampling_constraints
        constraints = None
        if slo_ms is not None or min_error_kept is not None or max_p99_error is not None:
            constraints = Constraints(
                min_error_traces_kept=min_error_kept
                if min_error_kept is not None
                else base.min_error_traces_kept,
                max_p99_error=max_p99_error if max_p99_error is not None else base.max_p99_error,
                slo_ms=slo_ms if slo_ms is not None else base.slo_ms,
            )
        with _open_store(db, lock_timeout) as store:
            run, sim = run_simulation(
                store, sources or [], cfg, policies_file=policies, constraints=constraints, kind=kind
            )
        if not quiet:
            print_simulation(sim, out)
        if json_out is not None:
            text = jsonlib.dumps(sampling_document(sim), indent=2, ensure_ascii=False) + "\n"
            if json_out == "-":
                sys.stdout.write(text)
            else:
                Path(json_out).write_text(text, encoding="utf-8")
        if run.errors:
            if quiet:
                _partial(run.snapshot_id, run.errors, err)
            else:
                for e in run.errors:
                    err.print(f"[red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_SOURCE_FAILED)
    except CostscopeError as exc:
        _fail(exc, err)


@app.command()
def prune(
    keep: Annotated[str, typer.Option("--keep", help="Keep snapshots younger than this: 26w, 90d, 12h.")],
    db: DbOpt = None,
    no_color: NoColorOpt = False,
    lock_timeout: LockOpt = 10.0,
) -> None:
    """Delete snapshots older than --keep (never the newest complete one)."""
    from costscope.store.retention import prune as prune_store
    from costscope.yaml_nodes import parse_duration

    err = Console(stderr=True, no_color=no_color, highlight=False)
    try:
        seconds = parse_duration(keep)
        if seconds is None or seconds <= 0:
            raise CostscopeError(f"--keep: expected a duration like 26w, 90d or 12h, got {keep!r}")
        with _open_store(db, lock_timeout) as store:
            gone = prune_store(store, seconds)
        Console(no_color=no_color, highlight=False).print(
            f"deleted {len(gone)} snapshot(s)" + (f": {', '.join(map(str, gone))}" if gone else "")
        )
    except CostscopeError as exc:
        _fail(exc, err)


@app.command()
def export(
    parquet: Annotated[Path, typer.Option("--parquet", help="Directory for hive-partitioned Parquet.")],
    db: DbOpt = None,
    no_color: NoColorOpt = False,
    lock_timeout: LockOpt = 10.0,
) -> None:
    """Write every snapshot as Parquet (snapshot_date=…/source=…), for DuckDB, Spark, Trino, ClickHouse."""
    from costscope.store.export import export_parquet

    err = Console(stderr=True, no_color=no_color, highlight=False)
    try:
        with _open_store(db, lock_timeout, read_only=True) as store:
            written = export_parquet(store, parquet)
        rows = ", ".join(f"{t} {n:,}" for t, n in written.items())
        Console(no_color=no_color, highlight=False).print(f"wrote {parquet}: {rows}")
    except CostscopeError as exc:
        _fail(exc, err)


@app.command()
def snapshots(
    db: DbOpt = None,
    no_color: NoColorOpt = False,
    lock_timeout: LockOpt = 10.0,
) -> None:
    """List the snapshots in the database, newest first, with their status and errors."""
    from rich.table import Table

    err = Console(stderr=True, no_color=no_color)
    try:
        with _open_store(db, lock_timeout, read_only=True) as store:
            df = store.snapshots()
        table = Table()
        for col in ("id", "started", "status", "errors", "version", "note"):
            table.add_column(col)
        for r in df.iter_rows(named=True):
            table.add_row(
                str(r["id"]),
                str(r["started_at"])[:19],
                r["status"],
                str(r["error_count"]),
                r["costscope_version"],
                escape(r["note"] or ""),
            )
        Console(no_color=no_color).print(table)
    except CostscopeError as exc:
        _fail(exc, err)


def main() -> None:
    """Console-script entry point."""
    app()
