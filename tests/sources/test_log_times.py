"""Times written at the head of plain log lines, checked against Python's own datetime."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

import costscope
from costscope.sources.log_times import line_seconds
from costscope.store import Store
from tests.conftest import shared


def _utc(text: str, fmt: str) -> float:
    stamp = datetime.strptime(text, fmt)
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()


CASES = [
    ("2025-10-01T10:00:00.000Z INFO x", _utc("2025-10-01T10:00:00", "%Y-%m-%dT%H:%M:%S")),
    ("2015-10-18 18:01:47,978 INFO [main] (Hadoop)", _utc("2015-10-18 18:01:47.978", "%Y-%m-%d %H:%M:%S.%f")),
    ("[2025-10-01 10:00:00] x", _utc("2025-10-01 10:00:00", "%Y-%m-%d %H:%M:%S")),
    ("2016-09-28 04:30:30, Info  CBS (Windows)", _utc("2016-09-28 04:30:30", "%Y-%m-%d %H:%M:%S")),
    ("2025-10-01T10:00:00+02:00 x", _utc("2025-10-01T10:00:00+0200", "%Y-%m-%dT%H:%M:%S%z")),
    ("2025-10-01T10:00:00.123+0530 y", _utc("2025-10-01T10:00:00.123+0530", "%Y-%m-%dT%H:%M:%S.%f%z")),
    (
        '83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 1',
        _utc("17/May/2015:10:05:03 +0000", "%d/%b/%Y:%H:%M:%S %z"),
    ),
    (
        "[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok",
        _utc("Sun Dec 04 04:47:44 2005", "%a %b %d %H:%M:%S %Y"),
    ),
    (
        "[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 35708] AH00037",
        _utc("Wed Oct 11 14:32:52.123 2000", "%a %b %d %H:%M:%S.%f %Y"),
    ),
    ("Nov 25 10:00:00 host sshd[1]: no year: left alone", None),
    ("17/06/09 20:10:40 INFO day or month first: left alone", None),
    ("2025-13-45T99:00:00Z not a time", None),
    ("no time at all", None),
]


@pytest.mark.parametrize(("line", "seconds"), CASES)
def test_the_time_a_line_writes(line: str, seconds: float | None) -> None:
    got = pl.select(line_seconds(pl.lit(line), line)).item()
    assert got == (pytest.approx(seconds) if seconds is not None else None)


def test_lines_not_in_the_files_form_have_no_time() -> None:
    lines = pl.Series(["2025-10-01T10:00:00Z a", "garbage", "2025-10-01T10:00:05Z b"])
    got = pl.select(line_seconds(pl.lit(lines), lines[0])).to_series().to_list()
    assert got == [
        pytest.approx(_utc("2025-10-01T10:00:00", "%Y-%m-%dT%H:%M:%S")),
        None,
        pytest.approx(got[2]),
    ]
    assert got[2] - got[0] == pytest.approx(5.0)


def test_an_access_log_is_priced_over_the_days_it_covers(tmp_path: Path) -> None:
    log = shared("realworld", "logs", "elastic", "apache_access.log")
    stamps = [
        _utc(line.split("[", 1)[1].split("]", 1)[0], "%d/%b/%Y:%H:%M:%S %z")
        for line in log.read_text().splitlines()
    ]
    days = max(stamps) - min(stamps)
    costscope.analyze([str(log)], db=tmp_path / "db")
    with Store.open(tmp_path / "db", read_only=True) as store:
        (period,) = store.query("SELECT DISTINCT period_s FROM log_volume")["period_s"].to_list()
    assert period == pytest.approx(days)  # 3.5 days, where a file without times is taken as one
