"""The main job: collect sources into a snapshot, analyze it, and write the report and JSON.

``collect_snapshot`` is ``costscope scrape``; ``run_analysis`` is ``costscope analyze``. Both are
plain functions a notebook can call; the CLI only parses arguments and renders the results.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from costscope.analyze import Analysis, masked, snapshot_findings
from costscope.analyze.diff import Diff
from costscope.analyze.trends import WEEK_S
from costscope.config import COLLECT_MODES, Config, OwnershipRule
from costscope.errors import CostscopeError, InputError, InputWarning, SourceError
from costscope.ingest import collect
from costscope.ingest.counts import count_keep_sets
from costscope.pricing import CostModel
from costscope.recommend.actions import recommend
from costscope.recommend.plan import Plan, choose_actions, make_plan
from costscope.runlog import StageTimer, new_run_id
from costscope.simulate.engine import Constraints, Simulation
from costscope.simulate.policies import Policy
from costscope.simulate.policies_file import DEFAULT_POLICIES
from costscope.sources import Resolution, resolve
from costscope.store.database import SourceInfo, Store, default_db_path
from costscope.store.snapshot import SnapshotWriter, SourceErrorRecord, SourceResult

log = logging.getLogger("costscope.run")

ProgressHook = Callable[[str, int, int], None]  # (what, done, total)


def _scoped(progress: ProgressHook | None, name: str) -> ProgressHook | None:
    if progress is None:
        return None
    hook = progress
    return lambda what, done, total: hook(f"{name}: {what}", done, total)


@dataclass(frozen=True)
class SnapshotRun:
    """How a collection ended: the snapshot, its status and its errors."""

    snapshot_id: int
    status: str
    run_id: str
    errors: tuple[CostscopeError, ...]
    timer: StageTimer
    analysis: Analysis | None = None
    warnings: tuple[InputWarning, ...] = ()  # files not recognised, or read and yielding nothing


def analyze_snapshot(
    store: Store,
    snapshot_id: int,
    model: CostModel,
    *,
    ownership: Sequence[OwnershipRule] = (),
    show_values: bool = False,
    policies: Sequence[Policy] = DEFAULT_POLICIES,
    constraints: Constraints | None = None,
    trend_span_s: float = WEEK_S,
) -> Analysis:
    """Findings of ``snapshot_id`` → ranked actions → values of risky labels masked (unless shown)."""
    findings = snapshot_findings(
        store, snapshot_id, model, ownership=ownership, policies=policies, constraints=constraints,
        trend_span_s=trend_span_s,
    )  # fmt: skip
    analysis = replace(findings, recommendations=recommend(findings))
    safe = make_plan(store, analysis, choose_actions(analysis.recommendations))
    analysis = replace(analysis, plan_bill=(safe.actions.height, safe.total_before, safe.total_after))
    return analysis if show_values else masked(analysis)


MAX_NAMED = 5  # input warnings an error line names; more are counted


def _targets(sources: Sequence[str], cfg: Config, kind: str) -> Resolution:
    """The sources to read; none is an error that says what was found instead."""
    resolution = resolve(sources, cfg, kind)
    if resolution.sources:
        return resolution
    if resolution.warnings:
        found = "; ".join(str(w) for _, w in resolution.warnings[:MAX_NAMED])
        more = len(resolution.warnings) - MAX_NAMED
        raise InputError(f"nothing costscope can read: {found}" + (f" (and {more} more)" if more > 0 else ""))
    raise CostscopeError("no sources: give a URL or a path, or a config with sources")


def _keep(
    snapshot: SnapshotWriter,
    result: SourceResult,
    source_errors: list[CostscopeError],
    errors: list[CostscopeError],
    warnings: list[InputWarning],
) -> None:
    """Record how one source ended, with each of its errors and warnings (a row each)."""
    snapshot.add_source(result)
    for error in source_errors:
        warning = isinstance(error, InputWarning)
        severity = "warning" if warning else "error"
        snapshot.add_error(
            SourceErrorRecord(result.name, result.location, "collect", str(error), severity=severity)
        )
        # printed once by the command; the JSON log keeps every one, with its severity
        log.info("source %s: %s", result.name, error, extra={"severity": severity})
        if isinstance(error, InputWarning):
            warnings.append(error)
        else:
            errors.append(error)
    log.info(
        "source %s: %d series",
        result.name,
        result.series,
        extra={"source": result.name, "series": result.series, "status": result.status},
    )


def collect_snapshot(
    store: Store,
    sources: Sequence[str] = (),
    config: Config | None = None,
    *,
    kind: str = "auto",
    run_id: str | None = None,
    progress: ProgressHook | None = None,
    analyze: bool = False,
    record: Path | None = None,
    show_values: bool = False,
) -> SnapshotRun:
    """Read every source into one new snapshot (and its recommendations, if ``analyze``)."""
    cfg = config or Config()
    resolution = _targets(sources, cfg, kind)
    targets = resolution.sources
    if cfg.collect is not None:
        if cfg.collect not in COLLECT_MODES:
            raise InputError(f"collect must be one of {', '.join(COLLECT_MODES)}, not {cfg.collect!r}")
        targets = [replace(s, collect=cfg.collect) for s in targets]
    run_id = run_id or new_run_id()
    timer = StageTimer()
    infos = [SourceInfo(s.name, s.kind, s.location) for s in targets]
    snapshot = store.begin(run_id, infos, cfg.pricing.describe())
    log.info("snapshot %d started", snapshot.id, extra={"snapshot": snapshot.id})
    errors: list[CostscopeError] = []
    warnings: list[InputWarning] = []
    statuses: list[str] = []
    with snapshot.transaction():
        for name, warning in resolution.warnings:
            warnings.append(warning)
            snapshot.add_error(
                SourceErrorRecord(name, warning.file, "detect", str(warning), severity="warning")
            )
            log.info("input warning: %s", warning, extra={"severity": "warning"})
        # a backend counting inside itself groups series by job and the ownership rules' labels
        group_labels = tuple(sorted({"job"} | {label for rule in cfg.ownership for label, _ in rule.match}))
        with timer.stage("collect"), store.appending():
            for source in targets:
                result, source_errors = collect(
                    source, snapshot, _scoped(progress, source.name), record, group_labels
                )
                statuses.append(result.status)
                _keep(snapshot, result, source_errors, errors, warnings)
            if progress:
                progress("done", len(targets), len(targets))
        if all(s == "failed" for s in statuses):
            status = "failed"
        elif errors:
            status = "partial"
        else:
            status = "complete"
        analysis = None
        if analyze and status != "failed":
            # inside the transaction: the findings are committed with the data they came from
            with timer.stage("analyze"):

                def findings() -> Analysis:
                    return analyze_snapshot(
                        store,
                        snapshot.id,
                        cfg.pricing,
                        ownership=cfg.ownership,
                        show_values=show_values,
                        policies=cfg.sampling_policies,
                        constraints=cfg.sampling_constraints,
                    )

                analysis = findings()
                if analysis.uncounted_keep_sets.height:
                    # usage is known now: the backends count the keep sets it asks for, then again
                    for error in count_keep_sets(snapshot, targets, analysis.uncounted_keep_sets):
                        errors.append(error)
                        status = "partial"
                        snapshot.add_error(
                            SourceErrorRecord(
                                getattr(error, "source", None) or "",
                                getattr(error, "url", None),
                                "count",
                                str(error),
                            )
                        )
                    analysis = findings()
                snapshot.append("recommendations", analysis.recommendations)
                snapshot.append("snapshot_costs", analysis.costs)
        snapshot.finish(status, timer.seconds)
    if analysis is not None:
        analysis = replace(
            analysis,
            status=status,
            sources=store.snapshot_sources(snapshot.id),
            errors=store.source_errors(snapshot.id),
        )
    log.info("snapshot %d %s", snapshot.id, status, extra={"snapshot": snapshot.id, "status": status})
    return SnapshotRun(snapshot.id, status, run_id, tuple(errors), timer, analysis, tuple(warnings))


def run_analysis(
    store: Store,
    sources: Sequence[str] = (),
    config: Config | None = None,
    *,
    kind: str = "auto",
    run_id: str | None = None,
    progress: ProgressHook | None = None,
    show_values: bool = False,
) -> tuple[SnapshotRun, Analysis]:
    """Collect a new snapshot, then analyze it; the result every output renders."""
    run = collect_snapshot(
        store,
        sources,
        config,
        kind=kind,
        run_id=run_id,
        progress=progress,
        analyze=True,
        show_values=show_values,
    )
    if run.analysis is None:
        raise every_input_failed(run)
    return run, run.analysis


def every_input_failed(run: SnapshotRun) -> CostscopeError:
    """The error of a run that kept nothing: bad input (exit 2) when every input was bad, else a failure.

    It names every failure, then the first files not recognised: the run prints no summary that
    would (the snapshot's errors keep them all).
    """
    failures = "; ".join(str(e) for e in (*run.errors, *run.warnings[:MAX_NAMED])) or "no series"
    if len(run.warnings) > MAX_NAMED:
        failures += f" (and {len(run.warnings) - MAX_NAMED} more input warnings)"
    if run.errors and all(isinstance(e, InputError) for e in run.errors):
        return InputError(f"every input was bad: {failures}")
    return SourceError(f"every source failed: {failures}")


def apply_budgets(analysis: Analysis, budgets: Path | None) -> Analysis:
    """The analysis with the breaches of a budgets file (none without one)."""
    if budgets is None:
        return analysis
    from costscope.recommend.budgets import evaluate, load_budgets

    return replace(analysis, breaches=tuple(evaluate(load_budgets(budgets), analysis)))


def write_outputs(
    analysis: Analysis,
    run: SnapshotRun,
    store: Store,
    report: Path | None,
    json_path: str | None,
    markdown: Path | None = None,
) -> None:
    """Write the HTML report, the JSON document and the Markdown summary; record their time."""
    from costscope.report.html import write_report
    from costscope.report.json_doc import write_json
    from costscope.report.markdown import markdown_summary

    # the document says how long each stage took, as far as the run has got
    analysis = replace(analysis, timings=dict(run.timer.seconds))
    with run.timer.stage("report"):
        if report is not None:
            from costscope.analyze.trends import history

            write_report(analysis, report, history(store))
        if json_path is not None:
            write_json(analysis, json_path)
        if markdown is not None:
            markdown.write_text(markdown_summary(analysis), encoding="utf-8")
    store.set_timings(run.snapshot_id, run.timer.seconds)


def run_simulation(
    store: Store,
    sources: Sequence[str] = (),
    config: Config | None = None,
    *,
    policies_file: Path | None = None,
    constraints: Constraints | None = None,
    kind: str = "auto",
) -> tuple[SnapshotRun, Simulation]:
    """Collect trace sources into a new snapshot and compare sampling policies on its spans."""
    from costscope.analyze.traces import snapshot_spans, traced_period
    from costscope.simulate.engine import simulate
    from costscope.simulate.policies_file import load_policies

    cfg = config or Config()
    policies, file_constraints = (
        load_policies(policies_file)
        if policies_file
        else (list(cfg.sampling_policies), cfg.sampling_constraints)
    )
    run = collect_snapshot(store, sources, cfg, kind=kind)
    spans = snapshot_spans(store, run.snapshot_id)
    if spans.is_empty():
        failures = "; ".join(str(e) for e in run.errors)
        raise SourceError(
            "no spans to simulate on"
            + (f": {failures}" if failures else " (give trace files or a Jaeger/Tempo URL)")
        )
    with run.timer.stage("simulate"):
        period = traced_period(store, run.snapshot_id)  # the captures' time, as the analysis counts it
        sim = simulate(spans, policies, cfg.pricing, constraints or file_constraints, period_s=period)
    return run, sim


__all__ = [
    "SnapshotRun",
    "analyze_snapshot",
    "apply_budgets",
    "collect_snapshot",
    "run_analysis",
    "run_simulation",
    "write_outputs",
]


def default_report_path() -> Path:
    """Where the HTML report goes when ``--report`` is not given."""
    return Path("costscope-report.html")


def _side(side: str, cfg: Config, db: Path | None, workdir: Path) -> Analysis:
    """One side of a diff: a snapshot id of ``db``, or a source read into a store of its own."""
    if side.isdigit():
        path = db or default_db_path()
        if not path.exists():
            raise InputError(f"{side} looks like a snapshot id, but there is no database at {path}")
        with Store.open(path, read_only=True) as store:
            return analyze_snapshot(store, int(side), cfg.pricing, ownership=cfg.ownership)
    alone = replace(cfg, sources=())  # the side, and nothing of the config's sources
    with Store.open(workdir / f"side-{len(list(workdir.iterdir()))}.duckdb") as store:
        _, analysis = run_analysis(store, [side], alone)
    return analysis


def run_diff(
    base: str, head: str, config: Config | None = None, *, db: Path | None = None, budgets: Path | None = None
) -> Diff:
    """``costscope diff BASE HEAD``: each side an exposition file or URL, a Parquet export, or a
    snapshot id of ``db``; ``budgets`` are evaluated on HEAD."""
    import tempfile

    from costscope.analyze.diff import diff_analyses

    cfg = config or Config()
    with tempfile.TemporaryDirectory(prefix="costscope-diff-") as tmp:
        before = _side(base, cfg, db, Path(tmp))
        after = _side(head, cfg, db, Path(tmp))
    diff = diff_analyses(before, after, base, head)
    return replace(diff, breaches=apply_budgets(after, budgets).breaches)


def run_plan(
    store: Store,
    sources: Sequence[str] = (),
    config: Config | None = None,
    *,
    risk_up_to: str = "none",
    top: int | None = None,
    ranks: Sequence[int] | None = None,
    kind: str = "auto",
    run_id: str | None = None,
) -> tuple[SnapshotRun, Plan]:
    """``costscope plan``: collect and analyze a new snapshot, then the bill after the chosen actions
    applied together (every action up to ``risk_up_to``, the first ``top``, or those ``ranks``)."""
    run, analysis = run_analysis(store, sources, config, kind=kind, run_id=run_id, show_values=True)
    try:
        actions = choose_actions(analysis.recommendations, risk_up_to, top, ranks)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    return run, make_plan(store, analysis, actions)
