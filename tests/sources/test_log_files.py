"""Log files read right: levels by each format's own convention, the service before the logger,
and bytes exact (as ``wc -c`` counts them) whatever the line endings.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl
import pytest

from costscope.sources.log_files import read_log_file
from costscope.sources.log_lines import parse_chunk, text_level
from tests.conftest import SHARED, shared

LEVELS = [
    ("klog info", "I0102 15:04:05.123456    1234 server.go:42] Starting kubelet", "INFO"),
    ("klog warning", "W0102 15:04:05.123456    1234 reflector.go:1] watch ended", "WARN"),
    ("klog error", "E1231 23:59:59.000001       7 pod.go:9] sync failed", "ERROR"),
    ("glog fatal", "F0102 15:04:05.123456 1234 main.go:3] cannot start", "FATAL"),
    ("syslog err (3)", "<11>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick", "ERROR"),
    ("syslog warning (4)", "<12>1 2003-10-11T22:14:15.003Z host app - - - disk almost full", "WARN"),
    ("syslog info (6)", "<30>Oct 11 22:14:15 host sshd[1]: Accepted publickey", "INFO"),
    ("syslog debug (7)", "<191>Oct 11 22:14:15 host app: tick", "DEBUG"),
    ("access 200 with 'error' in the URL", '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /api/error-report HTTP/1.1" 200 2326', "INFO"),
    ("access 404", '10.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /missing HTTP/1.1" 404 12 "-" "curl"', "WARN"),
    ("access 503", '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "POST /pay HTTP/1.1" 503 0', "ERROR"),
    ("bracketed", "2024-05-01 10:00:00 [ERROR] payment failed", "ERROR"),
    ("bracketed lower case", "2024-05-01 10:00:00 [warn] slow", "WARN"),
    ("upper-case word", "2024-05-01 10:00:00,123 WARN  [main] o.a.k.Consumer - lag", "WARN"),
    ("word and colon", "ERROR: relation does not exist", "ERROR"),
    ("level= in text", "time=10:00 level=error msg=boom", "ERROR"),
    ("a word inside a path is no level", "GET /static/error.png served in 3ms", None),
    ("a word inside a name is no level", "registered on_error handler for debug_server", None),
    ("lower-case prose is no level", "retrying after an error from upstream", None),
]  # fmt: skip


@pytest.mark.parametrize(("why", "line", "level"), LEVELS, ids=[c[0] for c in LEVELS])
def test_level_of_a_text_line(why: str, line: str, level: str | None) -> None:
    df = parse_chunk([line + "\n"], "text", "svc")
    assert df["level"][0] == level, why


SERVICES = [
    ("json: service before logger", '{"logger":"com.acme.Db","service":"orders","msg":"x"}', "json", "orders"),
    ("json: service.name nested", '{"component":"db","service":{"name":"cart"},"msg":"x"}', "json", "cart"),
    ("json: app before component", '{"component":"http","app":"shop","msg":"x"}', "json", "shop"),
    ("json: job", '{"logger":"main","job":"batch","msg":"x"}', "json", "batch"),
    ("json: logger when nothing else", '{"logger":"com.acme.Db","msg":"x"}', "json", "com.acme.Db"),
    ("logfmt: service before component", 'component=db msg=x service=orders', "logfmt", "orders"),
    ("none: the file's name", '{"msg":"x"}', "json", "fromfile"),
]  # fmt: skip


@pytest.mark.parametrize(("why", "line", "fmt", "service"), SERVICES, ids=[c[0] for c in SERVICES])
def test_service_of_a_structured_line(why: str, line: str, fmt: str, service: str) -> None:
    assert parse_chunk([line + "\n"], fmt, "fromfile")["service"][0] == service, why


@pytest.mark.parametrize(
    "body",
    [
        b"a\nbb\nccc\n",
        b"a\nbb\nccc",
        b"a\r\nbb\r\nccc\r\n",
        b"a\r\nbb\r\nccc",
        b"only one line",
        b"x\n\n\ny\n",
    ],
    ids=["lf", "lf, no final newline", "crlf", "crlf, no final newline", "one line", "blank lines"],
)
@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_bytes_are_what_wc_counts(tmp_path: Path, body: bytes, gz: bool) -> None:
    path = tmp_path / ("app.log.gz" if gz else "app.log")
    path.write_bytes(gzip.compress(body) if gz else body)
    chunks = list(read_log_file(path, chunk_lines=2))
    assert sum(int(c["bytes"].sum()) for c in chunks) == len(body)
    assert sum(c.height for c in chunks) == body.count(b"\n") + (not body.endswith(b"\n"))


def test_real_access_log_levels_follow_status_classes() -> None:
    path = shared("realworld", "logs", "elastic", "apache_access.log")
    raw = path.read_bytes()
    frame = pl.concat(list(read_log_file(path)))
    assert int(frame["bytes"].sum()) == len(raw) and frame.height == raw.count(b"\n") + (
        not raw.endswith(b"\n")
    )
    # the oracle: the status is the first token after the quoted request, by plain splitting
    statuses = [line.split('"')[2].split()[0] for line in raw.decode().splitlines() if line.strip()]
    expected = {"5": "ERROR", "4": "WARN"}
    want = pl.Series([expected.get(s[0], "INFO") for s in statuses])
    assert frame["level"].to_list() == want.to_list()


@pytest.mark.parametrize("name", ["HDFS", "Linux", "Mac", "OpenSSH"])
def test_loghub_bytes_with_crlf_and_no_final_newline(name: str) -> None:
    folder = SHARED / "loghub" / "loghub_2k" / name
    if not folder.is_dir():
        pytest.skip(f"{folder} is missing")
    (path,) = folder.glob("*.log")
    raw = path.read_bytes()
    frame = pl.concat(list(read_log_file(path)))
    assert int(frame["bytes"].sum()) == len(raw)


def test_text_level_is_vectorised() -> None:
    lines = pl.Series([line for _, line, _ in LEVELS] * 1000)
    got = pl.DataFrame({"l": lines}).select(text_level(pl.col("l")))
    assert got.height == len(LEVELS) * 1000


def test_every_real_log_file_counts_as_wc_does() -> None:
    folder = shared("realworld", "logs")
    files = [p for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "LICENSE"]
    assert files
    for path in files:
        raw = path.read_bytes()
        frame = pl.concat(list(read_log_file(path)))
        assert int(frame["bytes"].sum()) == len(raw), path.name
        assert frame.height == raw.count(b"\n") + (not raw.endswith(b"\n")), path.name


def _journal_record(i: int, unit: str, priority: int, message: str) -> dict[str, str]:
    """A record as ``journalctl -o json`` prints it: every value a string, times in µs."""
    return {
        "__CURSOR": f"s=0a1b;i={i:x};b=5f2c;m={i:x};t=62a8;x=77", "__REALTIME_TIMESTAMP": str(1733497200_000000 + i * 1_000_000),
        "__MONOTONIC_TIMESTAMP": str(5_000_000 + i), "_BOOT_ID": "5f2c" * 8, "PRIORITY": str(priority),
        "SYSLOG_FACILITY": "3", "SYSLOG_IDENTIFIER": unit.removesuffix(".service"), "_PID": "1234", "_UID": "0",
        "_COMM": unit.removesuffix(".service"), "_SYSTEMD_UNIT": unit, "_SYSTEMD_SLICE": "system.slice",
        "_HOSTNAME": "node-1", "_TRANSPORT": "stdout", "MESSAGE": message,
    }  # fmt: skip


def test_a_journalctl_export_is_priced_as_its_messages(tmp_path: Path) -> None:
    """What promtail's journal scrape (and Alloy's loki.source.journal) send is MESSAGE: the
    record's own fields are five to ten times its size."""
    records = [
        _journal_record(
            i,
            "kubelet.service" if i % 3 else "containerd.service",
            3 if i % 10 == 0 else 6,
            f"sync pod p{i % 9}",
        )
        for i in range(300)
    ]
    path = tmp_path / "node-1.journal.json"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    frame = pl.concat(list(read_log_file(path)))
    assert frame["bytes"].sum() == sum(len(r["MESSAGE"]) + 1 for r in records) < path.stat().st_size / 5
    assert frame.group_by("service").len().sort("service").rows() == [
        ("containerd.service", 100),
        ("kubelet.service", 200),
    ]
    assert (
        frame.filter(pl.col("level") == "ERROR").height == 30
        and frame.filter(pl.col("level") == "INFO").height == 270
    )
    assert (frame["ts"].min(), frame["ts"].max()) == (1733497200.0, 1733497200.0 + 299)
    assert frame["message"][1] == "sync pod p1"


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ('{"level":30,"time":1733497200000,"pid":1,"hostname":"h","msg":"listening"}', "INFO"),  # pino
        ('{"level":50,"time":1733497200000,"msg":"db down"}', "ERROR"),
        (
            '{"name":"api","hostname":"h","pid":1,"level":40,"msg":"slow","time":"2024-12-06T15:00:00Z","v":0}',
            "WARN",
        ),  # bunyan
        (
            '{"version":"1.1","host":"h","short_message":"x","level":3,"msg":"failed"}',
            "ERROR",
        ),  # GELF: syslog
        ('{"level":"info","msg":"ok"}', "INFO"),
    ],
)
def test_numeric_json_levels(line: str, level: str) -> None:
    assert parse_chunk([line], "json", "s")["level"].to_list() == [level]
