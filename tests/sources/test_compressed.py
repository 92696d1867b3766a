"""Compressed inputs, told by their first bytes: gzip, bzip2 and xz read as the plain file does.

Each file is compressed here with Python's own modules and kept under a name that does not say
so (``metrics.prom``, ``app.log.1``); the plain file's reading is the reference, and exposition
counts are checked against prometheus_client as well.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

import costscope
from costscope.errors import InputWarning
from costscope.sources.compressed import compression, head
from costscope.sources.kinds import detect
from tests.conftest import SAMPLE_DATA

COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "bzip2": bz2.compress,
    "xz": lzma.compress,
}
SERIES_ANSWER = {
    "status": "success",
    "data": [{"__name__": "up", "job": "a"}, {"__name__": "up", "job": "b"}],
}
INPUTS = [  # (name it keeps, content, kind)
    ("metrics.prom", (SAMPLE_DATA / "metrics" / "frontend" / "frontend-0.prom").read_bytes(), "exposition"),
    ("gateway.log.1", (SAMPLE_DATA / "logs" / "gateway.log").read_bytes(), "logs"),
    ("postgres.json", (SAMPLE_DATA / "dashboards" / "postgres.json").read_bytes(), "grafana"),
    ("shop.rules.yml", (SAMPLE_DATA / "rules" / "shop.rules.yml").read_bytes(), "rules"),
    ("series.json", json.dumps(SERIES_ANSWER).encode(), "series"),
]
TRACE = [
    (
        "trace.json",
        json.dumps([[{"traceId": "a" * 16, "id": f"{i:016x}", "name": "get"} for i in range(3000)]]).encode(),
        "traces",
    )
]


def _figures(folder: Path, db: Path) -> dict[str, object]:
    analysis = costscope.analyze([str(folder)], db=db).analysis()
    return {
        "series": int(analysis.metrics["series"].sum()) if analysis.metrics.height else 0,
        "log_lines": int(analysis.logs.volume["lines"].sum()) if analysis.logs.known else 0,
        "log_bytes": int(analysis.logs.volume["bytes"].sum()) if analysis.logs.known else 0,
        "readers": analysis.usage.summary() if analysis.usage.known else None,
    }


@pytest.mark.parametrize("method", sorted(COMPRESSORS))
@pytest.mark.parametrize(("name", "content", "kind"), INPUTS, ids=[i[2] for i in INPUTS])
def test_a_compressed_file_reads_as_the_plain_one(
    tmp_path: Path, method: str, name: str, content: bytes, kind: str
) -> None:
    plain, packed = tmp_path / "plain", tmp_path / "packed"
    plain.mkdir()
    packed.mkdir()
    (plain / name).write_bytes(content)
    (packed / name).write_bytes(COMPRESSORS[method](content))
    assert compression((packed / name).read_bytes()[:6]) == method
    assert detect(packed / name) == kind
    assert _figures(packed, tmp_path / "p.db") == _figures(plain, tmp_path / "q.db")


def test_a_gzipped_dump_keeps_every_series_prometheus_client_finds(tmp_path: Path) -> None:
    text = (SAMPLE_DATA / "metrics" / "frontend" / "frontend-0.prom").read_text()
    expected = len(
        {
            (s.name, tuple(sorted(s.labels.items())))
            for f in text_string_to_metric_families(text)
            for s in f.samples
        }
    )
    (tmp_path / "frontend.prom").write_bytes(gzip.compress(text.encode()))
    analysis = costscope.analyze([str(tmp_path / "frontend.prom")], db=tmp_path / "db").analysis()
    assert analysis.metrics["series"].sum() == expected


def test_zstd_is_named_not_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(b"\x28\xb5\x2f\xfd" + bytes(range(40)))
    found = detect(path)
    assert isinstance(found, InputWarning) and "zstd-compressed" in found.message


def test_the_start_of_a_file_cut_short_is_still_seen(tmp_path: Path) -> None:
    text = b"".join(
        b"2025-10-01T10:00:%02d.000Z INFO request %d served\n" % (i % 60, i) for i in range(20_000)
    )
    path = tmp_path / "cut.log"
    path.write_bytes(gzip.compress(text)[:2_000])
    assert text.startswith(head(path, "gzip", 1 << 16)[:100])
    assert detect(path) == "logs"


def _big(kind: str) -> bytes:
    """A file of ``kind`` large (and varied) enough that its head decodes before the damage."""
    values = [str(i * 7919 % 104729) for i in range(30_000)]
    if kind == "series":
        return json.dumps(
            {"status": "success", "data": [{"__name__": "up", "job": v} for v in values]}
        ).encode()
    if kind == "traces":
        return json.dumps(
            [[{"traceId": f"{i:032x}", "id": f"{i:016x}", "name": v} for i, v in enumerate(values)]]
        ).encode()
    if kind == "exposition":
        return "".join(f'up{{job="{v}"}} 1\n' for v in values).encode()
    return "".join(f"2025-10-01T10:00:00.000Z INFO request {v} served\n" for v in values).encode()


@pytest.mark.parametrize("kind", ["series", "traces", "exposition", "logs"])
def test_a_stream_corrupt_past_its_head_is_an_error_naming_the_file(tmp_path: Path, kind: str) -> None:
    """xz checks its data as it goes: the head decodes, the rest fails with LZMAError."""
    packed = bytearray(lzma.compress(_big(kind)))
    for i in range(len(packed) - 400, len(packed) - 300):
        packed[i] ^= 0xFF
    path = tmp_path / f"{kind}.data"
    path.write_bytes(bytes(packed))
    found = detect(path)
    if kind in ("series", "traces"):  # one JSON document: its kind is told from the whole of it
        assert isinstance(found, InputWarning) and "xz-compressed, and then cannot read" in found.message
    else:
        assert found == kind
    result = subprocess.run(
        [str(Path(sys.executable).parent / "costscope"), "analyze", str(path), "--db", str(tmp_path / "db"), "-q"],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (2, 3) and str(path) in result.stderr and "cannot read" in result.stderr
