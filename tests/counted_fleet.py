"""A fleet for comparing ``collect: counts`` with ``collect: series``: labels that are correlated,
carried by only some series, a histogram and a summary, so label drops are not products of
cardinalities and partial carriers meet reduced series."""

from __future__ import annotations

import random


def counted_fleet(seed: int = 11, scale: int = 1, timestamp_ms: int | None = None) -> str:
    """Exposition text (with ``timestamp_ms`` on every sample when given)."""
    rng = random.Random(seed)
    ts = f" {timestamp_ms}" if timestamp_ms is not None else ""
    lines = ["# TYPE shop_requests_total counter"]
    seen: set[str] = set()
    for i in range(300 * scale):
        region = rng.choice(["eu", "us", "ap"])
        zone = f"{region}-{rng.randint(1, 2)}"  # correlated: a zone says its region
        labels = f'job="shop",region="{region}",zone="{zone}",route="/r{rng.randint(0, 9)}"'
        if i % 3 == 0:  # carried by a third of the series only
            labels += f',user_id="u{rng.randint(0, 60 * scale)}"'
        if labels not in seen:
            seen.add(labels)
            lines.append(f"shop_requests_total{{{labels}}} {i}{ts}")
    lines.append("# TYPE shop_latency_seconds histogram")
    for route in range(4):
        for pod in range(3 * scale):
            base = f'job="shop",route="/r{route}",pod="p{pod}"'
            for le in ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"][: 4 + route]:
                lines.append(f'shop_latency_seconds_bucket{{{base},le="{le}"}} 1{ts}')
            lines.append(f"shop_latency_seconds_sum{{{base}}} 1{ts}")
            lines.append(f"shop_latency_seconds_count{{{base}}} 1{ts}")
    lines.append("# TYPE db_query_seconds summary")
    for db in ("orders", "users"):
        base = f'job="db",db="{db}"'
        for q in ("0.5", "0.9", "0.99"):
            lines.append(f'db_query_seconds{{{base},quantile="{q}"}} 0.1{ts}')
        lines.append(f"db_query_seconds_sum{{{base}}} 1{ts}")
        lines.append(f"db_query_seconds_count{{{base}}} 1{ts}")
    lines.append("# TYPE queue_depth gauge")
    for n in range(40 * scale):
        owner = "payments" if n % 4 == 0 else "search"
        lines.append(f'queue_depth{{job="queue",queue="q{n}",team="{owner}",shard="{n % 5}"}} {n}{ts}')
    lines.append(f'up_thing{{instance="a"}} 1{ts}')  # a metric without a job
    return "\n".join(lines) + "\n"
