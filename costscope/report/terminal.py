"""The terminal summary of ``costscope analyze``: what it costs, what to cut first, what broke."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from costscope.analyze import Analysis
from costscope.display import human_duration, share
from costscope.recommend.sampling import policy_config
from costscope.simulate.engine import Simulation

TOP = 10
MAX_ERRORS = 20  # a run's errors shown one a line; the rest counted
MAX_WARNINGS = 5


def money(value: float) -> str:
    """``$1,234.56`` (no cents above $10k, where they are noise)."""
    return f"${value:,.0f}" if abs(value) >= 10_000 else f"${value:,.2f}"


def print_summary(
    analysis: Analysis, console: Console, report: Path | None = None, json_path: str | None = None
) -> None:
    """Print the headline, top metrics, top label cuts, top actions, problems and timings."""
    for part in (_headline_and_problems, _bill, _signals, _usage, _tables):
        part(analysis, console)
    if analysis.timings:
        stages = ", ".join(f"{k} {v:.2f}s" for k, v in analysis.timings.items())
        console.print(f"[dim]timings: {stages}[/]")
    if report is not None:
        console.print(f"Report: [bold]{escape(str(report))}[/]")
    if json_path not in (None, "-"):
        console.print(f"JSON: {escape(str(json_path))}")


def _headline_and_problems(analysis: Analysis, console: Console) -> None:
    """The headline, then what failed or was skipped."""
    status = analysis.status
    head = (
        f"[bold]{analysis.total_series:,}[/] active series · "
        f"[bold]{money(analysis.total_monthly_cost)}[/]/month "
        f"({escape(analysis.cost_model.describe())}) · snapshot {analysis.snapshot_id} \\[{status}]"
    )
    console.print(head)
    if caveat := analysis.cost_model.caveat():
        console.print(f"[dim]{escape(caveat)}[/]")
    errors, warnings = analysis.failures, analysis.warnings
    if errors.height:
        console.print(f"[red]{errors.height} source error(s) — the snapshot is {status}:[/]")
        for row in errors.head(MAX_ERRORS).iter_rows(named=True):
            # soft-wrapped: a path or URL stays whole, to copy
            console.print(f"  [red]✗[/] {escape(row['source'])}: {escape(row['message'])}", soft_wrap=True)
        if errors.height > MAX_ERRORS:  # a folder of a hundred broken files: the report lists them all
            console.print(
                f"  [red]… and {errors.height - MAX_ERRORS} more[/] (the report's data quality and --json list all)"
            )
    if warnings.height:
        # some inputs gave nothing (a LICENSE file, an empty log), some were read with a caveat
        console.print(f"[yellow]{warnings.height} input warning(s):[/]")
        for row in warnings.head(MAX_WARNINGS).iter_rows(named=True):
            console.print(f"  [yellow]![/] {escape(row['message'])}", soft_wrap=True)
        if warnings.height > MAX_WARNINGS:
            console.print(
                f"  … and {warnings.height - MAX_WARNINGS} more (the report's data quality lists all)"
            )
    _counted(analysis, console)
    skipped = int(analysis.sources["skipped_lines"].sum()) if analysis.sources.height else 0
    if skipped:
        console.print(f"[yellow]{skipped:,} malformed line(s) skipped (lenient mode)[/]")


def _counted(analysis: Analysis, console: Console) -> None:
    """Sources counted inside their backend: why, and what it asked of the backend."""
    if "collect" not in analysis.sources.columns:
        return
    for row in analysis.sources.filter(pl.col("collect") == "counts").iter_rows(named=True):
        samples = f", {row['query_samples']:,} samples touched" if row["query_samples"] is not None else ""
        slowest = json.loads(row["slowest_queries"] or "[]")
        worst = f"; slowest {slowest[0]['seconds']:.2f} s" if slowest else ""
        console.print(
            f"{escape(row['source'])}: counted inside the backend ({escape(row['collect_reason'])}):"
            f" {row['queries']:,} queries, {row['query_seconds'] or 0:.1f} s{samples}{worst}",
            soft_wrap=True,
        )
    drops = analysis.label_drops
    if "coverage" in drops.columns and (drops["coverage"] == "cardinality_only").any():
        exact = drops.filter(pl.col("coverage") == "exact")["metric"].n_unique()
        rest = drops.filter(pl.col("coverage") == "cardinality_only")["metric"].n_unique()
        covered = (
            drops.filter(pl.col("coverage") == "exact").group_by("metric").agg(pl.col("series_before").max())
        )
        share = float(covered["series_before"].sum()) / max(analysis.total_series, 1)
        console.print(
            f"label economics exact for the {exact} largest counted metric(s) ({share:.0%} of the series);"
            f" values and carriers only for {rest} more (raise exact_top to count them)"
        )
    labels = analysis.labels
    if "coverage" in labels.columns and (labels["coverage"] != "exact").any():
        bounds = labels.filter(pl.col("coverage") != "exact")
        said = ", ".join(
            f"{lb} ({c.replace('_', ' ')})" for lb, c in bounds.select("label", "coverage").head(5).rows()
        )
        console.print(
            f"distinct values not exact for {bounds.height} label(s): {escape(said)}"
            " — several sources added (upper bound) or a union the server refused (lower bound)",
            soft_wrap=True,
        )
    if analysis.uncounted_keep_sets.height:
        console.print(
            f"[yellow]{analysis.uncounted_keep_sets.height} keep set(s) not counted by their backend"
            " (their savings are left out)[/]"
        )


def _bill(analysis: Analysis, console: Console) -> None:
    """What shapes the bill: DPM billing, the change since the baseline, budgets breached."""
    dpm = analysis.dpm.filter(pl.col("factor") > 1)
    if dpm.height:
        jobs = ", ".join(f"{escape(j)} ×{f:.1f}" for j, f in dpm.select("job", "factor").head(5).iter_rows())
        console.print(
            f"{dpm.height} job(s) billed on data points per minute rather than series"
            f" (scraped more often than once a minute): {jobs}"
        )
    if analysis.trends is not None:
        trend = analysis.trends
        totals = trend.changes.filter(pl.col("dimension") == "total")
        delta = float(totals["cost_delta"].sum())
        sign = "+" if delta >= 0 else "-"
        grew = trend.growers("metric", 3).filter(pl.col("cost_delta") > 0.005)
        names = ", ".join(f"{escape(k)} +{money(d)}" for k, d in grew.select("key", "cost_delta").iter_rows())
        console.print(
            f"Since snapshot {trend.baseline_id} ({trend.baseline_started_at[:16]}): {sign}{money(abs(delta))}/month"
            + (f"; grew most: {names}" if names else "")
        )
    if analysis.plan_bill is not None and analysis.plan_bill[0]:
        n, before, after = analysis.plan_bill
        console.print(
            f"Plan: {n} action(s) that break nothing take the bill from {money(before)} to"
            f" [bold]{money(after)}[/]/month together (costscope plan --out DIR writes them)"
        )
    for breach in analysis.breaches:
        console.print(f"[red]over budget[/] {escape(breach.describe())}")


def _signals(analysis: Analysis, console: Console) -> None:
    """Logs and traces, one line each."""
    logs = analysis.logs
    if logs.known:
        top = logs.templates.head(1).row(0, named=True) if logs.templates.height else None
        by_service = (
            logs.volume.group_by("service")
            .agg(pl.col("monthly_cost").sum())
            .sort("monthly_cost", descending=True)
        )
        worst = by_service.row(0, named=True) if by_service.height else None
        console.print(
            f"Logs: {money(logs.monthly_cost)}/month"
            + (
                f"; most from {escape(str(worst['service']))} ({money(worst['monthly_cost'])})"
                if worst
                else ""
            )
            + (
                f"; top statement: [bold]{escape(top['template'][:70])}[/] ({money(top['monthly_cost'])})"
                if top
                else ""
            )
        )
    sim = analysis.traces.sampling
    if analysis.traces.known:
        line = f"Traces: {money(analysis.traces.monthly_cost)}/month"
        if sim is not None and sim.recommended:
            row = sim.summary.filter(pl.col("policy") == sim.recommended).row(0, named=True)
            line += (
                f"; sampling [bold]{escape(sim.recommended)}[/] keeps {row['kept_share']:.1%} of spans,"
                f" {share(row['error_traces_kept'])} of error traces, saves {money(row['monthly_savings'])}"
            )
        elif sim is not None:
            line += "; no sampling policy compared meets the constraints"
        console.print(line)


def _usage(analysis: Analysis, console: Console) -> None:
    """Who reads what, the broken readers, the risky labels."""
    usage = analysis.usage.summary()
    if usage["known"]:
        readers = ", ".join(
            f"{usage[k]} {name}{'' if usage[k] == 1 else 's'}" for k, name in
            (("dashboards", "dashboard"), ("alerts", "alert"), ("recording_rules", "recording rule"), ("slos", "SLO"))
        )  # fmt: skip
        if usage["queries"]:
            days = usage["query_window_days"]
            span = f" over {days:.1f} days" if days is not None else ""
            readers += f", {usage['queries']:,} logged queries run {usage['query_runs']:,} times{span}"
        console.print(
            f"Usage ({readers}): {usage['metrics_used']} metrics read, {usage['metrics_unused']} read by nothing"
            f" ({usage['unused_series']:,} series, {money(usage['unused_monthly_cost'])}/month)"
            + (f"; [yellow]{usage['problems']} queries could not be read[/]" if usage["problems"] else "")
            + (
                f"; {usage['every_series_readers']} select every series and read no metric in particular"
                if usage["every_series_readers"]
                else ""
            )
        )
    else:
        console.print("[dim]Usage unknown: add dashboards and rules to see what each action would break.[/]")
    missing = analysis.usage.missing.filter(pl.col("kind") != "query")
    if missing.height:
        broken = missing.unique(["kind", "name"], maintain_order=True)
        named = ", ".join(
            f"{escape(k.replace('_', ' '))} {escape(n)} ({escape(m)})"
            for k, n, m in broken.select("kind", "name", "metric").head(3).iter_rows()
        )
        more = f" and {broken.height - 3} more" if broken.height > 3 else ""
        console.print(f"[red]{broken.height} reader(s) read metrics no source has — broken: {named}{more}[/]")
    never = analysis.usage.not_ingested()
    if never.height:
        names = ", ".join(escape(m) for m in never["metric"].head(4))
        more = f" and {never.height - 4} more" if never.height > 4 else ""
        console.print(
            f"[yellow]Queried but never ingested: {never.height} metric(s) logged queries read and no source has:"
            f" {names}{more}[/]"
        )
    risky = analysis.risky_labels
    if risky.height:
        names = ", ".join(escape(x) for x in risky["label"].head(6))
        console.print(f"[yellow]{risky.height} risky label(s) (ID-like or unbounded): {names}[/]")


def _metrics_table(analysis: Analysis, console: Console) -> None:
    t = Table(title="Top metrics by cost", title_justify="left")
    for col, just in (
        ("metric", "left"),
        ("type", "left"),
        ("series", "right"),
        ("share", "right"),
        ("monthly", "right"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in analysis.metrics.head(TOP).iter_rows(named=True):
        t.add_row(
            escape(r["metric"]),
            r["type"],
            f"{r['series']:,}",
            f"{r['share']:.1%}",
            money(r["monthly_cost"]),
        )
    console.print(t)


def _tables(analysis: Analysis, console: Console) -> None:
    """Top metrics, top labels, top actions."""
    if analysis.metrics.height:
        _metrics_table(analysis, console)

    labels = analysis.labels.head(5)
    if labels.height:
        t = Table(title="Top labels by distinct values", title_justify="left")
        for col, just in (("label", "left"), ("values", "right"), ("metrics", "right"), ("risk", "left")):
            t.add_column(col, justify=just)  # type: ignore[arg-type]
        for r in labels.iter_rows(named=True):
            t.add_row(
                escape(r["label"]),
                f"{r['label_values']:,}",
                f"{r['metrics'] or 0:,}",
                escape(r["reason"] or ""),
            )
        console.print(t)

    recs = analysis.recommendations
    if recs.height:
        t = Table(title="Top actions", title_justify="left")
        for col, just in (
            ("#", "right"),
            ("action", "left"),
            ("series saved", "right"),
            ("saves/month", "right"),
            ("breaks", "left"),
        ):
            t.add_column(col, justify=just)  # type: ignore[arg-type]
        for r in recs.head(5).iter_rows(named=True):
            t.add_row(
                str(r["rank"]),
                escape(f"{r['kind']}: {r['target']}"),
                f"{r['series_saved']:,}",
                money(r["monthly_savings"]),
                r["risk_level"],
            )
        console.print(t)
        console.print(
            f"{recs.height} actions; each saving is against today's bill, and actions on the same series"
            " overlap, so they don't add up."
        )
    elif analysis.metrics.height:
        console.print("No label cut saves 10% or more of any metric.")
    else:
        console.print("No action to recommend.")


def print_simulation(sim: Simulation, console: Console) -> None:
    """``costscope simulate traces``: the policies side by side, the recommended one's config."""
    table = Table(
        title=f"Sampling policies on {human_duration(sim.period_s)} of traffic", title_justify="left"
    )
    for col in (
        "policy",
        "spans kept",
        "monthly",
        "saves",
        "errors kept",
        "slow kept",
        "worst p99 err",
        "RED",
    ):
        table.add_column(col, justify="left" if col == "policy" else "right")
    for r in sim.summary.iter_rows(named=True):
        mark = " ★" if r["policy"] == sim.recommended else ""
        table.add_row(
            escape(r["policy"]) + mark, f"{r['kept_share']:.1%}", f"${r['monthly_cost']:,.2f}",
            f"${r['monthly_savings']:,.2f}", share(r["error_traces_kept"], 1), share(r["slow_traces_kept"], 1),
            "-" if r["worst_p99_error"] is None else f"{r['worst_p99_error']:.1%}",
            "estimable" if r["estimable"] else "not estimable",
        )  # fmt: skip
    console.print(table)
    if sim.recommended:
        console.print(f"Recommended: [bold]{escape(sim.recommended)}[/] (★), config:")
        console.print(policy_config(sim.policy(sim.recommended)), markup=False, highlight=False)
    else:
        console.print("[yellow]No policy meets the constraints; relax them or add policies.[/]")
