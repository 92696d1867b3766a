"""Container logs as a node keeps them: the runtime's wrapping off, partial lines joined.

The files are written here as containerd/CRI-O and Docker's json-file driver write them (and
split long lines: ``P`` entries, a Docker ``log`` without its newline); the oracle is the content
the test put in, which is what a shipper's ``cri``/``docker`` stage sends on.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl
import pytest

import costscope
from costscope.sources.kinds import detect
from costscope.sources.log_files import read_log_file
from costscope.sources.wrapped_logs import container_service, wrapper_format

POD_DIR = "shop_checkout-7d9f8b6c5-x2k4p_0123abcd-0123-4567-89ab-0123456789ab"
CONTAINER_ID = "0123456789abcdef" * 4


def _content(n: int) -> list[dict[str, object]]:
    return [
        {
            "level": "error" if i % 25 == 0 else "info",
            "msg": "request served",
            "path": f"/item/{i % 7}",
            "ms": i,
        }
        for i in range(n)
    ]


def _cri(entries: list[dict[str, object]], split_every: int = 10) -> str:
    lines = []
    for i, entry in enumerate(entries):
        ts = f"2024-12-06T15:{i // 60 % 60:02d}:{i % 60:02d}.123456789Z"
        text = json.dumps(entry)
        if i % split_every == 0:  # a long line, split by the runtime
            lines += [
                f"{ts} stdout P {text[:9]}",
                f"{ts} stdout P {text[9:20]}",
                f"{ts} stdout F {text[20:]}",
            ]
        else:
            lines.append(f"{ts} stdout F {text}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("path", "service"),
    [
        (f"var/log/containers/checkout-7d9f8b6c5-x2k4p_shop_checkout-{CONTAINER_ID}.log", "shop/checkout"),
        (f"var/log/pods/{POD_DIR}/istio-proxy/0.log", "shop/istio-proxy"),
        (f"var/log/pods/{POD_DIR}/checkout/0.log.20241206-150000.gz", "shop/checkout"),
        (f"var/lib/docker/containers/{CONTAINER_ID}/{CONTAINER_ID}-json.log.1", "container 0123456789ab"),
        ("var/log/app/checkout.log", None),
    ],
)
def test_the_service_of_a_node_log_file(path: str, service: str | None) -> None:
    assert container_service(Path(path)) == service


@pytest.mark.parametrize("chunk_lines", [100_000, 7], ids=["one chunk", "partials across chunks"])
def test_a_cri_log_reads_as_its_content(tmp_path: Path, chunk_lines: int) -> None:
    entries = _content(400)
    path = tmp_path / "var/log/pods" / POD_DIR / "checkout" / "0.log"
    path.parent.mkdir(parents=True)
    path.write_text(_cri(entries))
    assert wrapper_format(path.read_text().splitlines()[:50]) == "cri"
    frame = pl.concat(list(read_log_file(path, chunk_lines=chunk_lines)))
    assert frame.height == len(entries)  # 440 lines on disk, 400 entries
    assert frame["bytes"].sum() == sum(len(json.dumps(e)) + 1 for e in entries)
    assert frame["message"].unique().to_list() == ["request served"]
    assert frame.filter(pl.col("level") == "ERROR").height == sum(e["level"] == "error" for e in entries)
    assert set(frame["service"]) == {"shop/checkout"}
    assert frame["ts"].min() == pytest.approx(1733497200.123456789) and frame["ts"].max() > frame["ts"].min()


def test_a_docker_json_file_log_reads_as_its_content(tmp_path: Path) -> None:
    lines, contents = [], []
    for i in range(120):
        inner = f'level={"warning" if i % 6 == 0 else "info"} msg="synced" n={i}'
        contents.append(inner)
        time = f"2024-12-06T15:00:{i % 60:02d}.5Z"
        parts = [inner[:8], inner[8:] + "\n"] if i % 10 == 0 else [inner + "\n"]  # split past 16 KiB
        lines += [json.dumps({"log": p, "stream": "stderr", "time": time}) for p in parts]
    path = tmp_path / "c-json.log.gz"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    frame = pl.concat(list(read_log_file(path)))
    assert frame.height == 120 and frame["bytes"].sum() == sum(len(c) + 1 for c in contents)
    assert frame.filter(pl.col("level") == "WARN").height == 20
    assert frame["message"].unique().to_list() == ["synced"]


def test_a_node_folder_prices_workloads_not_pods(tmp_path: Path) -> None:
    """Two pods of one deployment and a rotated file: one service, priced over its own window."""
    logs = tmp_path / "var/log/pods"
    for pod in ("x2k4p", "q7w9z"):
        d = logs / f"shop_checkout-7d9f8b6c5-{pod}_0123abcd-0123-4567-89ab-0123456789ab" / "checkout"
        d.mkdir(parents=True)
        (d / "0.log").write_text(_cri(_content(120)))
        (d / "0.log.20241206-140000.gz").write_bytes(gzip.compress(_cri(_content(60)).encode()))
    analysis = costscope.analyze([str(logs)], db=tmp_path / "db").analysis()
    volume = analysis.logs.volume
    assert set(volume["service"]) == {"shop/checkout"} and volume["lines"].sum() == 2 * (120 + 60)


def test_a_logcli_export_reads_as_the_lines_loki_holds(tmp_path: Path) -> None:
    """``logcli query -o jsonl``: Go marshals its map with sorted keys, the time in the chosen zone."""
    streams = [
        {"namespace": "shop", "service_name": "checkout"},
        {"app": "cart", "pod": "cart-0"},
        {"job": "varlogs"},
    ]
    out, lines = [], []
    for i in range(90):
        labels = streams[i % 3]
        line = json.dumps({"level": "error" if i % 9 == 0 else "info", "msg": "handled", "n": i})
        lines.append((labels, line))
        ts = f"2024-12-06T16:{i // 60:02d}:{i % 60:02d}.250000000+01:00"
        out.append(
            json.dumps(
                {"labels": labels, "line": line, "timestamp": ts}, sort_keys=True, separators=(",", ":")
            )
        )
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join(out) + "\n")
    assert wrapper_format(out[:50]) == "logcli"
    frame = pl.concat(list(read_log_file(path)))
    assert frame["bytes"].sum() == sum(len(line) + 1 for _, line in lines)
    assert frame.group_by("service").len().sort("service").rows() == [
        ("cart", 30),
        ("checkout", 30),
        ("varlogs", 30),
    ]
    assert frame.filter(pl.col("level") == "ERROR").height == 10 and frame["message"].unique().to_list() == [
        "handled"
    ]
    assert frame["ts"].min() == pytest.approx(1733497200.25)  # 16:00 at +01:00 is 15:00 UTC


def test_a_saved_loki_query_answer_reads_as_its_lines(tmp_path: Path) -> None:
    """``/loki/api/v1/query_range`` as Loki's HTTP API documents it: streams of ``[ns, line]``
    (``[ns, line, {metadata}]`` with categorized labels), newest first."""

    def values(n: int, start: int, text: str) -> list[list[object]]:
        return [[str(start - i * 1_000_000_000), f"{text} {i}", {"trace_id": "ab"}] for i in range(n)]

    answer = {
        "status": "success",
        "data": {
            "resultType": "streams",
            "result": [
                {
                    "stream": {"service_name": "checkout", "level": "error"},
                    "values": values(40, 1733497260_000000000, "level=error msg=failed"),
                },
                {
                    "stream": {"job": "varlogs", "filename": "/var/log/syslog"},
                    "values": values(60, 1733497300_000000000, "level=info msg=ok"),
                },
            ],
            "stats": {"summary": {"bytesProcessedPerSecond": 1}},
        },
    }
    path = tmp_path / "query_range.json"
    path.write_text(json.dumps(answer))
    assert detect(path) == "logs"
    frame = pl.concat(list(read_log_file(path, chunk_lines=30)))
    lines = [v[1] for s in answer["data"]["result"] for v in s["values"]]  # type: ignore[index]
    assert frame.height == 100 and frame["bytes"].sum() == sum(len(str(line)) + 1 for line in lines)
    assert frame.group_by("service").len().sort("service").rows() == [("checkout", 40), ("varlogs", 60)]
    assert frame.filter(pl.col("level") == "ERROR").height == 40
    assert frame["ts"].is_sorted() and frame["ts"].max() == 1733497300.0
