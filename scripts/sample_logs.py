"""The demo company's logs: files in three formats, and a recorded Loki.

- ``sample_data/logs/checkout.jsonl.gz``: structured JSON lines (gzip), with trace ids; its
  noisiest statement is a DEBUG cache lookup (the deliberate waste), and a chatty INFO
  "request completed" line that is really a counter;
- ``sample_data/logs/cart.log``: logfmt; ``sample_data/logs/gateway.log``: plain text access logs
  with a few oversized lines (request bodies dumped whole);
- ``sample_data/loki/``: a recording of Loki's API (volume, stats, patterns) about the search and
  notification services, made against ``loki_double`` so it has exactly Loki's documented shapes.

The files span ten seconds and Loki's window is an hour: costs extrapolate from those to a month.
"""

from __future__ import annotations

import gzip
import json
import random
import shutil
import tempfile
from pathlib import Path

START_S = 1_764_064_800  # 2025-11-25T10:00:00Z
HOUR_S = 3600
FILE_SPAN_S = 10  # the files hold ten seconds of a busy shop: ~600 lines/s of checkout
LOKI_MULTIPLIER = 500  # Loki's index counts each recorded line 500 times: ~550 lines/s in an hour


def _ts(rng: random.Random, span: float = FILE_SPAN_S) -> float:
    return START_S + rng.random() * span


def _iso(t: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def checkout_lines(rng: random.Random, n: int) -> list[str]:
    """JSON lines of the checkout service."""
    rows = []
    for _ in range(n):
        t = _ts(rng)
        trace = f"{rng.getrandbits(128):032x}"
        r = rng.random()
        if r < 0.45:
            rec = {"level": "debug", "msg": f"cache lookup key=cart:{rng.getrandbits(32):08x} hit=false"}
        elif r < 0.75:
            rec = {
                "level": "info",
                "msg": f"request completed method=POST route=/api/checkout status=200 duration_ms={rng.randint(5, 400)}",
            }
        elif r < 0.92:
            rec = {
                "level": "info",
                "msg": f"order {rng.getrandbits(40):010x} placed total={rng.randint(5, 900)}.{rng.randint(0, 99):02d} currency=EUR",
                "trace_id": trace,
            }
        elif r < 0.985:
            rec = {
                "level": "warn",
                "msg": f"payment provider {rng.choice(['adyen', 'stripe'])} slow: {rng.randint(900, 4000)}ms",
                "trace_id": trace,
            }
        else:
            rec = {
                "level": "error",
                "msg": f"failed to reserve stock for sku=SKU-{rng.randint(0, 300):05d}: timeout",
                "trace_id": trace,
            }
        rows.append((t, {"ts": _iso(t), "service": "checkout", **rec}))
    return [json.dumps(r, separators=(",", ":")) for _, r in sorted(rows, key=lambda x: x[0])]


def cart_lines(rng: random.Random, n: int) -> list[str]:
    """logfmt lines of the cart service."""
    rows = []
    for _ in range(n):
        t = _ts(rng)
        r = rng.random()
        if r < 0.6:
            body = f'level=info msg="item added" cart_id={rng.getrandbits(32):08x} sku=SKU-{rng.randint(0, 300):05d}'
        elif r < 0.9:
            body = f'level=debug msg="recalculated totals" cart_id={rng.getrandbits(32):08x} items={rng.randint(1, 9)}'
        else:
            body = f'level=warn msg="price changed since added" sku=SKU-{rng.randint(0, 300):05d}'
        rows.append((t, f"ts={_iso(t)} {body} service=cart"))
    return [line for _, line in sorted(rows)]


def gateway_lines(rng: random.Random, n: int) -> list[str]:
    """Plain-text access lines of the gateway, some with a whole request body dumped."""
    rows = []
    for _ in range(n):
        t = _ts(rng)
        ip = ".".join(str(rng.randint(1, 254)) for _ in range(4))
        route = rng.choice(["/api/cart", "/api/search", "/api/checkout", "/static/app.js"])
        line = f"{_iso(t)} INFO {ip} GET {route} 200 {rng.randint(1, 90)}ms"
        if rng.random() < 0.02:
            payload = json.dumps({"items": [{"sku": f"SKU-{i:05d}", "qty": 1} for i in range(200)]})
            line = f"{_iso(t)} DEBUG request body dump route={route} body={payload}"
        rows.append((t, line))
    return [line for _, line in sorted(rows)]


def loki_streams(rng: random.Random) -> list[tuple[dict[str, str], list[tuple[int, str]]]]:
    """The streams of the demo's Loki: search and notification, by level."""
    streams: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for _ in range(4000):
        t = int(_ts(rng, HOUR_S) * 1e9)
        r = rng.random()
        if r < 0.55:
            key, line = (
                ("search", "debug"),
                f"query parsed terms={rng.randint(1, 6)} took={rng.randint(1, 30)}ms",
            )
        elif r < 0.85:
            key, line = (
                ("search", "info"),
                f"search served results={rng.randint(0, 50)} page={rng.randint(1, 5)}",
            )
        elif r < 0.97:
            key, line = (
                ("notification", "info"),
                f"email queued template=order_confirmation id={rng.getrandbits(32):08x}",
            )
        else:
            key, line = (
                ("notification", "error"),
                f"smtp send failed code={rng.choice([421, 450, 554])} retry=true",
            )
        streams.setdefault(key, []).append((t, line))
    return [
        ({"service_name": svc, "detected_level": lvl, "namespace": "shop"}, sorted(values))
        for (svc, lvl), values in sorted(streams.items())
    ]


def record_loki(out: Path, streams: list[tuple[dict[str, str], list[tuple[int, str]]]]) -> None:
    """Record costscope reading ``streams`` from a Loki double into ``out`` (a recording)."""
    from costscope.config import Config, SourceConfig
    from costscope.run import collect_snapshot
    from costscope.store.database import Store

    try:
        from scripts.loki_double import LokiDouble, serve
    except ModuleNotFoundError:  # run as a script
        from loki_double import LokiDouble, serve  # type: ignore[no-redef]

    if out.exists():
        shutil.rmtree(out)
    with (
        tempfile.TemporaryDirectory() as tmp,
        serve(LokiDouble(streams, fixed_time_s=START_S + HOUR_S, multiplier=LOKI_MULTIPLIER)) as url,
    ):
        cfg = Config(sources=(SourceConfig(name="loki", kind="loki", url=url),))
        with Store.open(Path(tmp) / "db") as store:
            collect_snapshot(store, [], cfg, record=Path(tmp) / "rec")
        shutil.copytree(Path(tmp) / "rec" / "loki", out)
    manifest = json.loads((out / "recording.json").read_text())
    manifest["base_url"] = "http://loki.demo.internal:3100"
    (out / "recording.json").write_text(json.dumps(manifest, indent=1) + "\n")


def write_logs(out: Path, seed: int) -> None:
    """Write the log files and the Loki recording under ``out``."""
    rng = random.Random(seed)
    logs = out / "logs"
    if logs.exists():
        shutil.rmtree(logs)
    logs.mkdir(parents=True)
    text = "\n".join(checkout_lines(rng, 6000)) + "\n"
    (logs / "checkout.jsonl.gz").write_bytes(gzip.compress(text.encode(), mtime=0))
    (logs / "cart.log").write_text("\n".join(cart_lines(rng, 2500)) + "\n")
    (logs / "gateway.log").write_text("\n".join(gateway_lines(rng, 2500)) + "\n")
    record_loki(out / "loki", loki_streams(rng))
