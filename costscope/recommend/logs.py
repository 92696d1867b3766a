"""Log actions: drop, sample, truncate, drop a level, log-to-metric — with config to paste.

One action per template (a DEBUG template of a service whose DEBUG level can go is covered by
``drop_level``): DEBUG templates are dropped, chatty INFO events become counters, other large
templates are sampled at ``SAMPLE_PERCENT``; oversized lines are truncated. Error lines and lines
carrying a trace id are what a cut loses that hurts: an action that loses them is never "safe"
(``risk_level`` ``errors`` or ``trace_links``). Config: OpenTelemetry Collector (``filter``,
``transform``, ``probabilistic_sampler`` in a routed pipeline) and Grafana Alloy / Promtail stages.
"""

from __future__ import annotations

import polars as pl

from costscope.analyze.log_readers import readers_of, template_lines
from costscope.analyze.logs import SAMPLE_PERCENT, LogsAnalysis
from costscope.analyze.readers import listing
from costscope.ingest.logs import TRUNCATE_BYTES
from costscope.pricing import CostModel
from costscope.recommend.metrics import yaml_str as _yaml_str
from costscope.recommend.model import BREAKING, Recommendation

_RE2_META = set("\\.^$|?*+()[]{}")


def template_regex(template: str) -> str:
    """A regex (RE2 and Python alike) matching the lines of a template: literals escaped, ``<*>`` → ``.*``."""
    parts = ["".join("\\" + c if c in _RE2_META else c for c in part) for part in template.split("<*>")]
    return ".*".join(parts).strip()


