"""A whole ``costscope analyze FILE --json … --report …`` vs prometheus_client merely parsing FILE.

The input is the synthetic fleet (tests/synthetic.py, default 735,000 series: about 735k lines,
86 MB) generated once into benchmarks/.cache/. Each costscope run is a fresh process with a fresh
database, as a user's first run is; its stage timings (collect, analyze) come from its own JSON
and the rest (start-up, outputs) is the wall time left over. Its CPU time (user + system) over the
machine's cores is the wall time it could not go under here however well it overlapped. The baseline is
``text_string_to_metric_families`` over the same text in this process, file read included.

The two take turns (a costscope run, then a client parse), so both meet the same load. Prints
the median of ``--runs`` runs of each, the stages, peak RSS, the ratio of the medians (client
parse seconds / costscope seconds) and the median of each turn's own ratio. Target: ratio >= 5.

Usage: python benchmarks/end_to_end.py [--series N] [--runs R]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.synthetic import write_fleet  # noqa: E402


def client_parse(path: Path) -> tuple[float, int]:
    """Seconds and samples of prometheus_client parsing the file (read included)."""
    from prometheus_client.parser import text_string_to_metric_families

    started = time.perf_counter()
    text = path.read_text(encoding="utf-8")
    samples = sum(len(f.samples) for f in text_string_to_metric_families(text))
    return time.perf_counter() - started, samples


def costscope_run(path: Path, work: Path) -> tuple[float, float, dict[str, float], int, int]:
    """Wall seconds, CPU seconds, stage timings, series counted and peak RSS (KiB) of one analyze run."""
    db, out, report = work / "costscope.duckdb", work / "out.json", work / "report.html"
    for f in (db, out, report):
        f.unlink(missing_ok=True)
    argv = [str(Path(sys.executable).parent / "costscope"), "analyze", str(path), "--db", str(db)]
    argv += ["--json", str(out), "--report", str(report)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, cwd=work)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    doc = json.loads(out.read_text())
    return wall, cpu, doc["timings"], int(doc["totals"]["series"]), after.ru_maxrss


def main() -> None:
    """Print the medians and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=735_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    path = write_fleet(ROOT / "benchmarks" / ".cache" / f"fleet-{args.series}.prom", args.series)
    lines = sum(1 for _ in path.open("rb"))
    print(f"input: {path.name}, {lines:,} lines, {path.stat().st_size / 1e6:.0f} MB")
    walls: list[float] = []
    cpus: list[float] = []
    client: list[float] = []
    stages: dict[str, list[float]] = {}
    # the two take turns, run by run, so that both meet the same spells of a noisy machine
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.runs):
            wall, cpu, timings, series, rss = costscope_run(path, Path(tmp))
            assert series == args.series, (series, args.series)
            walls.append(wall)
            cpus.append(cpu)
            for stage, seconds in timings.items():
                stages.setdefault(stage, []).append(seconds)
            stages.setdefault("start-up + outputs", []).append(wall - sum(timings.values()))
            seconds, samples = client_parse(path)
            assert samples == args.series, (samples, args.series)
            client.append(seconds)
    ours, theirs = statistics.median(walls), statistics.median(client)
    paired = statistics.median(c / w for c, w in zip(client, walls, strict=True))
    print(
        f"costscope analyze (whole run): {ours:.2f} s median of {args.runs} (runs {', '.join(f'{w:.2f}' for w in walls)})"
    )
    for stage, seconds in stages.items():
        print(f"  {stage:20} {statistics.median(seconds):.2f} s")
    print(f"  peak RSS (largest run) {rss / 1024:.0f} MiB")
    cores = os.cpu_count() or 1
    cpu = statistics.median(cpus)
    # CPU seconds over the cores: the wall time the run could not go under on this machine
    print(f"  CPU (user + system) {cpu:.2f} s: {cpu / cores:.2f} s on {cores} cores at best")
    print(
        f"prometheus_client parse alone: {theirs:.2f} s median (runs {', '.join(f'{c:.2f}' for c in client)})"
    )
    print(f"ratio (client parse / costscope whole run): {theirs / ours:.1f}x (target >= 5)")
    print(f"median of the runs' own ratios: {paired:.1f}x")


if __name__ == "__main__":
    main()
