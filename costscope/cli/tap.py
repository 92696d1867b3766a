"""``costscope tap``: receive OTLP/HTTP for a while and analyze what flowed through."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from costscope.cli.analyze import analyze_and_render
from costscope.cli.app import (
    ConfigOpt,
    DbOpt,
    LockOpt,
    LogFormatOpt,
    NoColorOpt,
    QuietOpt,
    VerboseOpt,
    app,
    fail,
    start,
)
from costscope.errors import ConfigError, CostscopeError

DEFAULT_LISTEN = "127.0.0.1:4318"


@app.command()
def tap(
    listen: Annotated[
        str | None,
        typer.Option(
            "--listen", help=f"HOST:PORT to receive OTLP/HTTP on (default {DEFAULT_LISTEN}, loopback)."
        ),
    ] = None,
    duration: Annotated[
        str | None, typer.Option("--duration", help="How long to listen (10m, 1h); default: until Ctrl-C.")
    ] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    report: Annotated[Path | None, typer.Option("--report", help="HTML report path.")] = None,
    json_out: Annotated[
        str | None, typer.Option("--json", help="Write the JSON document to FILE, or -.")
    ] = None,
    quiet: QuietOpt = False,
    no_color: NoColorOpt = False,
    log_format: LogFormatOpt = "human",
    verbose: VerboseOpt = False,
    lock_timeout: LockOpt = 10.0,
) -> None:
    """Receive OTLP/HTTP (/v1/traces, /v1/metrics, /v1/logs; protobuf or JSON, gzip) and analyze it.

    Keeps aggregates, never payloads: series, log templates, and at most a million spans (whole
    traces, re-weighted). Point a collector's otlphttp exporter at it beside the real one
    (docs/otel.md). Binds to loopback unless --listen names another address.
    """
    from costscope.config import SourceConfig
    from costscope.yaml_nodes import parse_duration

    err = Console(stderr=True, no_color=no_color, highlight=False)
    try:
        seconds = None
        if duration is not None:
            seconds = parse_duration(duration)
            if seconds is None or seconds <= 0:
                raise ConfigError(
                    f"give a duration such as 30s, 10m or 1h, not {duration!r}", field="--duration"
                )
        address = listen or DEFAULT_LISTEN
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"give HOST:PORT, such as 127.0.0.1:4318, not {address!r}", field="--listen")
        source = SourceConfig(name=f"tap {address}", kind="tap", url=f"http://{address}", duration_s=seconds)
        cfg, run_id = start(None, config, log_format, verbose, err, quiet, reads_sources=False)
        cfg = replace(cfg, sources=(source,))
    except CostscopeError as exc:
        fail(exc, err)
    analyze_and_render(
        [], cfg, run_id, db=db, report=report, json_out=json_out, kind="auto", quiet=quiet,
        no_color=no_color, lock_timeout=lock_timeout,
    )  # fmt: skip