def _otel_string(value: str) -> str:
    """A string literal of the collector's OTTL (double quotes, backslash escapes)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _drop_config(regex: str, service: str | None) -> str:
    ottl = f"IsMatch(body, {_otel_string(regex)})"
    if service:
        ottl += f' and resource.attributes["service.name"] == {_otel_string(service)}'
    return (
        "# OpenTelemetry Collector: drop the lines of this template\n"
        f"processors:\n  filter/costscope:\n    error_mode: ignore\n    logs:\n      log_record:\n"
        f"        - {_yaml_str(ottl)}\n"
        "---\n"
        "# Grafana Alloy (loki.process) or Promtail pipeline_stages\n"
        f"pipeline_stages:\n  - drop:\n      expression: {_yaml_str(regex)}\n"
    )


def _sample_config(regex: str, service: str | None, percent: int) -> str:
    selector = f'{{service_name="{service}"}}' if service else "{}"
    return (
        f"# Grafana Alloy (loki.process) or Promtail pipeline_stages: keep {percent}% of these lines\n"
        f"pipeline_stages:\n  - match:\n      selector: {_yaml_str(selector + ' |~ ' + _otel_string(regex))}\n"
        f"      stages:\n        - sampling:\n            rate: {percent / 100:g}\n"
        "---\n"
        "# OpenTelemetry Collector: route these lines through a sampled pipeline\n"
        f"processors:\n  probabilistic_sampler/costscope:\n    sampling_percentage: {percent}\n"
        f"connectors:\n  routing/costscope:\n    table:\n"
        f"      - condition: {_yaml_str(f'IsMatch(body, {_otel_string(regex)})')}\n"
        f"        pipelines: [logs/sampled]\n"
    )


def _truncate_config(limit: int) -> str:
    return (
        f"# OpenTelemetry Collector: truncate log bodies longer than {limit} bytes\n"
        f"processors:\n  transform/costscope:\n    error_mode: ignore\n    log_statements:\n"
        f"      - context: log\n        statements:\n"
        f"          - {_yaml_str(f'set(body, Substring(body, 0, {limit})) where IsString(body) and Len(body) > {limit}')}\n"
    )


def _level_config(service: str, level: str) -> str:
    number = {"DEBUG": "SEVERITY_NUMBER_INFO", "TRACE": "SEVERITY_NUMBER_DEBUG"}[level]
    ottl = f'severity_number < {number} and resource.attributes["service.name"] == {_otel_string(service)}'
    return (
        f"# OpenTelemetry Collector: drop {level} lines of {service}\n"
        f"processors:\n  filter/costscope:\n    error_mode: ignore\n    logs:\n      log_record:\n"
        f"        - {_yaml_str(ottl)}\n"
        "---\n"
        "# Grafana Alloy (loki.process) or Promtail pipeline_stages, for this service's logs\n"
        f"pipeline_stages:\n  - match:\n      selector: {_yaml_str(f'{{service_name={_otel_string(service)}}}')}\n"
        f"      stages:\n        - drop:\n            source: level\n            value: {_yaml_str(level.lower())}\n"
    )


def _metric_config(regex: str, name: str) -> str:
    return (
        "# Grafana Alloy (loki.process) or Promtail pipeline_stages: count the event, drop the line\n"
        f"pipeline_stages:\n  - match:\n      selector: {_yaml_str('{} |~ ' + _otel_string(regex))}\n"
        f"      stages:\n        - metrics:\n            {name}:\n              type: Counter\n"
        f"              description: 'lines of a log template, counted instead of stored'\n"
        f"              config:\n                match_all: true\n                action: inc\n"
        f"        - drop:\n            expression: '.*'\n"
    )


def _risk(errors: float, traces: float, what: str) -> tuple[str, str]:
    if errors >= 1:
        return f"loses {errors:,.0f} error lines{what}", "errors"
    if traces >= 1:
        return f"loses {traces:,.0f} lines carrying a trace id (their link from traces){what}", "trace_links"
    return f"none known: no error lines, no trace ids{what}", "none"


def _guarded(
    logs: LogsAnalysis, service: str | None, level: str | None, lines: list[list[str]], risk: tuple[str, str]
) -> tuple[str, str]:
    """``risk``, or what breaks first where a LogQL dashboard, alert or rule reads the lines the action cuts."""
    readers = readers_of(list(logs.readers), service, level, lines)
    if not readers:
        return risk
    worst = max(readers, key=lambda r: BREAKING.get(r.kind, 0))
    level_of = worst.kind if BREAKING.get(worst.kind, 0) >= BREAKING.get(risk[1], 0) else risk[1]
    return f"breaks {listing(readers)} (LogQL reads these lines); {risk[0]}", level_of


def recommend_logs(logs: LogsAnalysis, model: CostModel) -> list[Recommendation]:
    """The log actions worth taking, one per template (plus levels and truncation)."""
    actions = logs.actions.filter(pl.col("monthly_savings") > 0)
    t = logs.templates
    texts = {
        r["template_id"]: template_lines(r["template"], r["example"])
        for r in t.select("template_id", "template", "example").iter_rows(named=True)
    }
    at_level: dict[tuple[str, str], list[list[str]]] = {}
    for r in t.select("template_id", "services", "level").iter_rows(named=True):
        for service in r["services"] or []:
            at_level.setdefault((service, r["level"]), []).append(texts[r["template_id"]])
    level_drops = actions.filter(pl.col("kind") == "drop_level")
    covered = {(r["service"], r["level"]) for r in level_drops.iter_rows(named=True)}
    recs = []
    for r in level_drops.iter_rows(named=True):
        lines = at_level.get((r["service"], r["level"]), [])
        level_risk = _guarded(
            logs, r["service"], r["level"], lines, (f"none known: {r['level']} lines only", "none")
        )
        recs.append(
            Recommendation(
                kind="drop_level",
                target=f"{r['level']} lines of {r['service']}",
                monthly_savings=round(float(r["monthly_savings"]), 2),
                series_saved=0,
                risk=level_risk[0],
                risk_level=level_risk[1],
                evidence=f"{r['service']} logs {r['lines']:,} {r['level']} lines, {r['bytes_saved_month'] / 1e9:,.2f} GB a month",
                config=_level_config(r["service"], r["level"]),
                cost_model=model.describe(),
            )
        )
    chosen: set[str] = set()
    preference = {"log_to_metric": 0, "drop_template": 1, "sample_template": 2, "truncate_lines": 3}
    candidates = actions.filter(pl.col("template_id").is_not_null()).with_columns(
        pref=pl.col("kind").replace_strict(preference, default=9)
    )
    for r in candidates.sort(["template_id", "pref"]).iter_rows(named=True):
        tid, kind, level = r["template_id"], r["kind"], r["level"]
        if kind == "truncate_lines":
            recs.append(_truncate(r, model))
            continue
        if tid in chosen or (r["service"], level) in covered:
            continue
        if kind == "drop_template" and level not in ("DEBUG", "TRACE"):
            continue  # a template that says more than DEBUG is sampled or counted, not dropped
        if kind == "log_to_metric" and (r["lost_error_lines"] or r["lost_trace_lines"]):
            continue
        chosen.add(tid)
        regex = template_regex(r["template"])
        if kind == "sample_template":
            risk, risk_level = _risk(
                r["lost_error_lines"],
                r["lost_trace_lines"],
                f"; counts stay estimable (× {100 // SAMPLE_PERCENT})",
            )
            config = _sample_config(regex, r["service"], SAMPLE_PERCENT)
            target = f"keep {SAMPLE_PERCENT}% of '{r['template']}'"
        elif kind == "log_to_metric":
            risk, risk_level = _risk(0, 0, "; the line's variable parts are not kept")
            name = f"log_template_{tid}_total"
            config = _metric_config(regex, name)
            target = f"count '{r['template']}' as a metric"
        else:
            risk, risk_level = _risk(r["lost_error_lines"], r["lost_trace_lines"], "")
            config = _drop_config(regex, r["service"])
            target = f"drop '{r['template']}'"
        risk, risk_level = _guarded(
            logs, r["service"], level, [texts.get(tid, [r["template"]])], (risk, risk_level)
        )
        recs.append(
            Recommendation(
                kind=kind,
                target=target,
                monthly_savings=round(float(r["monthly_savings"]), 2),
                series_saved=0,
                risk=risk,
                risk_level=risk_level,
                evidence=(
                    f"{r['lines']:,} {level or 'unlevelled'} lines of {r['service']}, "
                    f"{r['bytes_saved_month'] / 1e9:,.2f} GB a month saved"
                ),
                config=config,
                cost_model=model.describe(),
            )
        )
    return recs


def _truncate(r: dict[str, object], model: CostModel) -> Recommendation:
    saved = float(r["bytes_saved_month"])  # type: ignore[arg-type]
    return Recommendation(
        kind="truncate_lines",
        target=f"lines over {TRUNCATE_BYTES} bytes of '{r['template']}'",
        monthly_savings=round(float(r["monthly_savings"]), 2),  # type: ignore[arg-type]
        series_saved=0,
        risk=f"the end of lines longer than {TRUNCATE_BYTES} bytes (stack traces, payload dumps)",
        risk_level="coarser",
        evidence=f"{saved / 1e9:,.2f} GB a month beyond {TRUNCATE_BYTES} bytes per line",
        config=_truncate_config(TRUNCATE_BYTES),
        cost_model=model.describe(),
    )
