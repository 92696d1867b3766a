"""A folder of many small expositions (the file_sd layout, ``DIR/<job>/<instance>.prom``).

Each file pays what a file costs whatever its size: kind detection, a parser, the frame work of
giving its series ids and target labels. Generated once into benchmarks/.cache/: ``--files``
files of ``--series`` series each (a counter with two labels, as a small exporter writes it).
Each costscope run is a fresh ``costscope analyze DIR --json``; its collect stage comes from its
own JSON. The baseline is prometheus_client parsing every file in this process, reads included.

Prints the medians of ``--runs`` runs: collect seconds, milliseconds per file, and the ratio
(client parse seconds / costscope collect seconds).

Usage: python benchmarks/folder_of_files.py [--files N] [--series S] [--runs R]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def write_folder(root: Path, files: int, series: int) -> Path:
    """``files`` expositions of ``series`` series each under ``root`` (written once)."""
    marker = root / ".complete"
    if marker.exists():
        return root
    for i in range(files):
        job = root / f"job{i // 50}"
        job.mkdir(parents=True, exist_ok=True)
        lines = ["# HELP http_requests_total Requests.", "# TYPE http_requests_total counter"]
        lines += [f'http_requests_total{{code="{200 + c}",path="/p{c % 7}"}} {c}' for c in range(series)]
        (job / f"inst{i % 50}.prom").write_text("\n".join(lines) + "\n")
    marker.touch()
    return root


def client_parse(root: Path) -> float:
    """Seconds prometheus_client takes to read and parse every file."""
    from prometheus_client.parser import text_string_to_metric_families

    started = time.perf_counter()
    for path in sorted(root.rglob("*.prom")):
        for family in text_string_to_metric_families(path.read_text()):
            list(family.samples)
    return time.perf_counter() - started


def collect_seconds(root: Path, work: Path) -> tuple[float, int]:
    """The collect stage of one fresh ``costscope analyze`` and the series it counted."""
    db, out = work / "c.duckdb", work / "out.json"
    for f in (db, out):
        f.unlink(missing_ok=True)
    argv = [str(Path(sys.executable).parent / "costscope"), "analyze", str(root), "--db", str(db)]
    subprocess.run([*argv, "--json", str(out), "--report", str(work / "r.html"), "-q"], check=True, cwd=work)
    doc = json.loads(out.read_text())
    return float(doc["timings"]["collect"]), int(doc["totals"]["series"])


def main() -> None:
    """Print the medians and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--series", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    root = write_folder(
        ROOT / "benchmarks" / ".cache" / f"folder-{args.files}x{args.series}", args.files, args.series
    )
    with tempfile.TemporaryDirectory() as tmp:
        runs = [collect_seconds(root, Path(tmp)) for _ in range(args.runs)]
    assert all(series == args.files * args.series for _, series in runs), runs
    ours = statistics.median(s for s, _ in runs)
    theirs = statistics.median(client_parse(root) for _ in range(args.runs))
    print(f"input: {args.files:,} files of {args.series} series")
    print(f"costscope collect: {ours:.2f} s median of {args.runs} ({ours / args.files * 1e3:.1f} ms a file)")
    print(f"prometheus_client parse alone: {theirs:.2f} s median ({theirs / args.files * 1e3:.1f} ms a file)")
    print(f"ratio (client parse / costscope collect): {theirs / ours:.2f}x")


if __name__ == "__main__":
    main()
