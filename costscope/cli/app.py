"""The ``costscope`` app, the options its commands share, and how a command fails or starts.

Each command parses its options, calls one library function and renders the result. A
``CostscopeError`` becomes one red line on stderr and its exit code; anything else is a bug
and keeps its traceback (without local variables, which could hold secrets).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from costscope._version import __version__
from costscope.errors import EXIT_BAD_INPUT, CostscopeError
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
CollectOpt = Annotated[
    str | None,
    typer.Option(
        "--collect",
        help="Prometheus-compatible APIs: series (pull every series), counts (count inside the backend)"
        " or auto (counts from collect_threshold series); overrides costscope.yaml.",
    ),
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


def fail(error: CostscopeError, console: Console) -> NoReturn:
    """Print the error in one red line and exit with its code."""
    console.print(f"[red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
    raise typer.Exit(error.exit_code)


def partial(snapshot_id: int, errors: tuple[CostscopeError, ...], console: Console) -> None:
    """Say that the snapshot is partial, naming the first error and how many more."""
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    console.print(
        f"[red]error:[/] snapshot {snapshot_id} is partial: {escape(str(errors[0]))}{more}",
        highlight=False,
        soft_wrap=True,
    )


def start(
    sources: list[str] | None,
    config: Path | None,
    log_format: str,
    verbose: bool,
    err: Console,
    quiet: bool = False,
    reads_sources: bool = True,
) -> tuple[Config, str]:
    """Load the config, say how to start when there is nothing to read, set up logs: (config, run id).

    ``reads_sources`` False: the command brings its own source (the tap), so none is required.
    """
    from costscope.config import discover_config

    cfg = discover_config(config)
    if reads_sources and not sources and not cfg.sources:
        err.print(GETTING_STARTED, highlight=False, markup=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    if log_format not in LOG_FORMATS:
        raise CostscopeError(f"--log-format must be one of {', '.join(LOG_FORMATS)}")
    run_id = new_run_id()
    configure_logging(run_id, log_format, verbose, cfg.secrets(), quiet)
    return cfg, run_id


def open_store(db: Path | None, lock_timeout: float, read_only: bool = False) -> Store:
    """Open the DuckDB store a command names (or the default one)."""
    from costscope.store.database import Store, default_db_path

    return Store.open(db or default_db_path(), read_only=read_only, lock_timeout=lock_timeout)


def progress_bar(console: Console, enabled: bool) -> Progress:
    """The progress bar shown while sources are collected (off when quiet)."""
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


simulate_app = typer.Typer(help="What-if: sampling policies tried on real traffic.", no_args_is_help=True)

app.add_typer(simulate_app, name="simulate")


def write_to(text: str, target: str) -> None:
    """Write ``text`` to the file ``target``, or to stdout when it is ``-``."""
    if target == "-":
        sys.stdout.write(text)
    else:
        Path(target).write_text(text, encoding="utf-8")
