"""A plan written out: ``plan.json`` and each chosen action's config, ready to paste; and its summary."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.markup import escape

from costscope.recommend.plan import Plan
from costscope.recommend.plan_exports import alloy_process, plan_exports
from costscope.recommend.plan_prometheus import RULES_FILE, patch_prometheus_config, prometheus_plan
from costscope.report.terminal import money

__all__ = ["plan_document", "plan_files", "print_plan", "write_plan"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def plan_document(plan: Plan) -> dict[str, object]:
    """The plan as a JSON-ready document."""
    return {
        "cost_model": plan.cost_model,
        "bill_before": {k: round(v, 6) for k, v in plan.bill_before.items()},
        "bill_after": {k: round(v, 6) for k, v in plan.bill_after.items()},
        "total_before": round(plan.total_before, 6),
        "total_after": round(plan.total_after, 6),
        "actions": plan.actions.select(
            "rank",
            "kind",
            "target",
            "metric",
            "labels",
            "points",
            "monthly_savings",
            "series_saved",
            "risk_level",
            "risk",
        ).to_dicts(),
        "metrics": plan.metrics.filter(
            plan.metrics["series_after"] != plan.metrics["series_before"]
        ).to_dicts(),
        "jobs": plan.jobs.to_dicts(),
        "teams": plan.teams.to_dicts(),
    }


class _NoAliases(yaml.SafeDumper):
    """A config is pasted by people: every rule written out in full, never as an alias."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def _yaml(header: str, doc: object) -> str:
    comment = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return comment + yaml.dump(doc, Dumper=_NoAliases, sort_keys=False, allow_unicode=True, width=4096)


def _json(doc: object) -> str:
    return json.dumps(doc, indent=1) + "\n"


_HOW = {
    "prometheus/scrape_configs.yml": "Under each scrape job of prometheus.yml: what never enters the TSDB",
    f"prometheus/{RULES_FILE}": "Listed in rule_files: the aggregations, recorded locally as <sample>:costscope_kept",
    "prometheus/remote_write.yml": "Under the remote_write entry of the billed backend: raw series of aggregated"
    " metrics stay local, aggregates take the metric's name, Prometheus' own series that nothing reads are dropped",
    "prometheus/prometheus.yml": "Your prometheus.yml (--prometheus-config) with all of the above applied",
    "otelcol/processors.yaml": "OpenTelemetry Collector (contrib): add these processors to the pipelines of their signal",
    "promtail/pipeline_stages.yaml": "Promtail: the scrape config's pipeline_stages",
    "alloy/costscope.alloy": "Grafana Alloy: one loki.process component (set forward_to to your writer)",
    "refinery/rules.yaml": "Refinery: rules.yaml",
    "jaeger/strategies.yaml": "Jaeger: --sampling.strategies-file",
    "exports/grafana-adaptive-metrics.json": "Grafana Cloud Adaptive Metrics: POST to /aggregations/rules"
    " (the HTTP API, with the If-Match etag)",
    "exports/vmagent-relabel.yml": "vmagent: -remoteWrite.urlRelabelConfig",
    "exports/vmagent-stream-aggr.yml": "vmagent (1.86+): -remoteWrite.streamAggr.config",
    "exports/datadog-metrics-without-limits.json": "Datadog: each element the body of POST /api/v2/metrics/{id}/tags"
    " (Prometheus names: add your check's namespace)",
}


def plan_files(plan: Plan, prometheus_config: str | None = None) -> tuple[dict[str, str], list[str]]:
    """Each file of the plan's folder by its relative path (every target's config, ready to paste)
    and the notes on what a target could not take."""
    pp = prometheus_plan(plan)
    ex = plan_exports(plan)
    notes = [*pp.notes, *ex.notes]
    files: dict[str, str] = {}
    if any(pp.metric_relabel.values()):
        jobs = [
            {"job_name": job, "metric_relabel_configs": rules}
            for job, rules in sorted(pp.metric_relabel.items())
            if rules
        ]
        files["prometheus/scrape_configs.yml"] = _yaml(
            _HOW["prometheus/scrape_configs.yml"], {"scrape_configs": jobs}
        )
    if pp.rules:
        files[f"prometheus/{RULES_FILE}"] = _yaml(_HOW[f"prometheus/{RULES_FILE}"], pp.rule_file)
    if pp.write_relabel:
        remote = {
            "remote_write": [
                {"url": "https://backend.example/api/v1/write", "write_relabel_configs": pp.write_relabel}
            ]
        }
        files["prometheus/remote_write.yml"] = _yaml(_HOW["prometheus/remote_write.yml"], remote)
    if prometheus_config is not None:
        patched, more = patch_prometheus_config(prometheus_config, pp)
        files["prometheus/prometheus.yml"] = patched
        notes.extend(more)
    docs: dict[str, Any] = ex.documents
    if "otelcol" in docs:
        files["otelcol/processors.yaml"] = _yaml(_HOW["otelcol/processors.yaml"], docs["otelcol"])
    stages = (docs.get("promtail") or {}).get("pipeline_stages") or []
    if stages:
        files["promtail/pipeline_stages.yaml"] = _yaml(
            _HOW["promtail/pipeline_stages.yaml"], {"pipeline_stages": stages}
        )
        files["alloy/costscope.alloy"] = "// " + _HOW["alloy/costscope.alloy"] + "\n" + alloy_process(stages)
    for place, path in (("refinery", "refinery/rules.yaml"), ("jaeger", "jaeger/strategies.yaml")):
        if place in docs:
            files[path] = _yaml(_HOW[path], docs[place])
    for place, path in (("adaptive_metrics", "exports/grafana-adaptive-metrics.json"),
                        ("datadog", "exports/datadog-metrics-without-limits.json")):  # fmt: skip
        if place in docs:
            files[path] = _json(docs[place])
    for place, path in (("vmagent_relabel", "exports/vmagent-relabel.yml"),
                        ("vmagent_stream_aggr", "exports/vmagent-stream-aggr.yml")):  # fmt: skip
        if place in docs:
            files[path] = _yaml(_HOW[path], docs[place])
    files["README.md"] = _readme(plan, files, notes)
    return files, notes


