"""A new user's first hour: folders with bad files, files of every kind given directly, nothing lost silently.

The CLI runs for real (a subprocess), on inputs nobody here wrote (../shared/fixtures/realworld)
and on small files written from each format's specification.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import ROOT, shared

GOOD = '# TYPE up gauge\nup{a="1"} 1\nup{a="2"} 1\n'


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "costscope", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def _analyze(tmp_path: Path, *sources: str) -> tuple[subprocess.CompletedProcess[str], dict[str, object]]:
    out = tmp_path / "out.json"
    result = _cli(
        "analyze", *sources, "--db", str(tmp_path / "db"), "--report", str(tmp_path / "r.html"),
        "--json", str(out), cwd=tmp_path,
    )  # fmt: skip
    return result, json.loads(out.read_text()) if out.exists() else {}


def test_a_folder_reads_every_file_past_a_bad_one(tmp_path: Path) -> None:
    folder = tmp_path / "dumps"
    folder.mkdir()
    for i in range(5):
        (folder / f"svc{i}.prom").write_text(GOOD)
    (folder / "svc2.prom").write_text(GOOD + 'up{a="3" 1\n')  # broken on line 4
    result, doc = _analyze(tmp_path, str(folder))
    assert result.returncode == 3, result.stderr
    metrics = {m["metric"]: m["series"] for m in doc["metrics"]}  # type: ignore[index, union-attr]
    assert metrics["up"] == 4 * 2  # every good file, each its own job (the file's stem)
    errors = doc["errors"]
    assert len(errors) == 1 and "svc2.prom:4" in errors[0]["message"]  # type: ignore[index]
    assert "svc2.prom:4" in (tmp_path / "r.html").read_text()
    said = result.stdout + result.stderr
    assert said.count("svc2.prom:4") == 1  # said once, whole (a path to copy)


def test_a_folder_of_only_bad_files_is_bad_input(tmp_path: Path) -> None:
    folder = tmp_path / "dumps"
    folder.mkdir()
    for i in range(3):
        (folder / f"b{i}.prom").write_text("up{ 1\n")
    result, _ = _analyze(tmp_path, str(folder))
    assert result.returncode == 2, result.stderr
    assert "every input was bad" in result.stderr and "b0.prom:1" in result.stderr


def test_a_failed_run_still_names_the_files_it_did_not_recognise(tmp_path: Path) -> None:
    """No summary follows a run that kept nothing: its one error line names the other files too."""
    folder = tmp_path / "dumps"
    folder.mkdir()
    (folder / "b.prom").write_text("up{ 1\n")
    for i in range(7):
        (folder / f"NOTES{i}").write_text("Copyright nobody\nthese are notes\n")
    result, _ = _analyze(tmp_path, str(folder))
    assert result.returncode == 2, result.stderr
    assert "b.prom:1" in result.stderr and "NOTES0: not recognised" in result.stderr
    assert "NOTES5" not in result.stderr and "(and 2 more input warnings)" in result.stderr


def test_an_unrecognised_file_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "a.prom").write_text(GOOD)
    (folder / "NOTES").write_text("Copyright nobody\nthese are notes\n")
    result, doc = _analyze(tmp_path, str(folder))
    assert result.returncode == 0, result.stderr
    (warning,) = doc["errors"]  # type: ignore[misc]
    assert warning["severity"] == "warning" and "not recognised" in warning["message"]
    assert "NOTES" in (tmp_path / "r.html").read_text()


def test_an_unrecognised_file_given_alone_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "empty.prom").write_text("")
    result, _ = _analyze(tmp_path, str(tmp_path / "empty.prom"))
    assert result.returncode == 2
    assert "an empty file" in result.stderr and "Traceback" not in result.stderr


def _otlp_span_count(path: Path) -> int:
    doc = json.loads(path.read_text())
    return sum(
        len(ss.get("spans", []))
        for rs in doc.get("resourceSpans") or doc.get("batches") or []
        for ss in rs.get("scopeSpans") or rs.get("instrumentationLibrarySpans") or []
    )


def test_one_otlp_json_document_given_directly(tmp_path: Path) -> None:
    tempo = shared("realworld", "traces", "tempo")
    for path in sorted(tempo.glob("*.json")):
        result, doc = _analyze(tmp_path, str(path))
        assert result.returncode == 0, (path.name, result.stderr)
        ops = doc["traces"]["operations"]  # type: ignore[index]
        assert sum(o["spans"] for o in ops) == pytest.approx(_otlp_span_count(path)), path.name
        sim = _cli("simulate", "traces", str(path), "--db", str(tmp_path / "sim.db"), cwd=tmp_path)
        assert sim.returncode == 0, (path.name, sim.stderr)


def test_a_jaeger_trace_under_data_has_its_spans(tmp_path: Path) -> None:
    trace = {
        "traceID": "5b8aa5a2d2c872e8321cf37308d69df2",
        "spans": [
            {"traceID": "5b8aa5a2d2c872e8321cf37308d69df2", "spanID": "051581bf3cb55c13", "operationName": "GET /",
             "startTime": 1_700_000_000_000_000, "duration": 1000, "processID": "p1", "tags": []},
            {"traceID": "5b8aa5a2d2c872e8321cf37308d69df2", "spanID": "051581bf3cb55c14", "operationName": "query",
             "startTime": 1_700_000_000_000_100, "duration": 500, "processID": "p1", "tags": [],
             "references": [{"refType": "CHILD_OF", "spanID": "051581bf3cb55c13"}]},
        ],
        "processes": {"p1": {"serviceName": "frontend"}},
    }  # fmt: skip
    path = tmp_path / "trace.json"
    path.write_text(json.dumps({"data": trace}))
    result, doc = _analyze(tmp_path, str(path))
    assert result.returncode == 0, result.stderr
    assert sum(o["spans"] for o in doc["traces"]["operations"]) == 2  # type: ignore[index]


def test_dashboards_published_without_json_suffix(tmp_path: Path) -> None:
    mixins = shared("realworld", "usage", "mixins")
    folder = tmp_path / "dash"
    folder.mkdir()
    bare = [p for p in sorted(mixins.rglob("dashboards/*")) if p.is_file() and not p.suffix]
    assert bare
    for p in bare:
        shutil.copy(p, folder / f"{p.parent.parent.name}-{p.name}")
    (folder / "up.prom").write_text(GOOD)
    result, _ = _analyze(tmp_path, str(folder))
    assert result.returncode == 0, result.stderr
    con = duckdb.connect(str(tmp_path / "db"), read_only=True)
    origins = {r[0] for r in con.execute("SELECT DISTINCT origin FROM usage_refs").fetchall()}
    assert {Path(o).name for o in origins} >= {f.name for f in folder.iterdir() if f.suffix != ".prom"}


def test_the_demo_still_reads_without_a_warning(tmp_path: Path) -> None:
    result, doc = _analyze(tmp_path, str(ROOT / "sample_data"))
    assert result.returncode == 0, result.stderr
    assert doc["errors"] == []


def test_quiet_prints_only_the_final_error_line(tmp_path: Path) -> None:
    folder = tmp_path / "dumps"
    folder.mkdir()
    (folder / "a.prom").write_text(GOOD)
    (folder / "b.prom").write_text("up{ 1\n")
    result = _cli(
        "analyze",
        str(folder),
        "-q",
        "--db",
        str(tmp_path / "db"),
        "--report",
        str(tmp_path / "r.html"),
        cwd=tmp_path,
    )
    assert result.returncode == 3
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: snapshot 1 is partial:") and "b.prom:1" in lines[0]


def test_simulate_traces_quiet_and_human_durations(tmp_path: Path) -> None:
    path = shared("realworld", "traces", "tempo", "trace-with-failed-requests.otlp.json")
    loud = _cli("simulate", "traces", str(path), "--db", str(tmp_path / "a.db"), cwd=tmp_path)
    assert loud.returncode == 0, loud.stderr
    assert "Sampling policies on 1m of traffic" in loud.stdout
    quiet = _cli("simulate", "traces", str(path), "-q", "--db", str(tmp_path / "b.db"), cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""
    help_text = _cli("simulate", "traces", "--help", cwd=tmp_path).stdout
    assert "Trace files (OTLP JSON" in help_text and "Prometheus-compatible" not in help_text
