"""A server's ``/api/v1/series`` answer saved to a file, read as the series the server holds.

The oracle is the answer itself, counted here with ``json`` (label sets per name), and the real
Prometheus 2.42's own ``/api/v1/metadata`` for which families are histograms and summaries.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import httpx
import pytest

import costscope
from costscope.errors import ParseError
from costscope.ingest.metrics import MetricsWriter
from costscope.sources.kinds import detect
from costscope.sources.series_answer import is_series_answer, read_series_answer
from costscope.store import Store
from tests import servers
from tests.conftest import shared


def _stored(db: Path) -> tuple[dict[str, int], dict[str, str], set[tuple[str, str]]]:
    """Series per sample name, the family of each sample name, and (label, value) pairs stored."""
    with Store.open(db, read_only=True) as store:
        names = store.query("SELECT metric, count(*) AS n FROM metric_series GROUP BY metric")
        families = store.query("SELECT DISTINCT metric, family FROM metric_series")
        pairs = store.query("SELECT DISTINCT label, value FROM series_labels")
    return dict(names.iter_rows()), dict(families.iter_rows()), set(pairs.iter_rows())


def test_the_documented_answer_is_three_series(tmp_path: Path) -> None:
    """Prometheus' own example (docs/querying/api.md): two ``up`` and one process start time."""
    answer = shared("api_responses", "prometheus", "series.json")
    assert detect(answer) == "series"
    costscope.analyze([str(answer)], db=tmp_path / "db")
    names, _, pairs = _stored(tmp_path / "db")
    assert names == {"up": 2, "process_start_time_seconds": 1}
    # the series keep the job and instance they have: no target labels from the file's name
    assert ("job", "series") not in pairs and ("instance", "localhost:9091") in pairs


@pytest.mark.servers
def test_a_real_prometheus_answer_reads_as_the_series_it_lists(tmp_path: Path) -> None:
    workdir = tmp_path / "prom"
    workdir.mkdir()
    with (
        servers.node_exporter(tmp_path) as node,
        servers.prometheus(workdir, {"node": [node.url[7:]]}) as prom,
    ):

        def scraped() -> bool:
            got = httpx.get(prom.url + "/api/v1/query", params={"query": 'count({job="node"})'}).json()
            return bool(got["data"]["result"]) and int(got["data"]["result"][0]["value"][1]) > 100

        servers.wait_for(scraped, timeout=60)
        answer = httpx.get(prom.url + "/api/v1/series", params={"match[]": '{__name__=~".+"}'}, timeout=10)
        metadata = httpx.get(prom.url + "/api/v1/metadata", timeout=10).json()["data"]
    saved = tmp_path / "saved" / "series.json"
    saved.parent.mkdir()
    saved.write_bytes(answer.content)
    costscope.analyze([str(saved.parent)], db=tmp_path / "db")
    names, families, pairs = _stored(tmp_path / "db")
    label_sets = answer.json()["data"]
    assert names == Counter(s["__name__"] for s in label_sets)
    assert pairs == {(k, v) for s in label_sets for k, v in s.items() if k != "__name__"}
    # histograms and summaries are told by their names, as the server's metadata says they are
    for family, entries in metadata.items():
        if entries[0]["type"] in ("histogram", "summary") and f"{family}_count" in names:
            assert families[f"{family}_count"] == family and families[f"{family}_sum"] == family
            if entries[0]["type"] == "histogram":
                assert families[f"{family}_bucket"] == family


def test_a_cut_short_answer_says_what_the_server_said(tmp_path: Path, db_path: Path) -> None:
    path = tmp_path / "series.json"
    doc = {
        "status": "success",
        "data": [{"__name__": "up", "job": "a"}, {"__name__": "up", "job": "b"}],
        "warnings": ["results truncated due to limit"],
    }
    path.write_text(json.dumps(doc))
    with Store.open(db_path) as store:
        snapshot = store.begin("r", [])
        with snapshot.transaction():
            series, warnings = read_series_answer(path, MetricsWriter(snapshot, "s"))
            snapshot.finish("complete", {})
    assert series == 2
    assert [str(w) for w in warnings] == [f"{path}: the server said: results truncated due to limit"]


@pytest.mark.parametrize(
    ("doc", "series"),
    [
        ({"status": "success", "data": [{"__name__": "up"}]}, True),
        ({"status": "success", "data": ["up", "go_info"]}, False),  # /api/v1/labels, label values
        ({"status": "success", "data": {"resultType": "vector", "result": []}}, False),  # a query
        ({"status": "error", "data": [{"__name__": "up"}]}, False),
        ({"status": "success", "data": []}, False),  # nothing in it to tell it by
    ],
    ids=["series", "names", "query", "error", "empty"],
)
def test_a_series_answer_is_told_from_other_answers(doc: object, series: bool) -> None:
    assert is_series_answer(doc) is series


def test_a_broken_answer_names_the_file_and_line(tmp_path: Path, db_path: Path) -> None:
    path = tmp_path / "series.json"
    path.write_text('{"status": "success",\n "data": [{"__name__": "up"},]}')
    with Store.open(db_path) as store:
        snapshot = store.begin("r", [])
        with pytest.raises(ParseError) as caught, snapshot.transaction():
            read_series_answer(path, MetricsWriter(snapshot, "s"))
    assert (caught.value.file, caught.value.line) == (str(path), 2)
