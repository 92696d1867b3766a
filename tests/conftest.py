"""Shared fixtures: temp databases, the demo data, the CLI runner, and real servers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costscope.store import Store
from tests import servers

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA = ROOT / "sample_data"
# real data nobody here wrote, read where it is (never copied in): ../shared/fixtures beside the checkout
SHARED = ROOT.parent / "shared" / "fixtures"
EXPOSITION = SHARED / "prometheus_exposition"
REALWORLD = SHARED / "realworld"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under CI a missing ../shared fails the run; on a laptop its tests are skipped, saying so."""
    if not SHARED.is_dir() and os.environ.get("CI") == "true":
        raise pytest.UsageError(f"{SHARED} is missing: CI must have ../shared/fixtures")


def shared(*parts: str) -> Path:
    """A path under ../shared/fixtures; skips the test (with the reason) when it is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is missing (../shared/fixtures holds the real-world test data)")
    return path


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A path for a fresh DuckDB file."""
    return tmp_path / "costscope.duckdb"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    """A fresh, migrated store."""
    with Store.open(db_path) as s:
        yield s


@pytest.fixture
def runner() -> CliRunner:
    """Runs the typer app in-process."""
    return CliRunner()


@pytest.fixture
def node_exporter(tmp_path: Path) -> Iterator[servers.Server]:
    """A real node_exporter on 127.0.0.1."""
    with servers.node_exporter(tmp_path) as s:
        yield s


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[servers.Server]:
    """A real Pushgateway on 127.0.0.1."""
    with servers.pushgateway(tmp_path) as s:
        yield s


@pytest.fixture
def victoria_metrics(tmp_path: Path) -> Iterator[servers.Server]:
    """A real single-node VictoriaMetrics on 127.0.0.1."""
    with servers.victoria_metrics(tmp_path) as s:
        yield s
