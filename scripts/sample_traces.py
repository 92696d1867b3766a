"""The demo company's traces: OTLP JSON Lines, as the collector's file exporter writes them.

Two minutes of checkout and search traffic: frontend → checkout → payment / postgres, and
frontend → search → postgres. The deliberate stories: a slow database path (2% of checkouts wait
on a lock, ~900 ms) and rare errors (payment declines at the provider, 0.7%). One
``resourceSpans`` document per trace per line; ids in hex, int64 times as strings, as OTLP JSON
says. Written to ``sample_data/traces/shop.otlp.jsonl.gz``.
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path
from typing import Any

START_NS = 1_764_064_800 * 10**9
SPAN_S = 120


def _attrs(**kv: Any) -> list[dict[str, Any]]:
    out = []
    for k, v in kv.items():
        key = k.replace("__", ".")
        value = {"intValue": str(v)} if isinstance(v, int) else {"stringValue": str(v)}
        out.append({"key": key, "value": value})
    return out


def _span(rng: random.Random, trace: str, parent: str | None, name: str, kind: int, start: int, dur_ms: float,
          error: bool = False, **attrs: Any) -> tuple[str, dict[str, Any]]:  # fmt: skip
    sid = f"{rng.getrandbits(64):016x}"
    span: dict[str, Any] = {
        "traceId": trace, "spanId": sid, "name": name, "kind": kind,
        "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + int(dur_ms * 1e6)),
        "attributes": _attrs(**attrs), "status": {"code": 2, "message": "declined"} if error else {},
    }  # fmt: skip
    if parent:
        span["parentSpanId"] = parent
    return sid, span


def _doc(by_service: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": _attrs(service__name=svc, deployment__environment="prod")},
                "scopeSpans": [{"scope": {"name": "demo"}, "spans": spans}],
            }
            for svc, spans in by_service.items()
        ]
    }


def trace_lines(rng: random.Random, n: int) -> list[str]:
    """``n`` traces, one OTLP JSON document each."""
    out = []
    for _ in range(n):
        trace = f"{rng.getrandbits(128):032x}"
        start = START_NS + rng.randrange(SPAN_S * 10**9)
        spans: dict[str, list[dict[str, Any]]] = {}
        if rng.random() < 0.35:
            slow = rng.random() < 0.02
            error = rng.random() < 0.007
            db_ms = rng.uniform(850, 1000) if slow else rng.uniform(2, 12)
            pay_ms = rng.uniform(80, 250)
            total = db_ms + pay_ms + rng.uniform(5, 20)
            root, s = _span(rng, trace, None, "POST /checkout", 2, start, total + 3, error, http__route="/checkout",
                            http__response__status_code=502 if error else 200)  # fmt: skip
            spans["frontend"] = [s]
            co, s = _span(
                rng,
                trace,
                root,
                "PlaceOrder",
                2,
                start + 1_000_000,
                total,
                error,
                user__tier=rng.choice(["free", "pro"]),
            )
            spans["checkout"] = [s]
            _, s = _span(
                rng,
                trace,
                co,
                "SELECT orders FOR UPDATE",
                3,
                start + 2_000_000,
                db_ms,
                db__system="postgresql",
            )
            spans["postgres"] = [s]
            _, s = _span(rng, trace, co, "Charge", 3, start + 2_000_000 + int(db_ms * 1e6), pay_ms, error,
                         payment__provider=rng.choice(["adyen", "stripe"]))  # fmt: skip
            spans["payment"] = [s]
        else:
            total = rng.uniform(15, 60)
            root, s = _span(rng, trace, None, "GET /search", 2, start, total + 2, http__route="/search",
                            http__response__status_code=200)  # fmt: skip
            spans["frontend"] = [s]
            se, s = _span(
                rng, trace, root, "Search", 2, start + 500_000, total, query__terms=rng.randint(1, 5)
            )
            spans["search"] = [s]
            _, s = _span(
                rng, trace, se, "SELECT products", 3, start + 1_000_000, total * 0.4, db__system="postgresql"
            )
            spans["postgres"] = [s]
        out.append(json.dumps(_doc(spans), separators=(",", ":")))
    return out


def write_traces(out: Path, seed: int) -> None:
    """Write ``out/traces/shop.otlp.jsonl.gz``."""
    rng = random.Random(seed + 1)
    folder = out / "traces"
    folder.mkdir(parents=True, exist_ok=True)
    text = "\n".join(trace_lines(rng, 2500)) + "\n"
    (folder / "shop.otlp.jsonl.gz").write_bytes(gzip.compress(text.encode(), mtime=0))
