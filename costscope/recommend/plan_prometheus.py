"""A plan's metric actions as Prometheus configuration: what goes at scrape time, what is recorded
and what stays local.

A paid backend bills what reaches it, so the plan works in three places of a Prometheus (or
Agent) that ``remote_write``\\ s to it:

- ``metric_relabel_configs`` per scrape job: dropped metrics and the bucket series of dropped
  bounds never enter the TSDB.
- A rule file records each aggregated sample under ``<sample>:costscope_kept`` with the labels no
  reader needs summed away. The local name differs on purpose: recording under the metric's own
  name would let the next evaluation (and the user's own rules) read the aggregate beside the raw
  series and count them twice.
- ``write_relabel_configs``: the raw series of aggregated metrics stay local, the aggregates take
  the metric's name on the way out (the backend sees the metric with fewer labels, as Grafana's
  Adaptive Metrics does), and dropped metrics and buckets are dropped again: those Prometheus
  makes itself (``up``, ``scrape_*``, rule outputs) no ``metric_relabel_configs`` reaches, and a
  scrape-time drop writes one staleness marker per series it ends, which would reach the backend.

Every document is plain YAML; the test suite runs ``promtool check config`` and ``check rules``
on them and applies them to a real Prometheus writing to a real VictoriaMetrics.
"""

from __future__ import annotations

import copy
import io
import re
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from costscope.errors import ConfigError
from costscope.recommend.plan import COUNTER_TYPES, Plan, metric_changes

__all__ = [
    "KEPT_SUFFIX",
    "RULES_FILE",
    "PrometheusPlan",
    "alternation",
    "drop_buckets",
    "drop_names",
    "load_prometheus_config",
    "patch_prometheus_config",
    "prometheus_plan",
]

KEPT_SUFFIX = ":costscope_kept"
RULES_FILE = "costscope-aggregations.rules.yml"
# series Prometheus writes itself: never scraped, so only write_relabel_configs can drop them
_SYNTHETIC = {"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling",
              "scrape_series_added", "ALERTS", "ALERTS_FOR_STATE"}  # fmt: skip
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def alternation(names: list[str]) -> str:
    """A regex matching exactly one of ``names`` (relabel regexes are anchored)."""
    return "|".join(re.escape(n) for n in names)


def drop_names(names: list[str]) -> dict[str, object]:
    """A relabel rule dropping the series of these sample names."""
    return {"source_labels": ["__name__"], "regex": alternation(names), "action": "drop"}


def drop_buckets(metric: str, bounds: list[str]) -> dict[str, object]:
    """A relabel rule dropping the bucket series of ``metric`` at these ``le`` bounds."""
    regex = f"{re.escape(metric + '_bucket')};({alternation(bounds)})"
    return {"source_labels": ["__name__", "le"], "regex": regex, "action": "drop"}


@dataclass(frozen=True)
class PrometheusPlan:
    """The plan's Prometheus side: relabelling per job, recording rules, remote-write relabelling."""

    metric_relabel: dict[str, list[dict[str, object]]]  # job -> metric_relabel_configs entries
    rules: list[dict[str, object]]  # recording rules (one group)
    write_relabel: list[dict[str, object]]  # write_relabel_configs entries
    aggregated: dict[str, tuple[str, ...]]  # sample -> the labels summed away
    notes: tuple[str, ...] = field(default=())

    @property
    def rule_file(self) -> dict[str, object]:
        """The rule file's document."""
        return (
            {"groups": [{"name": "costscope-aggregations", "rules": self.rules}]}
            if self.rules
            else {"groups": []}
        )


def _drops_at_scrape(
    shapes: pl.DataFrame, dropped: frozenset[str], points: dict[str, list[str]]
) -> dict[str, list[dict[str, object]]]:
    """Per job: one rule for every sample of its dropped metrics, one per bucket cut."""
    names: dict[str, list[str]] = {}
    buckets: dict[str, list[dict[str, object]]] = {}
    for row in shapes.iter_rows(named=True):
        metric, samples = row["metric"], [s for s in row["samples"] if s not in _SYNTHETIC and ":" not in s]
        for job in row["jobs"]:
            if metric in dropped:
                names.setdefault(job, []).extend(samples)
            elif points.get(metric):
                buckets.setdefault(job, []).append(drop_buckets(metric, points[metric]))
    out: dict[str, list[dict[str, object]]] = {}
    for job in sorted(set(names) | set(buckets)):
        rules = list(buckets.get(job, []))
        if names.get(job):
            rules.insert(0, drop_names(sorted(set(names[job]))))
        out[job] = rules
    return out


