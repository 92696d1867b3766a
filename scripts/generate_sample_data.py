"""Generate sample_data/: the /metrics of a believable demo company, deterministically.

Twelve services (frontend, api-gateway, checkout, payment, users, search, cart, inventory,
notification, recommendation, postgres, kafka), each with a few instances, recorded in the wire
formats costscope reads: the central Prometheus's HTTP API answers about the services it scrapes
(``sample_data/prometheus/``, a costscope recording), and the ``/metrics`` expositions of the
frontend and the database and queue exporters (``sample_data/metrics/<job>/<instance>.prom``, the
``file_sd`` layout). The demo's cost problems are deliberate:

- api-gateway's ``http_requests_total`` carries a ``user_id`` label (a cardinality explosion);
- checkout's ``checkout_step_duration_seconds`` histogram has 40 buckets (over-bucketed);
- every Go service exports the full ``go_*`` runtime set, which nobody charts.

Logs (``sample_data/logs/``, ``sample_data/loki/``): see ``sample_logs.py``; traces
(``sample_data/traces/``): ``sample_traces.py``. Beside them, what
reads them (``sample_data/dashboards/``, ``sample_data/rules/``): see
``sample_usage.py``.

Usage: ``python scripts/generate_sample_data.py [OUT_DIR] [--scale N]`` (``--scale`` multiplies
the user population and instances, for benchmarks).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
from pathlib import Path

try:
    from scripts.sample_logs import write_logs
    from scripts.sample_traces import write_traces
    from scripts.sample_usage import write_usage
except ModuleNotFoundError:  # run as a script: scripts/ itself is on the path
    from sample_logs import write_logs  # type: ignore[no-redef]
    from sample_traces import write_traces  # type: ignore[no-redef]
    from sample_usage import write_usage  # type: ignore[no-redef]

SEED = 20261125
SERVICES = {
    # job: (instances, routes)
    "frontend": (3, ["/", "/product/:id", "/cart", "/checkout", "/search", "/static/*"]),
    "api-gateway": (
        3,
        [
            "/api/v1/products",
            "/api/v1/cart",
            "/api/v1/orders",
            "/api/v1/users/me",
            "/api/v1/search",
            "/api/v1/recommendations",
        ],
    ),
    "checkout": (2, ["/checkout", "/checkout/confirm", "/checkout/shipping"]),
    "payment": (2, ["/charge", "/refund", "/authorize"]),
    "users": (2, ["/users/:id", "/login", "/logout", "/signup"]),
    "search": (3, ["/search", "/suggest"]),
    "cart": (2, ["/cart", "/cart/items", "/cart/items/:id"]),
    "inventory": (2, ["/stock/:sku", "/reserve", "/release"]),
    "notification": (1, ["/email", "/sms", "/push"]),
    "recommendation": (2, ["/recommendations", "/similar/:id"]),
}
METHODS = {"/": ["GET"], "/login": ["POST"], "/signup": ["POST"], "/charge": ["POST"]}
STATUSES = ["200", "201", "204", "400", "401", "404", "409", "429", "500", "502", "503"]
DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
GO_GAUGES = [
    ("go_goroutines", "Number of goroutines that currently exist."),
    ("go_threads", "Number of OS threads created."),
    ("go_memstats_alloc_bytes", "Number of bytes allocated and still in use."),
    ("go_memstats_heap_alloc_bytes", "Number of heap bytes allocated and still in use."),
    ("go_memstats_heap_idle_bytes", "Number of heap bytes waiting to be used."),
    ("go_memstats_heap_inuse_bytes", "Number of heap bytes that are in use."),
    ("go_memstats_heap_objects", "Number of allocated objects."),
    ("go_memstats_heap_released_bytes", "Number of heap bytes released to OS."),
    ("go_memstats_heap_sys_bytes", "Number of heap bytes obtained from system."),
    ("go_memstats_stack_inuse_bytes", "Number of bytes in use by the stack allocator."),
    ("go_memstats_sys_bytes", "Number of bytes obtained from system."),
    (
        "go_memstats_next_gc_bytes",
        "Number of heap bytes when next garbage collection will take place.",
    ),
]


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: dict[str, str]) -> str:
    return "{" + ",".join(f'{k}="{_esc(v)}"' for k, v in pairs.items()) + "}" if pairs else ""


class Exposition:
    """Accumulates one target's exposition text (and its series, for the API recording)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.lines: list[str] = []
        self.series: list[tuple[str, dict[str, str]]] = []
        self.families: dict[str, tuple[str, str]] = {}

    def family(self, name: str, type_: str, help_: str) -> None:
        self.lines.append(f"# HELP {name} {help_}")
        self.lines.append(f"# TYPE {name} {type_}")
        self.families[name] = (type_, help_)

    def sample(self, name: str, labels: dict[str, str], value: float) -> None:
        text = f"{value:.6g}" if isinstance(value, float) else str(value)
        self.lines.append(f"{name}{_labels(labels)} {text}")
        self.series.append((name, labels))

    def histogram(self, name: str, labels: dict[str, str], buckets: list[float]) -> None:
        count = self.rng.randint(100, 100_000)
        cumulative = 0
        for le in buckets:
            cumulative += self.rng.randint(0, max(1, (count - cumulative) // 3))
            self.sample(f"{name}_bucket", {**labels, "le": f"{le:g}"}, cumulative)
        self.sample(f"{name}_bucket", {**labels, "le": "+Inf"}, count)
        self.sample(f"{name}_sum", labels, round(count * self.rng.uniform(0.01, 0.4), 3))
        self.sample(f"{name}_count", labels, count)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _http_metrics(exp: Exposition, job: str, routes: list[str], users: list[str]) -> None:
    rng = exp.rng
    exp.family("http_requests_total", "counter", "Total HTTP requests by method, route and status.")
    for route in routes:
        for method in METHODS.get(route, ["GET", "POST"]):
            for status in rng.sample(STATUSES, k=rng.randint(3, 7)):
                base = {"method": method, "route": route, "status": status}
                if job == "api-gateway":
                    # the explosion: someone added the caller's id "for debugging"
                    for user in rng.sample(users, k=len(users) // 4):
                        exp.sample("http_requests_total", {**base, "user_id": user}, rng.randint(1, 500))
                else:
                    exp.sample("http_requests_total", base, rng.randint(10, 10**6))
    exp.family("http_request_duration_seconds", "histogram", "HTTP request latency.")
    for route in routes:
        for method in METHODS.get(route, ["GET", "POST"]):
            exp.histogram(
                "http_request_duration_seconds", {"method": method, "route": route}, DEFAULT_BUCKETS
            )


def _go_runtime(exp: Exposition) -> None:
    for name, help_ in GO_GAUGES:
        exp.family(name, "gauge", help_)
        exp.sample(name, {}, float(exp.rng.randint(10, 10**8)))
    exp.family("go_gc_duration_seconds", "summary", "A summary of the pause duration of GC cycles.")
    for q in ("0", "0.25", "0.5", "0.75", "1"):
        exp.sample("go_gc_duration_seconds", {"quantile": q}, exp.rng.uniform(1e-5, 1e-3))
    exp.sample("go_gc_duration_seconds_sum", {}, exp.rng.uniform(1, 100))
    exp.sample("go_gc_duration_seconds_count", {}, exp.rng.randint(1000, 100000))
    exp.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.")
    exp.sample("process_resident_memory_bytes", {}, float(exp.rng.randint(10**7, 10**9)))
    exp.family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.")
    exp.sample("process_cpu_seconds_total", {}, exp.rng.uniform(10, 10**5))


def _service_specific(exp: Exposition, job: str, pods: int) -> None:
    rng = exp.rng
    if job == "checkout":
        # 40 buckets where 8 would answer every question asked of it
        buckets = [round(0.001 * 1.3**i, 6) for i in range(40)]
        exp.family("checkout_step_duration_seconds", "histogram", "Duration of each checkout step.")
        for step in ("cart", "address", "shipping", "payment", "confirm"):
            for region in ("eu-west", "us-east", "ap-south"):
                exp.histogram("checkout_step_duration_seconds", {"step": step, "region": region}, buckets)
    if job == "payment":
        exp.family("payment_transactions_total", "counter", "Payment transactions by provider and outcome.")
        for provider in ("stripe", "adyen", "paypal"):
            for outcome in ("approved", "declined", "error", "timeout"):
                for currency in ("EUR", "USD", "GBP", "INR"):
                    exp.sample(
                        "payment_transactions_total",
                        {"provider": provider, "outcome": outcome, "currency": currency},
                        rng.randint(0, 10**5),
                    )
    if job == "search":
        exp.family("search_query_terms_total", "counter", "Searches by normalized query term.")
        for i, term in enumerate(rng.sample(range(5000), 600)):
            exp.sample("search_query_terms_total", {"term": f"term-{term:04d}"}, i + 1)
    if job == "inventory":
        exp.family("inventory_stock_level", "gauge", "Units in stock per SKU and warehouse.")
        for sku in range(300):
            for wh in ("ams1", "fra2"):
                exp.sample(
                    "inventory_stock_level",
                    {"sku": f"SKU-{sku:05d}", "warehouse": wh},
                    float(rng.randint(0, 900)),
                )
    exp.family("kube_pod_container_status_restarts_total", "counter", "Container restarts.")
    for _ in range(pods):
        pod = f"{job}-{rng.getrandbits(40):010x}"[: len(job) + 11]
        exp.sample(
            "kube_pod_container_status_restarts_total",
            {"namespace": "shop", "pod": pod, "container": job},
            rng.randint(0, 5),
        )


def _postgres(exp: Exposition) -> None:
    rng = exp.rng
    exp.family("pg_stat_user_tables_n_live_tup", "gauge", "Estimated number of live rows.")
    exp.family("pg_stat_user_tables_seq_scan", "counter", "Number of sequential scans.")
    for db in ("orders", "users", "catalog"):
        for t in range(40):
            labels = {"datname": db, "schemaname": "public", "relname": f"{db}_t{t:02d}"}
            exp.sample("pg_stat_user_tables_n_live_tup", labels, float(rng.randint(0, 10**7)))
            exp.sample("pg_stat_user_tables_seq_scan", labels, rng.randint(0, 10**4))
    exp.family("pg_stat_activity_count", "gauge", "Connections by state.")
    for db in ("orders", "users", "catalog"):
        for state in ("active", "idle", "idle in transaction", "disabled"):
            exp.sample("pg_stat_activity_count", {"datname": db, "state": state}, float(rng.randint(0, 50)))
    exp.family("pg_up", "gauge", "Whether the last scrape of PostgreSQL was able to connect.")
    exp.sample("pg_up", {}, 1.0)


def _kafka(exp: Exposition) -> None:
    rng = exp.rng
    exp.family("kafka_consumergroup_lag", "gauge", "Current approximate lag of a consumer group.")
    for topic in ("orders", "payments", "emails", "clickstream", "inventory-events"):
        for partition in range(24):
            for group in ("billing", "analytics", "notifier"):
                exp.sample(
                    "kafka_consumergroup_lag",
                    {"topic": topic, "partition": str(partition), "consumergroup": group},
                    float(rng.randint(0, 10**4)),
                )
    exp.family("kafka_topic_partition_current_offset", "gauge", "Current offset of a partition.")
    for topic in ("orders", "payments", "emails", "clickstream", "inventory-events"):
        for partition in range(24):
            exp.sample(
                "kafka_topic_partition_current_offset",
                {"topic": topic, "partition": str(partition)},
                float(rng.randint(0, 10**9)),
            )


# jobs the central Prometheus scrapes (recorded as its API answers); the rest are read as files
API_JOBS = set(SERVICES) - {"frontend"}
PROMETHEUS_URL = "http://prometheus.demo.internal:9090"


def _write_json(directory: Path, name: str, doc: object) -> str:
    (directory / name).write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")
    return name


def write_recording(directory: Path, targets: list[tuple[str, str, Exposition]]) -> None:
    """Record what the central Prometheus's HTTP API answers about ``targets`` (job, instance, data)."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    by_metric: dict[str, list[dict[str, str]]] = {}
    families: dict[str, tuple[str, str]] = {}
    for job, instance, exp in targets:
        families.update(exp.families)
        for name, labels in exp.series:
            by_metric.setdefault(name, []).append(
                {"__name__": name, "job": job, "instance": instance, **labels}
            )
    ok = "success"
    entries = []

    def add(path: str, params: list[list[str]], doc: object) -> None:
        name = f"{len(entries):04d}.json"
        entries.append(
            {"path": path, "params": params, "status": 200, "file": _write_json(directory, name, doc)}
        )

    add(
        "/api/v1/status/buildinfo",
        [],
        {
            "status": ok,
            "data": {
                "version": "2.53.1",
                "revision": "14cfec3f6048b735e08c1e9c64c8d4211d32bab4",
                "branch": "HEAD",
                "buildUser": "root@demo",
                "buildDate": "20240710-10:16:27",
                "goVersion": "go1.22.5",
            },
        },
    )
    total = sum(len(v) for v in by_metric.values())
    top = sorted(by_metric.items(), key=lambda kv: -len(kv[1]))[:10]
    add(
        "/api/v1/status/tsdb",
        [],
        {
            "status": ok,
            "data": {
                "headStats": {
                    "numSeries": total,
                    "chunkCount": total * 2,
                    "minTime": 1764064800000,
                    "maxTime": 1764072000000,
                },
                "seriesCountByMetricName": [{"name": k, "value": len(v)} for k, v in top],
                "labelValueCountByLabelName": [],
                "memoryInBytesByLabelName": [],
                "seriesCountByLabelValuePair": [],
            },
        },
    )
    add("/api/v1/label/__name__/values", [], {"status": ok, "data": sorted(by_metric)})
    add(
        "/api/v1/metadata",
        [],
        {
            "status": ok,
            "data": {fam: [{"type": t, "help": h, "unit": ""}] for fam, (t, h) in sorted(families.items())},
        },
    )
    for name, series in sorted(by_metric.items()):
        add("/api/v1/series", [["match[]", f'{{__name__="{name}"}}']], {"status": ok, "data": series})
    rng = random.Random(SEED + 1)
    for metric in ("scrape_samples_scraped", "scrape_series_added"):
        result = []
        for job, instance, exp in targets:
            n = len(exp.series) if metric == "scrape_samples_scraped" else rng.randint(0, 40)
            result.append(
                {
                    "metric": {"__name__": metric, "job": job, "instance": instance},
                    "value": [1764072000.0, str(n)],
                }
            )
        add(
            "/api/v1/query",
            [["query", metric]],
            {"status": ok, "data": {"resultType": "vector", "result": result}},
        )
    active = [
        {
            "discoveredLabels": {"__address__": instance},
            "labels": {"job": job, "instance": instance},
            "scrapePool": job,
            "scrapeUrl": f"http://{instance}/metrics",
            "globalUrl": f"http://{instance}/metrics",
            "lastError": "",
            "lastScrape": "2025-11-25T12:00:00Z",
            "lastScrapeDuration": 0.01,
            "health": "up",
            "scrapeInterval": "15s",
            "scrapeTimeout": "10s",
        }
        for job, instance, _ in targets
    ]
    add(
        "/api/v1/targets",
        [["state", "active"]],
        {"status": ok, "data": {"activeTargets": active, "droppedTargets": []}},
    )
    manifest = {"format": "costscope-recording/1", "base_url": PROMETHEUS_URL, "responses": entries}
    (directory / "recording.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


def fleet(scale: int = 1) -> list[tuple[str, str, Exposition]]:
    """Every target of the demo company: (job, instance, its exposition), in a fixed order."""
    rng = random.Random(SEED)
    users = [f"u-{rng.getrandbits(32):08x}" for _ in range(400 * scale)]
    targets: list[tuple[str, str, Exposition]] = []
    for job, (instances, routes) in SERVICES.items():
        for i in range(instances * scale):
            exp = Exposition(rng)
            _http_metrics(exp, job, routes, users)
            _service_specific(exp, job, pods=instances * scale)
            _go_runtime(exp)
            targets.append((job, f"{job}-{i}", exp))
    for job, writer in (("postgres", _postgres), ("kafka", _kafka)):
        exp = Exposition(rng)
        writer(exp)
        targets.append((job, f"{job}-0", exp))
    return targets


def generate(out: Path, scale: int = 1) -> dict[str, int]:
    """Write the demo under ``out``; returns series per job (the ground truth)."""
    metrics_dir = out / "metrics"
    if metrics_dir.exists():
        shutil.rmtree(metrics_dir)
    counts: dict[str, int] = {}
    scraped: list[tuple[str, str, Exposition]] = []
    for job, instance, exp in fleet(scale):
        counts[job] = counts.get(job, 0) + len(exp.series)
        if job in API_JOBS:
            scraped.append((job, f"{instance}.shop.svc:8080", exp))
            continue
        path = metrics_dir / job / f"{instance}.prom"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(exp.text(), encoding="utf-8")
    write_recording(out / "prometheus", scraped)
    write_usage(out)
    write_logs(out, SEED)
    write_traces(out, SEED)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", nargs="?", default=str(Path(__file__).parent.parent / "sample_data"))
    parser.add_argument("--scale", type=int, default=1)
    args = parser.parse_args()
    counts = generate(Path(args.out), args.scale)
    print(f"{sum(counts.values()):,} series in {len(counts)} jobs under {args.out}")


if __name__ == "__main__":
    main()
