"""A synthetic fleet exposition with known ground truth, for real-server tests and benchmarks.

Series are spread over metrics of 10,000 series each, with the labels that explode cardinality
in real fleets (``user_id``, ``path``, ``pod``) and a histogram; every label set is distinct, so
the number of series per metric is known exactly without parsing anything.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

PER_METRIC = 10_000


def fleet_lines(series: int, seed: int = 7) -> Iterator[str]:
    """Exposition lines of ``series`` series (Prometheus text format)."""
    rng = random.Random(seed)
    metrics = (series + PER_METRIC - 1) // PER_METRIC
    for m in range(metrics):
        name = f"app_requests_{m:03d}_total"
        yield f"# HELP {name} Requests by path, status, pod and user."
        yield f"# TYPE {name} counter"
        for i in range(min(PER_METRIC, series - m * PER_METRIC)):
            yield (
                f'{name}{{method="GET",path="/api/v1/items/{i % 500}",status="{200 + i % 5}",'
                f'pod="app-{i % 97:02d}-{rng.getrandbits(24):06x}",user_id="u{i:06d}"}} {i}'
            )


def ground_truth(series: int) -> dict[str, int]:
    """Series per metric that ``fleet_lines(series)`` produces."""
    metrics = (series + PER_METRIC - 1) // PER_METRIC
    return {f"app_requests_{m:03d}_total": min(PER_METRIC, series - m * PER_METRIC) for m in range(metrics)}


def write_fleet(path: Path, series: int) -> Path:
    """Write ``fleet_lines(series)`` to ``path`` (once; an existing file is kept)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as fh:
            for line in fleet_lines(series):
                fh.write(line + "\n")
    return path
