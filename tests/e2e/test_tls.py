"""TLS is verified by default: a self-signed server is refused clearly, and trusted through tls.ca_file."""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costscope.cli import app


@contextmanager
def https_metrics(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A /metrics endpoint over HTTPS with a fresh self-signed certificate for 127.0.0.1."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl is required (Debian package openssl)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    served = tmp_path / "served"
    served.mkdir()
    (served / "metrics").write_text("# TYPE up gauge\nup 1\n")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(served), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{httpd.server_address[1]}/metrics", cert
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_tls_is_verified_by_default_and_a_ca_file_trusts_the_server(tmp_path: Path) -> None:
    runner = CliRunner()
    with https_metrics(tmp_path) as (url, cert):
        refused = runner.invoke(app, ["analyze", url, "--db", str(tmp_path / "a.db"), "-q", "--no-color"])
        assert refused.exit_code == 3
        assert "TLS certificate verification failed" in " ".join(refused.output.split())
        cfg = tmp_path / "costscope.yaml"
        cfg.write_text(f"sources:\n  - url: {url}\n    tls: {{ca_file: {cert}}}\n")
        trusted = runner.invoke(app, ["analyze", "--config", str(cfg), "--db", str(tmp_path / "b.db"), "-q"])
        assert trusted.exit_code == 0, trusted.output
