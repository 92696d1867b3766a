"""The one registry of file kinds: what a file is, told by its content, and which source reads it.

A file's kind is inferred from what it holds — its first bytes (gzip and binary magic, a byte-order
mark), the top-level keys of a JSON document or of the first JSON line, a YAML document's ``kind``,
``apiVersion``, ``groups`` or ``slos``, the shape of its first text lines — and its name is only a
hint, used where the content alone is ambiguous (an empty YAML file named ``rules.yaml``, a broken
exposition dump named ``.prom``, whose parser then names the bad line). A file nothing recognises
is never read by guesswork: ``detect`` says what it looked like and which kinds were tried.

Adding a file kind is one ``FileKind`` entry here (its detector) and the module that reads it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from costscope.errors import InputWarning
from costscope.sources.dashboards import is_dashboard
from costscope.sources.folders import walk
from costscope.sources.log_files import LOG_SUFFIXES
from costscope.sources.metrics_file import EXPOSITION_SUFFIXES
from costscope.sources.otlp import file_signal, json_signal
from costscope.sources.parquet_export import MARKER as EXPORT_MARKER
from costscope.sources.query_logs import detect_document, detect_lines
from costscope.sources.recording import MANIFEST
from costscope.sources.rules import is_ruler_config, is_rules_answer
from costscope.sources.series_answer import is_series_answer
from costscope.sources.sniff import Sniff
from costscope.sources.usage_file import holds_usage
from costscope.sources.vm_export import is_vm_export
from costscope.sources.wrapped_logs import is_loki_streams

# --- detectors: content first ------------------------------------------------------------------

_TRACE_KEYS = ("resourceSpans", "resource_spans")
TRACE_FORMATS = ("otlp", "zipkin", "jaeger", "traces")  # trace files are often named for their format
_SAMPLE_LINE = re.compile(
    r"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})?[ \t]+[-+0-9.eEInfinityNa]+([ \t]+-?\d+)?[ \t]*(#.*)?$"
)
_DASHBOARD_HINT = re.compile(r'"(?:panels|rows|templating|schemaVersion|dashboard)"\s*:')
_EXPOSITION_COMMENT = re.compile(r"^#[ \t]*(HELP|TYPE|UNIT)[ \t]+[a-zA-Z_:]|^#[ \t]*EOF$")


def _is_trace_object(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    if any(k in doc for k in _TRACE_KEYS):
        return True
    result = doc.get("result")  # Jaeger's v3 API: {"result": {"resourceSpans": ...}}
    if isinstance(result, dict) and any(k in result for k in _TRACE_KEYS):
        return True
    trace = doc.get("trace")  # Tempo's v2 trace by id: {"trace": {"resourceSpans": ...}}
    if isinstance(trace, dict) and any(k in trace for k in _TRACE_KEYS):
        return True
    batches = doc.get("batches")  # Tempo's v1 trace by id: resourceSpans under another name
    if isinstance(batches, list) and batches and isinstance(batches[0], dict):
        return any(k in batches[0] for k in ("scopeSpans", "instrumentationLibrarySpans", "resource"))
    data = doc.get("data")  # Jaeger's query API: a list of traces, or one trace
    if isinstance(data, list) and all(isinstance(t, dict) and "spans" in t for t in data[:3]) and data:
        return True
    if isinstance(data, dict) and ("spans" in data or "traceID" in data):
        return True
    if "traceID" in doc and "spans" in doc:  # one exported Jaeger trace
        return True
    return "traceId" in doc and "id" in doc  # one Zipkin span


def is_traces(s: Sniff) -> bool:
    """OTLP ``resourceSpans`` (JSON or protobuf), a Jaeger answer or trace, or Zipkin v2 spans."""
    if s.binary:
        return file_signal(s.path) == "traces"
    if s.broken_json:  # named for a trace format: its reader says what is wrong, where
        return any(f".{fmt}." in s.name for fmt in TRACE_FORMATS)
    doc = s.first_object if s.json_lines else s.json
    if isinstance(doc, list):
        first = doc[0] if doc else None
        if isinstance(first, list):  # Zipkin: a list of traces
            first = first[0] if first else None
        return isinstance(first, dict) and "traceId" in first and "id" in first
    return _is_trace_object(doc)


def _otlp(s: Sniff, signal: str) -> bool:
    """OTLP JSON (a document or its first line) or protobuf of ``signal``."""
    if s.binary:
        return file_signal(s.path) == signal
    doc = s.first_object if s.json_lines else s.json
    return json_signal(doc) == signal


def is_otlp_metrics(s: Sniff) -> bool:
    """OTLP metrics: ``resourceMetrics`` JSON, or protobuf ``MetricsData`` (the collector's file exporter)."""
    return _otlp(s, "metrics")


def is_otlp_logs(s: Sniff) -> bool:
    """OTLP logs: ``resourceLogs`` JSON, or protobuf ``LogsData``."""
    return _otlp(s, "logs")


def is_grafana(s: Sniff) -> bool:
    """A Grafana dashboard JSON document; a broken ``.json`` one too, where its start reads like a
    dashboard (its reader then names the line). Other broken JSON is not recognised, and said so."""
    if s.broken_json:
        return s.has_suffix((".json",)) and bool(_DASHBOARD_HINT.search(s.text))
    return is_dashboard(s.document)


def _yaml_kinds(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    kind = str(doc.get("kind") or "")
    api = str(doc.get("apiVersion") or "")
    if kind in ("PrometheusRule", "PrometheusServiceLevel", "ServiceLevelObjective", "SLO"):
        return True
    if api.startswith(("openslo/", "sloth.slok.dev/", "pyrra.dev/", "monitoring.coreos.com/")):
        return True
    if str(doc.get("version") or "").startswith("prometheus/") and "slos" in doc:
        return True
    return isinstance(doc.get("groups"), list) or is_ruler_config(doc)


def is_series(s: Sniff) -> bool:
    """A ``/api/v1/series`` answer, or a VictoriaMetrics export: the label sets of a server."""
    return is_vm_export(s) or is_series_answer(s.document)


def is_rules(s: Sniff) -> bool:
    """Prometheus/Loki rule files, ``PrometheusRule`` resources, Sloth, OpenSLO and Pyrra SLOs, a
    server's ``/api/v1/rules`` answer saved to a file, and Kubernetes resources that carry any of
    these or dashboards (ConfigMaps, lists of resources, grafana-operator's ``GrafanaDashboard``), and
    dashboards written as YAML (a ``PersesDashboard`` resource).

    An empty YAML file (or one holding only ``null`` or ``{}``, as some mixins publish) named ``.yml``
    or ``.yaml`` is taken as a rule file too: it is then read, and yields no readers, said so.
    """
    if is_rules_answer(s.document):  # a saved /api/v1/rules
        return True
    if _yaml_kinds(s.document):  # rules or SLOs written as JSON
        return True
    if s.document is not None and holds_usage([s.document], str(s.path)):  # kubectl get … -o json
        return True
    docs = s.yaml
    if docs:
        # a dashboard written as YAML (a PersesDashboard resource, percli's -o yaml) is read here too
        if any(_yaml_kinds(d) or is_dashboard(d) for d in docs):
            return True
        if holds_usage(docs, str(s.path)):
            return True
        return s.has_suffix((".yml", ".yaml")) and not any(docs)
    if s.has_suffix((".yml", ".yaml")) and s.json in ({}, []):  # "{}": YAML's flow style for nothing
        return True
    if not s.has_suffix((".yml", ".yaml")) or s.binary or s.json is not None:
        return False
    if s.broken_yaml:  # named as YAML and refused by YAML: the rules reader names the line
        return True
    return all(line.startswith("#") or line in ("null", "~", "---", "...") for line in s.lines)


def _exposition_like(lines: list[str]) -> bool:
    samples = [line for line in lines if not line.startswith("#")]
    comments = [line for line in lines if line.startswith("#")]
    if any(_EXPOSITION_COMMENT.match(c) for c in comments[:10]):
        return True
    return bool(samples) and sum(bool(_SAMPLE_LINE.match(x)) for x in samples[:10]) >= 0.8 * min(
        len(samples), 10
    )


def is_exposition(s: Sniff) -> bool:
    """Prometheus text format or OpenMetrics; a broken dump still named ``.prom``/``.om``/... too."""
    if s.binary or s.json is not None:
        return False
    if _exposition_like(s.lines):
        return True
    # named as an exposition and not any other text kind: read it, so the parser names the bad line
    return s.has_suffix(EXPOSITION_SUFFIXES) and not s.yaml and not _log_like(s)


_LOGFMT = re.compile(r'^(?:[\w.@-]+=(?:"(?:[^"\\]|\\.)*"|\S*)\s*){2,}$')
_LOG_START = re.compile(
    r"^(?:\[?\d{4}-\d{2}-\d{2}[T ]\d|\[?\d{2}/\w{3}/\d{4}|\w{3} [ \d]\d \d{2}:\d{2}|<\d{1,3}>"
    r"|[IWEF]\d{4} \d{2}:\d{2}|\d{1,3}(?:\.\d{1,3}){3} |\[?(?:TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL)\b"
    r"|\d{2}:\d{2}:\d{2}|\d{10}(?:\.\d+)?\s|\d{6} \d{6})"
)


def _log_like(s: Sniff) -> bool:
    if not s.lines:
        return False
    lines = s.lines[:10]
    if sum(bool(_LOG_START.match(x)) or bool(_LOGFMT.match(x)) for x in lines) >= 0.6 * len(lines):
        return True
    return s.json_lines and not is_traces(s)


def is_logs(s: Sniff) -> bool:
    """Log lines: JSON Lines (not traces), logfmt, or text lines starting with a time or a level.

    Plain text of no recognisable shape is a log only where its name says so (``.log``).
    """
    if s.binary:
        return False
    if s.json_lines:
        return not is_traces(s)
    if s.json is not None:
        return is_loki_streams(s.json)  # a saved query_range answer of log lines
    if _exposition_like(s.lines):
        return False
    return _log_like(s) or (s.has_suffix(LOG_SUFFIXES) and not s.yaml)


def is_queries(s: Sniff) -> bool:
    """A query log: Prometheus' query log, Mimir or Loki query stats, VictoriaMetrics top queries,
    Grafana's query history."""
    if s.binary:
        return False
    if detect_lines(s.lines) is not None:
        return True
    return detect_document(s.document) is not None


@dataclass(frozen=True)
class FileKind:
    """One kind of file: the source kind that reads it, what it is called, how it is recognised."""

    kind: str
    what: str
    detect: Callable[[Sniff], bool]


# order matters only where two could claim a file: the more specific first
FILE_KINDS: tuple[FileKind, ...] = (
    FileKind("traces", "trace file (OTLP JSON or protobuf, Jaeger JSON, Zipkin v2 JSON)", is_traces),
    FileKind("otlp_metrics", "OTLP metrics (JSON or protobuf)", is_otlp_metrics),
    FileKind("otlp_logs", "OTLP logs (JSON or protobuf)", is_otlp_logs),
    FileKind(
        "queries",
        "query log (Prometheus, Mimir, Loki, VictoriaMetrics top queries, Grafana history)",
        is_queries,
    ),
    FileKind(
        "series",
        "a server's /api/v1/series answer saved to a file (JSON), a VictoriaMetrics export",
        is_series,
    ),
    FileKind("grafana", "Grafana dashboard JSON", is_grafana),
    FileKind(
        "rules",
        "rule or SLO YAML (Prometheus/Loki rules, PrometheusRule, Sloth, OpenSLO, Pyrra), rules API answer,"
        " Kubernetes resources carrying rules or dashboards (ConfigMap, List, GrafanaDashboard)",
        is_rules,
    ),
    FileKind("exposition", "Prometheus or OpenMetrics exposition", is_exposition),
    FileKind("logs", "log lines (JSON Lines, logfmt, text), a saved Loki query answer of streams", is_logs),
)


def _looked_like(s: Sniff) -> str:
    """A short description of what an unrecognised file holds."""
    if s.size == 0:
        return "an empty file"
    if s.compression == "zstd":
        return "zstd-compressed (decompress it with zstd -d, or compress it with gzip, bzip2 or xz)"
    if s.unreadable:  # a compressed stream whose head decodes and whose rest does not
        return f"{s.compression}-compressed, and then {s.unreadable}"
    if s.compression and not s.head:
        return f"{s.compression}-compressed, with nothing readable in it (cut short or corrupt?)"
    if s.head[:4] == b"PAR1":
        return "a Parquet file (costscope reads Parquet as a folder written by `costscope export`)"
    if s.binary:
        return "binary data" + (f" ({s.compression})" if s.compression else "")
    if s.json_error:
        return f"JSON that does not parse ({s.json_error})"
    doc = s.first_object if s.json_lines else s.json
    if isinstance(doc, dict):
        keys = ", ".join(sorted(map(str, doc))[:6]) or "none"
        return f"a JSON {'Lines file whose first object has' if s.json_lines else 'object with'} keys {keys}"
    if isinstance(doc, list):
        return f"a JSON list of {len(doc)} item(s)" if not s.json_lines else "JSON Lines"
    if s.yaml:
        first = s.yaml[0]
        if isinstance(first, dict):
            return f"YAML with keys {', '.join(sorted(map(str, first))[:6])}"
        return f"YAML holding a {type(first).__name__}"
    first_line = s.lines[0] if s.lines else ""
    return f"text starting {first_line[:60]!r}" if first_line else "blank text"


def detect(path: Path) -> str | InputWarning:
    """The kind of file ``path`` is, by content; or a warning saying what it looked like."""
    try:
        s = Sniff(path)
    except OSError as exc:
        return InputWarning(f"cannot read: {exc.strerror or exc}", file=str(path))
    if s.size:
        for entry in FILE_KINDS:
            if entry.detect(s):
                return entry.kind
    tried = ", ".join(k.kind for k in FILE_KINDS)
    return InputWarning(f"not recognised: {_looked_like(s)}; tried {tried}", file=str(path))


def describe(kind: str) -> str:
    """What a file kind is called in messages."""
    return next((k.what for k in FILE_KINDS if k.kind == kind), kind)


@dataclass(frozen=True)
class FolderContents:
    """A folder's files by kind (each sorted), a warning for each file no kind recognised, and
    the marker files of the recordings and exports under it (read as sources of their own)."""

    files: dict[str, tuple[Path, ...]]
    warnings: tuple[InputWarning, ...]
    markers: tuple[Path, ...] = ()


def _is_own(path: Path) -> bool:
    """costscope's own files: its config, and a DuckDB store (and its WAL) kept beside the data."""
    if path.name.startswith("costscope") and path.suffix in (".yml", ".yaml"):
        return True
    if path.name.endswith((".duckdb", ".duckdb.wal", ".db.wal")):
        return True
    try:
        with path.open("rb") as fh:
            return fh.read(12)[8:12] == b"DUCK"
    except OSError:
        return False


def classify(folder: Path) -> FolderContents:
    """Every file under ``folder`` by kind, outside recordings and exports (read as their own kinds).

    Hidden files and folders and costscope's own files (config, a store) are left alone, on purpose.
    """
    tree = walk(folder)
    markers = tuple(p for p in tree.paths if p.name in (MANIFEST, EXPORT_MARKER))
    special = [m.parent for m in markers]
    files: dict[str, list[Path]] = {}
    warnings = [InputWarning(why, file=str(p)) for p, why in tree.problems]
    for p in tree.paths:
        rel = p.relative_to(folder).parts
        if not p.is_file() or any(part.startswith(".") for part in rel) or _is_own(p):
            continue
        if any(r == p.parent or r in p.parents for r in special):
            continue
        found = detect(p)
        if isinstance(found, InputWarning):
            warnings.append(found)
        else:
            files.setdefault(found, []).append(p)
    return FolderContents({k: tuple(v) for k, v in files.items()}, tuple(warnings), markers)


def files_of_kind(path: Path, kind: str) -> tuple[Path, ...]:
    """The files a source of ``kind`` reads at ``path``: the file itself, or the folder's of that kind."""
    if path.is_file():
        return (path,)
    return classify(path).files.get(kind, ())
