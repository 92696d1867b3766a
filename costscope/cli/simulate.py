"""``costscope simulate traces``: sampling policies tried on stored or given traces."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from costscope.cli.app import (
    ConfigOpt,
    DbOpt,
    KindOpt,
    LockOpt,
    NoColorOpt,
    QuietOpt,
    fail,
    open_store,
    partial,
    simulate_app,
    start,
    write_to,
)
from costscope.errors import EXIT_SOURCE_FAILED, CostscopeError

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
        cfg, _ = start(sources, config, "human", False, err, quiet)
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
        with open_store(db, lock_timeout) as store:
            run, sim = run_simulation(
                store, sources or [], cfg, policies_file=policies, constraints=constraints, kind=kind
            )
        if not quiet:
            print_simulation(sim, out)
        if json_out is not None:
            write_to(jsonlib.dumps(sampling_document(sim), indent=2, ensure_ascii=False) + "\n", json_out)
        if run.errors:
            if quiet:
                partial(run.snapshot_id, run.errors, err)
            else:
                for e in run.errors:
                    err.print(f"[red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_SOURCE_FAILED)
    except CostscopeError as exc:
        fail(exc, err)
