"""Kinds by content: every file kind told by what it holds, its name only a hint; folders never stop.

Each row writes a file under a name that does not give its kind away (or names it wrongly) and
checks the kind ``detect`` finds; unrecognised files say what they looked like.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from costscope.errors import InputWarning
from costscope.sources.kinds import FILE_KINDS, classify, detect

OTLP = {"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": [{"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331", "name": "GET"}]}]}]}  # fmt: skip
JAEGER_ONE = {"data": {"traceID": "abc", "spans": [{"traceID": "abc", "spanID": "1", "operationName": "x"}], "processes": {}}}  # fmt: skip
JAEGER_API = {"data": [{"traceID": "abc", "spans": [], "processes": {}}]}
ZIPKIN = [{"traceId": "a" * 16, "id": "b" * 16, "name": "get"}]
DASHBOARD = {"title": "d", "panels": [{"targets": [{"expr": "up"}]}]}

KINDS = [
    ("otlp document named .json", "trace.json", json.dumps(OTLP), "traces"),
    ("otlp document without a suffix", "example", json.dumps(OTLP), "traces"),
    ("otlp json lines", "spans.jsonl", json.dumps(OTLP) + "\n" + json.dumps(OTLP) + "\n", "traces"),
    ("jaeger api answer", "answer.json", json.dumps(JAEGER_API), "traces"),
    ("jaeger trace under data", "trace.data", json.dumps(JAEGER_ONE), "traces"),
    ("jaeger v3 api (otlp under result)", "v3.json", json.dumps({"result": OTLP}), "traces"),
    ("zipkin v2 spans", "zipkin.txt", json.dumps(ZIPKIN), "traces"),
    ("zipkin traces (a list of lists)", "z.json", json.dumps([ZIPKIN]), "traces"),
    ("dashboard without .json", "overview", json.dumps(DASHBOARD), "grafana"),
    ("dashboard as a grafana api answer", "d.txt", json.dumps({"dashboard": DASHBOARD}), "grafana"),
    ("dashboard with a byte-order mark", "bom.json", "\ufeff" + json.dumps(DASHBOARD), "grafana"),
    ("a dashboard cut short", "cut.json", json.dumps(DASHBOARD)[:-5], "grafana"),
    ("rule file named .txt", "rules.txt", "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n", "rules"),
    ("a saved /api/v1/series answer", "answer", json.dumps({"status": "success", "data": [{"__name__": "up", "job": "a"}]}), "series"),
    ("a saved /api/v1/rules answer", "rules.json", json.dumps({"status": "success", "data": {"groups": [{"name": "g", "rules": [{"name": "A", "query": "up == 0", "type": "alerting"}]}]}}), "rules"),
    ("PrometheusRule", "pr.yaml", "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nspec:\n  groups: []\n", "rules"),
    ("sloth prometheus/v1", "slo.yml", "version: prometheus/v1\nservice: s\nslos: []\n", "rules"),
    ("sloth kubernetes", "k.yml", "apiVersion: sloth.slok.dev/v1\nkind: PrometheusServiceLevel\nspec: {}\n", "rules"),
    ("openslo v1alpha", "o.yaml", "apiVersion: openslo/v1alpha\nkind: SLO\nspec: {}\n", "rules"),
    ("pyrra", "p.yaml", "apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\nspec: {}\n", "rules"),
    ("a mixin's null rule file", "rules.yaml", "null\n", "rules"),
    ("exposition named .log", "m.log", "# HELP up Up.\n# TYPE up gauge\nup 1\n", "exposition"),
    ("exposition without a suffix", "metrics", 'up{job="a"} 1\nup{job="b"} 0\n', "exposition"),
    ("exposition indented comments", "m", "    # TYPE up gauge\nup 1\n", "exposition"),
    ("openmetrics", "m.data", "# TYPE a counter\na_total 1\n# EOF\n", "exposition"),
    ("a broken dump still named .prom", "broken.prom", "up{job=} 1\n", "exposition"),
    ("json lines logs", "app.out", '{"level":"info","msg":"hi"}\n{"level":"error","msg":"ho"}\n', "logs"),
    ("logfmt logs", "app", 'ts=2024-01-01T00:00:00Z level=info msg="a b"\nts=2024-01-01T00:00:01Z level=warn msg=c\n', "logs"),
    ("klog lines", "kubelet", "I0102 15:04:05.123456   1234 server.go:42] started\nE0102 15:04:06.000000   1234 x.go:1] failed\n", "logs"),
    ("syslog lines", "messages", "<34>Oct 11 22:14:15 host su: 'su root' failed\n<13>Oct 11 22:14:16 host app: ok\n", "logs"),
    ("apache access log", "access", '1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326\n5.6.7.8 - - [10/Oct/2000:13:55:37 -0700] "GET /a HTTP/1.0" 404 1\n', "logs"),
    ("plain text named .log", "x.log", "hello\nworld\n", "logs"),
    ("otlp metrics json", "m.json", json.dumps({"resourceMetrics": []}), "otlp_metrics"),
    ("otlp logs json lines", "l.jsonl", json.dumps({"resourceLogs": []}) + "\n" + json.dumps({"resourceLogs": []}) + "\n", "otlp_logs"),
    ("prometheus query log", "query.log", '{"params":{"query":"up","start":"2026-01-01T00:00:00Z"},"ts":"2026-01-01T00:00:00Z"}\n', "queries"),
]  # fmt: skip

UNRECOGNISED = [
    ("a licence text", "LICENSE", "Copyright (c) 2016\nPermission is hereby granted\n", "text starting"),
    ("binary data", "blob.bin", "\x00\x01\x02", "binary data"),
    ("an empty file", "empty.prom", "", "an empty file"),
    ("notes named .txt", "notes.txt", "This file should be ignored.\n", "text starting"),
    ("a json object of no kind", "conf.json", json.dumps({"a": 1, "b": 2}), "keys a, b"),
    ("a yaml file of no kind", "compose.yml", "services:\n  web: {}\n", "YAML with keys services"),
    # a broken answer of some API: not taken for a dashboard (whose error it would then be)
    ("broken json of no kind", "status.json", '{"status": "success",\n "data": {"a": 1,}}', "JSON that does not parse (line 2: Expecting property name"),
]  # fmt: skip


@pytest.mark.parametrize(("why", "name", "text", "kind"), KINDS, ids=[k[0] for k in KINDS])
def test_kind_is_told_by_content(tmp_path: Path, why: str, name: str, text: str, kind: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert detect(path) == kind, why


@pytest.mark.parametrize(("why", "name", "text", "kind"), KINDS[:3], ids=[k[0] for k in KINDS[:3]])
def test_gzip_is_seen_through(tmp_path: Path, why: str, name: str, text: str, kind: str) -> None:
    path = tmp_path / (name + ".gz")
    path.write_bytes(gzip.compress(text.encode()))
    assert detect(path) == kind


@pytest.mark.parametrize(("why", "name", "text", "said"), UNRECOGNISED, ids=[u[0] for u in UNRECOGNISED])
def test_unrecognised_files_say_what_they_looked_like(
    tmp_path: Path, why: str, name: str, text: str, said: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    found = detect(path)
    assert isinstance(found, InputWarning), why
    assert said in found.message and f"tried {', '.join(k.kind for k in FILE_KINDS)}" in found.message
    assert found.file == str(path)


def test_a_folder_sorts_every_file_by_kind(tmp_path: Path) -> None:
    for _, name, text, _ in KINDS + UNRECOGNISED:
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / ".hidden").write_text("up 1\n")
    contents = classify(tmp_path)
    for why, name, _, kind in KINDS:
        assert tmp_path / name in contents.files[kind], why
    assert sorted(Path(w.file or "").name for w in contents.warnings) == sorted(u[1] for u in UNRECOGNISED)


def test_every_file_kind_is_read_named_and_listed() -> None:
    """A new kind of file is one FileKind, one COLLECTORS entry, its folder name and its name."""
    from costscope.ingest.collect import COLLECTORS
    from costscope.source_kinds import SOURCE_KINDS
    from costscope.sources.kinds import FILE_KINDS
    from costscope.sources.resolve import _FOLDER_PARTS

    for entry in FILE_KINDS:
        assert entry.kind in COLLECTORS, entry.kind
        assert entry.kind in _FOLDER_PARTS, entry.kind
        assert entry.kind in SOURCE_KINDS, entry.kind
    assert set(COLLECTORS) <= set(SOURCE_KINDS)
