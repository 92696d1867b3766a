"""The time trace captures cover: what every per-month trace figure divides by."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import costscope
from costscope.analyze.traces import traced_period
from costscope.store import Store

MINUTE_US = 60_000_000
DAY_US = 86_400_000_000
T0_US = 1_700_000_000_000_000  # 2023-11-14, in Zipkin's microseconds


def _capture(path: Path, start_us: int, minutes: int, untimed: int = 0) -> None:
    """A Zipkin v2 file: a one-span trace per minute for ``minutes``, and ``untimed`` spans without a timestamp."""
    spans = [
        {"traceId": f"{i + start_us % 997:032x}", "id": f"{i + 1:016x}", "name": "get",
         "timestamp": start_us + i * MINUTE_US, "duration": 1000, "localEndpoint": {"serviceName": "api"}}
        for i in range(minutes + 1)
    ] + [
        {"traceId": f"{9_000 + i:032x}", "id": f"{9_000 + i:016x}", "name": "post",
         "localEndpoint": {"serviceName": "api"}}
        for i in range(untimed)
    ]  # fmt: skip
    path.write_text(json.dumps(spans))


@pytest.mark.parametrize(
    ("captures", "minutes"),
    [
        ([(0, 10), (30 * DAY_US, 10)], 20),  # a month apart: the month between them is not traffic
        ([(0, 10), (5 * MINUTE_US, 10)], 15),  # overlapping: counted once
        ([(0, 30)], 30),
    ],
)
def test_the_period_is_the_union_of_the_files_windows(
    tmp_path: Path, captures: list[tuple[int, int]], minutes: int
) -> None:
    folder = tmp_path / "traces"
    folder.mkdir()
    for k, (offset, length) in enumerate(captures):
        _capture(folder / f"c{k}.zipkin.json", T0_US + offset, length)
    ws = costscope.analyze([str(folder)], db=tmp_path / "db")
    with Store.open(tmp_path / "db", read_only=True) as store:
        period = traced_period(store, 1)
    assert period == pytest.approx(minutes * 60 + 0.001)
    sampling = ws.analysis().traces.sampling
    assert sampling is not None and sampling.period_s == period  # the simulation divides by the same


def test_spans_without_a_timestamp_cover_no_time(tmp_path: Path) -> None:
    _capture(tmp_path / "t.zipkin.json", T0_US, 10, untimed=3)  # their start reads as 1970
    costscope.analyze([str(tmp_path / "t.zipkin.json")], db=tmp_path / "db")
    with Store.open(tmp_path / "db", read_only=True) as store:
        assert traced_period(store, 1) == pytest.approx(600.001)
