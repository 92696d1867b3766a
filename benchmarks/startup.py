"""CLI start-up: ``costscope --version`` and ``--help`` against a bare interpreter, same run.

Heavy libraries (polars, DuckDB, plotly) load only when a command needs them. Prints the median
wall time of each over ``--runs`` fresh processes and the cost above ``python -c pass``.
Target: both at most 0.2 s.

Usage: python benchmarks/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def _median(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    bare = _median([sys.executable, "-c", "pass"], args.runs)
    print(f"python -c pass        {bare:.3f} s")
    for flag in ("--version", "--help"):
        t = _median([sys.executable, "-m", "costscope", flag], args.runs)
        print(f"costscope {flag:11s} {t:.3f} s (+{t - bare:.3f} s over the interpreter; target <= 0.2 s)")


if __name__ == "__main__":
    main()
