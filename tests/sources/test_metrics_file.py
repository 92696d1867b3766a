"""Exposition files from exporters nobody here wrote, judged by promtool and prometheus_client.

../shared/fixtures/realworld/metrics holds dumps from exporters' own test fixtures; some are not one
valid exposition (a family split in two, a second HELP). ``promtool check metrics`` refuses those;
Prometheus' scraper stores them (tests/e2e/test_split_families_live.py), and so does costscope,
naming in a warning the file and the first line promtool would refuse. On every file costscope
finds the series prometheus_client finds. A file without a final newline, which promtool 2.42
refuses ("unexpected end of input stream"), is read as Prometheus' scraper reads it.
"""

from __future__ import annotations

import subprocess
from itertools import chain
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from costscope.sources.exposition import ExpositionParser
from costscope.sources.metrics_file import _blocks, is_openmetrics_file
from tests.conftest import REALWORLD
from tests.servers import require_binary

DUMPS = sorted((REALWORLD / "metrics").rglob("*.prom")) if REALWORLD.is_dir() else []


def _promtool_refuses(path: Path) -> bool:
    result = subprocess.run(
        [require_binary("promtool"), "check", "metrics"],
        input=path.read_bytes(),
        capture_output=True,
        timeout=60,
    )
    out = result.stderr.decode() + result.stdout.decode()
    return "parsing error" in out and "unexpected end of input stream" not in out


@pytest.mark.parametrize("path", DUMPS, ids=lambda p: p.name)
def test_real_dump_as_promtool_and_prometheus_client_read_it(path: Path) -> None:
    parser = ExpositionParser(str(path), openmetrics=is_openmetrics_file(path))
    ours = {(_base(s.name), frozenset(s.labels)) for s in parser.parse(chain.from_iterable(_blocks(path)))}
    text = path.read_text(encoding="utf-8")
    families = text_string_to_metric_families(text)
    theirs = {(_base(s.name), frozenset(s.labels.items())) for f in families for s in f.samples}
    assert ours == theirs
    # what promtool refuses is said (with its file and line), and only that
    refused = _promtool_refuses(path)
    assert (parser.tolerated > 0) == refused
    if refused:
        assert parser.first_tolerated is not None
        assert parser.first_tolerated.file == str(path) and parser.first_tolerated.line


def _base(name: str) -> str:
    # prometheus_client names a counter's samples *_total even where the exporter did not
    return name.removesuffix("_total")


def test_there_are_dumps_of_both_verdicts() -> None:
    if not DUMPS:
        pytest.skip("../shared/fixtures/realworld is missing")
    refused = [p for p in DUMPS if _promtool_refuses(p)]
    assert len(DUMPS) >= 20 and 0 < len(refused) < len(DUMPS)
