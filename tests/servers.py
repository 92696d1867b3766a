"""Real servers for tests: Debian's Prometheus, VictoriaMetrics, Pushgateway and node_exporter.

Each starts on a free 127.0.0.1 port in a temp dir, is waited for until ready, and is stopped
by PID. Helpers load data fast: an exposition served over HTTP for Prometheus to scrape (head
data), ``promtool tsdb create-blocks-from openmetrics`` for history, and VictoriaMetrics'
``/api/v1/import/prometheus`` + ``/internal/force_flush``.

A missing binary skips the test on a developer's machine and fails it in CI (``CI`` set).
"""

from __future__ import annotations

import http.server
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from scripts.loopback import loopback

BINARIES = {
    "prometheus": "prometheus",
    "promtool": "promtool",
    "victoria-metrics": "victoria-metrics",
    "pushgateway": "prometheus-pushgateway",
    "node_exporter": "prometheus-node-exporter",
    "chromium": "chromium",
    "chromedriver": "chromedriver",
}


def require_binary(key: str) -> str:
    """Path of a Debian-packaged binary; skip locally, fail in CI, when it is missing."""
    path = shutil.which(BINARIES[key])
    if path is None:
        message = f"{BINARIES[key]} is not installed (apt-get install it; see README)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A started server: its base URL, process and working directory."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    workdir: Path
    log: Path

    def stop(self) -> None:
        """Stop by PID: SIGTERM, then SIGKILL after 10 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@contextmanager
def running(name: str, argv: list[str], url: str, ready_path: str, workdir: Path) -> Iterator[Server]:
    """Start a server, yield it once ready, stop it by PID whatever happens."""
    server = start_server(name, argv, url, ready_path, workdir)
    try:
        yield server
    finally:
        server.stop()


def start_server(
    name: str, argv: list[str], url: str, ready_path: str, workdir: Path, timeout: float = 30.0
) -> Server:
    """Start ``argv`` and wait until ``url + ready_path`` answers 200."""
    log = workdir / f"{name}.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(argv, cwd=workdir, stdout=fh, stderr=subprocess.STDOUT)
    server = Server(name, url, proc, workdir, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(url + ready_path, timeout=1.0).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{name} not ready after {timeout}s:\n{log.read_text()[-2000:]}")


@contextmanager
def served_files(directory: Path) -> Iterator[str]:
    """Serve ``directory`` over HTTP on loopback (an exposition for Prometheus to scrape)."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(directory), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            pass

        def guess_type(self, path: str | os.PathLike[str]) -> str:
            return "text/plain; version=0.0.4; charset=utf-8"

    with loopback(Handler) as url:
        yield url


@contextmanager
def prometheus(
    workdir: Path,
    scrape_targets: dict[str, list[str]] | None = None,
    scrape_interval: str = "1s",
    extra_args: list[str] | None = None,
    data_dir: Path | None = None,
    metric_relabel_configs: dict[str, list[dict[str, object]]] | None = None,
    rule_files: list[Path] | None = None,
    query_log_file: Path | None = None,
    extra_config: dict[str, object] | None = None,
) -> Iterator[Server]:
    """Prometheus 2.42 scraping ``scrape_targets`` (job -> ["host:port", ...]), with optional
    ``metric_relabel_configs`` per job, a ``query_log_file`` and ``extra_config`` (top-level keys
    set as given: ``remote_write``, whole ``scrape_configs``); ``POST /-/reload`` reloads it."""
    binary = require_binary("prometheus")
    port = free_port()
    jobs = []
    for job, targets in (scrape_targets or {}).items():
        entry: dict[str, object] = {"job_name": job, "static_configs": [{"targets": targets}]}
        if metric_relabel_configs and job in metric_relabel_configs:
            entry["metric_relabel_configs"] = metric_relabel_configs[job]
        jobs.append(entry)
    global_: dict[str, object] = {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval}
    if query_log_file is not None:
        global_["query_log_file"] = str(query_log_file)
    config: dict[str, object] = {"global": global_}
    if jobs:
        config["scrape_configs"] = jobs
    if rule_files:
        config["rule_files"] = [str(p) for p in rule_files]
    config.update(extra_config or {})
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    data = data_dir or workdir / "data"
    data.mkdir(exist_ok=True)
    argv = [
        binary,
        f"--config.file={workdir / 'prometheus.yml'}",
        f"--storage.tsdb.path={data}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-admin-api",
        "--web.enable-lifecycle",
        "--storage.tsdb.retention.time=100y",
        *(extra_args or []),
    ]
    with running("prometheus", argv, f"http://127.0.0.1:{port}", "/-/ready", workdir) as server:
        yield server


@contextmanager
def victoria_metrics(
    workdir: Path, extra_args: list[str] | None = None, cache: bool = False
) -> Iterator[Server]:
    """A single-node VictoriaMetrics (its query cache off unless ``cache``: tests see fresh data at once)."""
    binary = require_binary("victoria-metrics")
    port = free_port()
    argv = [
        binary,
        f"-storageDataPath={workdir / 'vm-data'}",
        f"-httpListenAddr=127.0.0.1:{port}",
        "-retentionPeriod=100y",
        *([] if cache else ["-search.disableCache"]),
        *(extra_args or []),
    ]
    with running("victoria-metrics", argv, f"http://127.0.0.1:{port}", "/health", workdir) as server:
        yield server


@contextmanager
def pushgateway(workdir: Path) -> Iterator[Server]:
    """A Prometheus Pushgateway."""
    binary = require_binary("pushgateway")
    port = free_port()
    argv = [binary, f"--web.listen-address=127.0.0.1:{port}"]
    with running("pushgateway", argv, f"http://127.0.0.1:{port}", "/-/ready", workdir) as server:
        yield server


@contextmanager
def node_exporter(workdir: Path) -> Iterator[Server]:
    """node_exporter with its default collectors."""
    binary = require_binary("node_exporter")
    port = free_port()
    argv = [binary, f"--web.listen-address=127.0.0.1:{port}"]
    with running("node_exporter", argv, f"http://127.0.0.1:{port}", "/metrics", workdir) as server:
        yield server


def vm_import(server: Server, exposition: str) -> None:
    """Load exposition text into VictoriaMetrics and make it searchable at once."""
    r = httpx.post(server.url + "/api/v1/import/prometheus", content=exposition.encode(), timeout=60)
    r.raise_for_status()
    httpx.get(server.url + "/internal/force_flush", timeout=60).raise_for_status()


def promtool_backfill(openmetrics_file: Path, data_dir: Path) -> None:
    """Write TSDB blocks from an OpenMetrics file (history for Prometheus to serve)."""
    binary = require_binary("promtool")
    subprocess.run(
        [binary, "tsdb", "create-blocks-from", "openmetrics", str(openmetrics_file), str(data_dir)],
        check=True,
        capture_output=True,
        timeout=600,
    )


def prom_count(url: str, selector: str) -> int:
    """``count(selector)`` on a Prometheus-compatible server (0 when nothing matches)."""
    res = httpx.get(url + "/api/v1/query", params={"query": f"count({selector})"}, timeout=30).json()["data"][
        "result"
    ]
    return int(res[0]["value"][1]) if res else 0


def wait_for(predicate: object, timeout: float = 30.0, interval: float = 0.2) -> None:
    """Poll ``predicate()`` until it is truthy or ``timeout`` passes (then fail)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout}s")
