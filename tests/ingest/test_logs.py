"""The log tables a ``LogsWriter`` writes do not depend on how it finds each line's shape: masking
each distinct message once, or every line straight when nearly all messages differ."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import costscope
import costscope.ingest.logs as logs
from costscope.ingest.logs import LogsWriter
from costscope.store import Store


def _chunk(rng: random.Random, n: int, repeat: bool) -> pl.DataFrame:
    words = ["cache", "order", "user", "payment"]
    messages = [
        f"{words[i % 4]} {'abc' if repeat else f'{rng.getrandbits(32):08x}'} handled in {i % 7 if repeat else rng.randint(1, 999)} ms"
        if i % 9 else ""  # a line without a message now and then
        for i in range(n)
    ]  # fmt: skip
    return pl.DataFrame(
        {"message": messages, "level": ["ERROR" if i % 5 == 0 else "INFO" for i in range(n)],
         "service": [f"svc-{i % 3}" for i in range(n)], "ts": [1_700_000_000.0 + i for i in range(n)],
         "has_trace": [i % 2 == 0 for i in range(n)], "bytes": [80 + i % 40 for i in range(n)]},
        schema={"message": pl.String, "level": pl.String, "service": pl.String, "ts": pl.Float64,
                "has_trace": pl.Boolean, "bytes": pl.Int64},
    )  # fmt: skip


def _tables(tmp_path: Path, name: str, chunks: list[pl.DataFrame]) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    store = Store.open(tmp_path / f"{name}.duckdb")
    snap = store.begin("r", [])
    with snap.transaction():
        writer = LogsWriter(snap, "app")
        for chunk in chunks:
            writer.add(chunk, "app.log")
        writer.close()
        snap.finish("complete", {})
    templates = store.query(
        "SELECT template, level, list_sort(services) AS services, lines, bytes, example FROM log_templates"
    ).sort("template", "level")
    volume = store.query("SELECT service, level, lines, bytes, error_lines FROM log_volume").sort(
        "service", "level"
    )
    return templates, volume, writer._chunks


@pytest.mark.parametrize("repeat", [False, True], ids=["distinct messages", "repeated messages"])
def test_the_tables_are_the_same_whichever_way_shapes_are_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, repeat: bool
) -> None:
    rng = random.Random(5)
    chunks = [_chunk(rng, 2_000, repeat) for _ in range(12)]
    straight = _tables(tmp_path, "auto", chunks)
    monkeypatch.setattr(logs, "DEDUPE_BELOW", 2.0)  # every chunk's distinct messages masked once
    deduped = _tables(tmp_path, "dedupe", chunks)
    assert_frame_equal(straight[0], deduped[0])
    assert_frame_equal(straight[1], deduped[1])
    assert straight[0]["lines"].sum() == 12 * 2_000


def test_nearly_distinct_messages_are_masked_straight_and_measured_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    measured_at: list[int] = []
    real = LogsWriter._distinct_shapes

    def measuring(self: LogsWriter, chunk: pl.DataFrame) -> pl.Series:
        measured_at.append(self._chunks)
        return real(self, chunk)

    monkeypatch.setattr(LogsWriter, "_distinct_shapes", measuring)
    rng = random.Random(1)
    writer = LogsWriter(Store.open(tmp_path / "c.duckdb").begin("r", []), "app")
    for _ in range(17):
        writer._shapes(_chunk(rng, 500, repeat=False))
    assert measured_at == [1, 8, 16]  # the first chunk, then one in every REMEASURE_CHUNKS
    assert writer._distinct_share > logs.DEDUPE_BELOW
    for _ in range(8):
        writer._shapes(_chunk(rng, 500, repeat=True))  # logs that start repeating: deduplicated again
    assert measured_at == [1, 8, 16, 24, 25]


def test_shapes_are_numbered_in_the_order_lines_bring_them(tmp_path: Path) -> None:
    # which shape of a template comes first decides its text and id: the same lines must give the
    # same ids in every run, whatever order a hash table hands the distinct shapes back in
    store = Store.open(tmp_path / "db.duckdb")
    snap = store.begin("r", [])
    rng = random.Random(3)
    chunks = [_chunk(rng, 3_000, repeat) for repeat in (False, True, False)]
    with snap.transaction():
        writer = LogsWriter(snap, "app")
        for chunk in chunks:
            writer.add(chunk, "app.log")
        shapes = writer.miner.shapes
        writer.close()
        snap.finish("complete", {})
    masked = pl.concat(chunks).select(logs.mask_expr("message").alias("shape"))["shape"]
    assert shapes == masked.unique(maintain_order=True).to_list()


def test_a_template_example_is_the_first_line_seen_among_equal_times(tmp_path: Path) -> None:
    messages = [f"user {name} logged in" for name in ("zed", "amy", "bob", "eve", "kim")]
    chunk = _chunk(random.Random(1), len(messages), True).with_columns(
        message=pl.Series(messages), ts=pl.lit(1_700_000_000.0)
    )
    templates, _, _ = _tables(tmp_path, "same-time", [chunk])
    assert templates["example"].to_list() == ["user zed logged in"]


@pytest.mark.parametrize(
    ("files", "minutes"),
    [
        # one service cut by time (logrotate's names): the union of its files' windows
        ({"app-2025-10-01.log": "2025-10-01", "app-2025-11-01.log": "2025-11-01"}, {"app": 20}),
        ({"app.log": "2025-11-01", "app.log.1": "2025-10-01"}, {"app": 20}),
        ({"app.log": "2025-11-01", "app.log.1": "2025-11-01"}, {"app": 10}),
        # two services taken a month apart: each over its own ten minutes, not twenty
        ({"app.log": "2025-10-01", "db.log": "2025-11-01"}, {"app": 10, "db": 10}),
        ({"app.log": "2025-11-01"}, {"app": 10}),
    ],
    ids=["dated files", "rotated files", "rotated files, same minutes", "two services", "one file"],
)
def test_log_files_cover_their_own_windows_not_the_time_between(
    tmp_path: Path, files: dict[str, str], minutes: dict[str, int]
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    for name, day in files.items():  # each file: a line a minute for ten minutes
        lines = [f"{day}T10:{m:02d}:00.000Z INFO request {m} served" for m in range(11)]
        (logs / name).write_text("\n".join(lines) + "\n")
    costscope.analyze([str(logs)], db=tmp_path / "db")
    with Store.open(tmp_path / "db", read_only=True) as store:
        periods = store.query("SELECT DISTINCT service, period_s FROM log_volume")
        templates = store.query("SELECT lines, period_s FROM log_templates")
    assert dict(periods.iter_rows()) == {service: m * 60.0 for service, m in minutes.items()}
    # a template of several services costs what their lines cost apart (11 lines a file)
    files_per_service = len(files) // len(minutes)
    expected = sum(11 * files_per_service / (m * 60.0) for m in minutes.values())
    assert templates["lines"].sum() / templates["period_s"].max() == pytest.approx(expected)


def test_a_template_of_services_with_different_windows_costs_what_they_cost_apart(tmp_path: Path) -> None:
    """app: 11 lines in 10 minutes; db: 11 lines in 100 minutes; the same template in both."""
    logs = tmp_path / "logs"
    logs.mkdir()
    for name, step in (("app.log", 1), ("db.log", 10)):
        stamps = [datetime(2025, 11, 1, 10, tzinfo=UTC) + timedelta(minutes=step * m) for m in range(11)]
        lines = [f"{t:%Y-%m-%dT%H:%M:%S}.000Z INFO request {m} served" for m, t in enumerate(stamps)]
        (logs / name).write_text("\n".join(lines) + "\n")
    found = costscope.analyze([str(logs)], db=tmp_path / "db").analysis().logs
    volume = found.volume
    template = found.templates.row(0, named=True)
    assert found.templates.height == 1
    per_service = dict(zip(volume["service"], volume["monthly_bytes"], strict=True))
    month = 30 * 86_400
    assert per_service["app"] == pytest.approx(
        volume.filter(pl.col("service") == "app")["bytes"].item() * month / 600
    )
    assert per_service["db"] == pytest.approx(
        volume.filter(pl.col("service") == "db")["bytes"].item() * month / 6000
    )
    assert template["monthly_bytes"] == pytest.approx(per_service["app"] + per_service["db"])
    assert template["lines_per_minute"] == pytest.approx(11 / 10 + 11 / 100, rel=0.05)
