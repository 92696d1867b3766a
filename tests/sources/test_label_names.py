"""A label is data, never a column name: label names that are our own column or SQL words.

Through every source path that turns label names into frames — the Prometheus API's answers
(series_frames), exposition text, and a real VictoriaMetrics end to end — any label name comes
back exactly as it went in.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from costscope.cli import app
from costscope.sources.exposition import parse_text
from costscope.sources.prometheus_api import series_frames
from costscope.store import Store
from tests import servers

# our own column names, SQL words, Prometheus' special labels
TRICKY = ["label", "value", "metric", "series_id", "source", "seq", "le", "family", "pair_hash",
          "snapshot_id", "select", "from", "__name__x", "_", "quantile", "job", "instance"]  # fmt: skip
VALID_NAMES = st.sampled_from(TRICKY) | st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,12}", fullmatch=True)
ANY_NAMES = VALID_NAMES | st.text(min_size=1, max_size=8).filter(
    lambda s: s != "__name__"
)  # UTF-8 names (API)
VALUES = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.dictionaries(ANY_NAMES, VALUES, max_size=6), min_size=1, max_size=5))
def test_api_answers_keep_every_label_name(label_sets: list[dict[str, str]]) -> None:
    rows = [{"__name__": "m", **labels} for labels in label_sets]
    frame, labels = series_frames(pl.from_dicts(rows, infer_schema_length=None), "m")
    assert frame["metric"].to_list() == ["m"] * len(rows)
    got: dict[int, dict[str, str]] = {}
    for seq, label, value in labels.iter_rows():
        got.setdefault(seq, {})[label] = value
    assert [got.get(i, {}) for i in range(len(rows))] == label_sets


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(VALID_NAMES, VALUES, min_size=1, max_size=6))
def test_exposition_keeps_every_label_name(labels: dict[str, str]) -> None:
    def quote(v: str) -> str:
        return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    block = ",".join(f'{k}="{quote(v)}"' for k, v in labels.items())
    (sample,) = parse_text(f"m{{{block}}} 1\n")
    assert dict(sample.labels) == labels


def test_real_victoria_metrics_with_labels_named_like_our_columns(
    victoria_metrics: servers.Server, runner: CliRunner, tmp_path: Path
) -> None:
    names = [n for n in TRICKY if n not in ("job", "instance", "__name__x")]
    lines = []
    for i in range(40):
        labels = ",".join(f'{n}="{n}-{i % (k + 2)}"' for k, n in enumerate(names))
        lines.append(f"node_hwmon_sensor_label{{{labels}}} 1")
    servers.vm_import(victoria_metrics, "\n".join(lines) + "\n")
    db = tmp_path / "db"
    result = runner.invoke(
        app, ["analyze", victoria_metrics.url, "--db", str(db), "--report", str(tmp_path / "r.html"), "-q"]
    )
    assert result.exit_code == 0, result.output
    with Store.open(db, read_only=True) as s:
        series = s.query("SELECT series FROM metric_meta WHERE metric = 'node_hwmon_sensor_label'")["series"]
        assert series.to_list() == [40]
        found = dict(
            s.query("SELECT label, count(DISTINCT value) FROM series_labels GROUP BY label").iter_rows()
        )
    for k, n in enumerate(names):
        assert found[n] == min(40, k + 2), n


def test_ownership_on_labels_named_like_our_columns(tmp_path: Path) -> None:
    import costscope

    (tmp_path / "m.prom").write_text(
        'm{metric="a",series="x",team="t"} 1\nm{metric="b",series="y",team="t"} 1\nm{metric="b",series="z"} 1\n'
    )
    (tmp_path / "costscope.yaml").write_text(
        "ownership:\n  - team: alpha\n    match: {metric: a}\n  - team: beta\n    match: {series: 'y|z'}\n"
    )
    ws = costscope.analyze([str(tmp_path / "m.prom")], db=tmp_path / "db", config=tmp_path / "costscope.yaml")
    teams = dict(ws.series_by_team().group_by("team").agg(pl.col("series").sum()).iter_rows())
    assert teams == {"alpha": 1, "beta": 2}
