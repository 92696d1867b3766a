"""A VictoriaMetrics export (``/api/v1/export``, JSON lines) read as the series it holds.

The oracle is a real VictoriaMetrics 1.79: its own series count, and its export counted here
with ``json``. Before, an export was read as log lines: its series were lost and its bytes priced
as logs.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import httpx
import pytest

import costscope
from costscope.errors import ParseError
from costscope.ingest.metrics import MetricsWriter
from costscope.sources.kinds import detect
from costscope.sources.vm_export import read_vm_export
from costscope.store import Store
from tests import servers
from tests.conftest import EXPOSITION

NODE = EXPOSITION / "node_exporter" / "e2e-output.txt"


def _stored(db: Path) -> tuple[dict[str, int], set[tuple[str, str]]]:
    with Store.open(db, read_only=True) as store:
        names = store.query("SELECT metric, count(*) AS n FROM metric_series GROUP BY metric")
        pairs = store.query("SELECT DISTINCT label, value FROM series_labels")
    return dict(names.iter_rows()), set(pairs.iter_rows())


@pytest.mark.servers
def test_a_real_export_reads_as_the_series_victoriametrics_holds(tmp_path: Path) -> None:
    with servers.victoria_metrics(tmp_path) as vm:
        servers.vm_import(vm, NODE.read_text())

        def exported() -> httpx.Response:
            return httpx.post(vm.url + "/api/v1/export", data={"match[]": '{__name__!=""}'}, timeout=60)

        servers.wait_for(lambda: exported().content.count(b"\n") > 2000)
        export = exported()
        (count,) = httpx.get(vm.url + "/api/v1/series/count", timeout=60).json()["data"]
    saved = tmp_path / "export.jsonl"
    saved.write_bytes(export.content)
    assert detect(saved) == "series"
    ws = costscope.analyze([str(saved)], db=tmp_path / "db")
    assert ws.analysis().metrics["series"].sum() == count > 2000
    lines = [json.loads(line) for line in export.text.splitlines()]
    names, pairs = _stored(tmp_path / "db")
    assert names == Counter(line["metric"]["__name__"] for line in lines)
    assert pairs == {(k, v) for line in lines for k, v in line["metric"].items() if k != "__name__"}


def _line(metric: dict[str, str], samples: int = 2) -> str:
    return json.dumps(
        {"metric": metric, "values": [1.5] * samples, "timestamps": list(range(samples))},
        separators=(",", ":"),
    )


def test_a_series_on_several_lines_is_one_series(tmp_path: Path, db_path: Path) -> None:
    """A series' samples may come from several parts of the storage: a line each."""
    up = {"__name__": "up", "job": "a", "instance": "x"}
    text = (
        "\n".join([_line(up), _line({**up, "instance": "y"}), _line(up), _line({"__name__": "other"})]) + "\n"
    )
    path = tmp_path / "export.jsonl.gz"
    path.write_bytes(gzip.compress(text.encode()))
    assert detect(path) == "series"
    with Store.open(db_path) as store:
        snapshot = store.begin("r", [])
        with snapshot.transaction():
            writer = MetricsWriter(snapshot, "vm")
            assert read_vm_export(path, writer) == 3
            assert writer.close() == 3
            snapshot.finish("complete", {})


def test_a_first_line_longer_than_the_head_is_still_an_export(tmp_path: Path) -> None:
    """A day of samples at 15 s is 5,760 values: a line far longer than what detection reads."""
    path = tmp_path / "day.json"
    path.write_text(_line({"__name__": "node_load1", "job": "node"}, samples=30_000) + "\n")
    assert path.stat().st_size > 200_000
    assert detect(path) == "series"


@pytest.mark.parametrize(
    ("second", "said"),
    [('{"metric": {"__name__": "up"}, "values": [1', "invalid JSON"), ('{"foo": 1}', "not an export line")],
)
def test_a_bad_line_names_the_file_and_line(tmp_path: Path, db_path: Path, second: str, said: str) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text(_line({"__name__": "up"}) + "\n" + second + "\n" + _line({"__name__": "x"}) + "\n")
    with Store.open(db_path) as store:
        snapshot = store.begin("r", [])
        with snapshot.transaction():
            with pytest.raises(ParseError) as caught:
                read_vm_export(path, MetricsWriter(snapshot, "vm"))
            snapshot.finish("failed", {})
    assert said in caught.value.message and caught.value.file == str(path) and caught.value.line == 2