def _readme(plan: Plan, files: dict[str, str], notes: list[str]) -> str:
    lines = [
        "# costscope plan",
        "",
        f"{plan.actions.height} action(s): {money(plan.total_before)} → {money(plan.total_after)} a month"
        f" ({plan.cost_model}). `plan.json` has the bill per signal, metric, job and team; `actions/` each"
        " action's own config.",
        "",
        "| file | where it goes |",
        "|---|---|",
        *(f"| `{path}` | {_HOW[path]} |" for path in sorted(files) if path in _HOW),
    ]
    if notes:
        lines += ["", "## Notes", "", *(f"- {n}" for n in notes)]
    return "\n".join(lines) + "\n"


def write_plan(
    plan: Plan, out: Path, prometheus_config: str | None = None, files: Mapping[str, str] | None = None
) -> list[Path]:
    """Write ``out/plan.json``, one folder per target (``files``, else ``plan_files``) and
    ``out/actions/<rank>-<kind>-<target>.yaml``; returns the files."""
    actions = out / "actions"
    actions.mkdir(parents=True, exist_ok=True)
    written = [out / "plan.json"]
    written[0].write_text(json.dumps(plan_document(plan), indent=1, default=str) + "\n", encoding="utf-8")
    if files is None:
        files, _ = plan_files(plan, prometheus_config)
    for relative, text in files.items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    for row in plan.actions.iter_rows(named=True):
        # a file name made of telemetry is data: only safe characters, never a path
        stem = _UNSAFE.sub("_", f"{row['rank']:02d}-{row['kind']}-{row['target']}")[:120]
        path = actions / f"{stem}.yaml"
        path.write_text(
            f"# {row['kind']}: {row['target']}\n# risk: {row['risk']}\n{row['config']}", encoding="utf-8"
        )
        written.append(path)
    return written


def print_plan(
    plan: Plan,
    console: Console,
    out: Path | None = None,
    files: Mapping[str, str] | None = None,
    notes: Sequence[str] = (),
) -> None:
    """The plan's bill and its actions, as terminal lines; with ``out``, the ``files`` written there
    (``plan_files``) and the ``notes`` on what a target could not take."""
    console.print(
        f"Plan: {plan.actions.height} action(s): {money(plan.total_before)} → {money(plan.total_after)}/month"
        f" ({money(plan.total_before - plan.total_after)} less) [dim]({escape(plan.cost_model)})[/]"
    )
    for signal, before in plan.bill_before.items():
        console.print(f"  {signal}: {money(before)} → {money(plan.bill_after.get(signal, before))}")
    for row in plan.actions.iter_rows(named=True):
        console.print(
            f"  #{row['rank']} {escape(row['kind'])}: {escape(row['target'])} [dim]({escape(row['risk_level'])})[/]",
            soft_wrap=True,
        )
    inexact = plan.metrics.filter(~plan.metrics["exact"])
    if inexact.height:
        console.print(
            f"[yellow]{inexact.height} metric(s) counted inside their backend: their figures are the actions' own,"
            " not recounted together[/]"
        )
    if out is not None:
        if files is None:
            files, notes = plan_files(plan)
        places = sorted({p.split("/", 1)[0] for p in files if "/" in p})
        console.print(
            f"Written: {escape(str(out / 'plan.json'))}, {escape(str(out / 'README.md'))}, config per target"
            f" ({escape(', '.join(places))}) and {plan.actions.height} action config(s) under {escape(str(out / 'actions'))}",
            soft_wrap=True,
        )
        for note in notes:
            console.print(f"  [dim]note: {escape(note)}[/]", soft_wrap=True)
