"""A folder of links reads as the folders it links to; loops end; dead links and unreadable folders are said."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import costscope
from costscope.sources.folders import walk
from costscope.sources.kinds import classify
from tests.conftest import SAMPLE_DATA

EXPOSITION = "# TYPE up gauge\nup 1\n"


def test_links_to_folders_are_followed(tmp_path: Path) -> None:
    real = tmp_path / "real" / "metrics"
    real.mkdir(parents=True)
    (real / "a.prom").write_text(EXPOSITION)
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "metrics").symlink_to(real, target_is_directory=True)
    assert classify(inputs).files == {"exposition": (inputs / "metrics" / "a.prom",)}


def test_a_link_back_up_the_tree_is_read_once(tmp_path: Path) -> None:
    (tmp_path / "a.prom").write_text(EXPOSITION)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "up").symlink_to(tmp_path, target_is_directory=True)
    tree = walk(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in tree.paths] == ["a.prom", "sub", "sub/up"]
    assert tree.problems == ()


def test_a_link_to_nothing_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "a.prom").write_text(EXPOSITION)
    (tmp_path / "gone.log").symlink_to(tmp_path / "deleted.log")
    contents = classify(tmp_path)
    assert contents.files == {"exposition": (tmp_path / "a.prom",)}
    assert [(w.file, w.message) for w in contents.warnings] == [
        (str(tmp_path / "gone.log"), f"a link to nothing ({tmp_path / 'deleted.log'})")
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any folder")
def test_a_folder_that_cannot_be_read_is_a_warning(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "a.prom").write_text(EXPOSITION)
    locked.chmod(0)
    try:
        contents = classify(tmp_path)
    finally:
        locked.chmod(0o755)
    assert [w.file for w in contents.warnings] == [str(locked)]
    assert "cannot be read" in contents.warnings[0].message


def test_a_folder_of_links_analyzes_as_the_folders_themselves(tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    linked.mkdir()
    for part in ("metrics", "dashboards", "rules"):
        (linked / part).symlink_to(SAMPLE_DATA / part, target_is_directory=True)
    through_links = costscope.analyze([str(linked)], db=tmp_path / "a.db").analysis()
    by_parts = costscope.analyze(
        [str(SAMPLE_DATA / p) for p in ("metrics", "dashboards", "rules")], db=tmp_path / "b.db"
    )
    assert through_links.metrics["series"].sum() == by_parts.analysis().metrics["series"].sum() > 0
    assert (
        through_links.usage.summary()["dashboards"] == by_parts.analysis().usage.summary()["dashboards"] > 0
    )
