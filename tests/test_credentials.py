"""Secrets never reach DuckDB, the report, the JSON or the logs of a real run."""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from costscope.credentials import Secret, redact_url

SECRET = "tok-9f8e7d6c5b4a-very-secret"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:pw@host:9090/x", "https://<redacted>@host:9090/x"),
        ("http://host/metrics?token=abc&x=1", "http://host/metrics?token=<redacted>&x=1"),
        ("http://host/api?api_key=k", "http://host/api?api_key=<redacted>"),
        ("http://host/metrics", "http://host/metrics"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_secret_repr_names_its_origin_only() -> None:
    s = Secret("env:X", SECRET)
    assert SECRET not in repr(s) and SECRET not in str(s) and SECRET not in f"{[s]}"


class _NeedsToken(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.headers.get("Authorization") != f"Bearer {SECRET}":
            self.send_response(401)
            self.end_headers()
            return
        body = b'# TYPE up gauge\nup{job="x"} 1\n'
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_no_artifact_of_a_run_contains_the_token(tmp_path: Path) -> None:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NeedsToken)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/metrics"
        cfg = tmp_path / "costscope.yaml"
        cfg.write_text(
            f"sources:\n  - name: guarded\n    url: {url}\n    auth:\n      bearer_token_env: CS_TOKEN\n"
        )
        out = tmp_path / "out"
        out.mkdir()
        env = {"CS_TOKEN": SECRET, "PATH": "/usr/bin:/bin"}
        result = subprocess.run(
            [sys.executable, "-m", "costscope", "analyze", "--config", str(cfg), "--db", str(out / "db.duckdb"),
             "--report", str(out / "r.html"), "--json", str(out / "r.json"), "--log-format", "json", "-v"],
            capture_output=True, text=True, timeout=120, env=env, cwd=Path(__file__).parent.parent,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert SECRET not in result.stdout + result.stderr
        for artifact in out.iterdir():
            assert SECRET.encode() not in artifact.read_bytes(), artifact.name
    finally:
        httpd.shutdown()
        httpd.server_close()