def prometheus_plan(plan: Plan) -> PrometheusPlan:
    """What the plan's metric actions become in a Prometheus that remote-writes to the billed backend."""
    changes = metric_changes(plan.actions)
    dropped, points = changes.dropped, changes.points
    notes: list[str] = []
    rules: list[dict[str, object]] = []
    aggregated: dict[str, tuple[str, ...]] = {}
    write_drops: list[str] = []
    summed: list[str] = []
    for row in plan.shapes.iter_rows(named=True):
        metric, samples = row["metric"], list(row["samples"])
        made_here = [s for s in samples if s in _SYNTHETIC or ":" in s]
        if metric in dropped:
            # every sample, not only those Prometheus makes: the staleness markers a scrape-time drop
            # writes once for each series it ends would otherwise reach the backend at the switch
            write_drops.extend(samples)
            if not row["jobs"] and len(made_here) < len(samples):
                notes.append(f"{metric}: no job exposes it, dropped in write_relabel_configs only")
            continue
        away = changes.away.get(metric, [])
        if not away:
            continue
        bad = [lb for lb in away if not _LABEL.match(lb)]
        if bad:
            notes.append(f"{metric}: labels PromQL cannot name ({', '.join(bad)}): not aggregated")
            continue
        for sample in samples:
            expr = f'sum without ({", ".join(away)}) ({{__name__="{sample}"}})'
            rules.append({"record": f"{sample}{KEPT_SUFFIX}", "expr": expr})
            aggregated[sample] = tuple(away)
        if row["type"] in COUNTER_TYPES or metric.endswith("_total"):
            summed.append(metric)
    if summed:
        notes.append(
            f"sums of counters are recorded for {', '.join(summed)}: rate() over a sum reads a reset whenever one"
            " summed series resets (a restarted pod), so it briefly overstates; increase() over long windows is unaffected"
            " between resets"
        )
    write: list[dict[str, object]] = []
    if aggregated:
        write.append(drop_names(sorted(aggregated)))
        write.append(
            {
                "source_labels": ["__name__"],
                "regex": f"(.+){re.escape(KEPT_SUFFIX)}",
                "target_label": "__name__",
                "replacement": "$1",
                "action": "replace",
            }
        )
    if write_drops:
        write.append(drop_names(sorted(set(write_drops))))
    # as above: the cut buckets' staleness markers stay local too
    write.extend(drop_buckets(metric, les) for metric, les in sorted(points.items()))
    return PrometheusPlan(
        _drops_at_scrape(plan.shapes, dropped, points), rules, write, aggregated, tuple(notes)
    )


def _round_trip() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    return yaml


def load_prometheus_config(text: str, name: str = "prometheus.yml") -> Any:
    """The user's ``prometheus.yml`` as a round-trip document (comments kept); a ConfigError names
    the line of what does not parse."""
    from ruamel.yaml.error import YAMLError

    try:
        doc = _round_trip().load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{name}{line}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{name}: not a Prometheus configuration (no mapping at the top)")
    return doc


def patch_prometheus_config(
    text: str, pp: PrometheusPlan, rule_file: str = RULES_FILE
) -> tuple[str, list[str]]:
    """``prometheus.yml`` with the plan applied (comments and order kept): each scrape job's
    ``metric_relabel_configs`` extended, the rule file added, every ``remote_write`` relabelled."""
    doc = load_prometheus_config(text)
    notes: list[str] = []
    jobs_seen = set()
    for job in doc.get("scrape_configs") or []:
        name = str(job.get("job_name")) if isinstance(job, dict) else ""
        if pp.metric_relabel.get(name):
            jobs_seen.add(name)
            job.setdefault("metric_relabel_configs", []).extend(copy.deepcopy(pp.metric_relabel[name]))
    for name in sorted(set(pp.metric_relabel) - jobs_seen):
        if pp.metric_relabel[name]:
            notes.append(
                f"job {name}: no scrape job of that name in prometheus.yml; its relabelling is in scrape_configs.yml"
            )
    if pp.rules:
        files = doc.get("rule_files")
        if files is None:
            doc["rule_files"] = files = []
        if rule_file not in files:
            files.append(rule_file)
    if pp.write_relabel:
        remotes = doc.get("remote_write") or []
        for remote in remotes:
            remote.setdefault("write_relabel_configs", []).extend(copy.deepcopy(pp.write_relabel))
        if not remotes:
            notes.append(
                "prometheus.yml has no remote_write: what a backend fed by it would not receive is in remote_write.yml"
            )
    out = io.StringIO()
    _round_trip().dump(doc, out)
    return out.getvalue(), notes
