"""notebooks/explore.ipynb runs top to bottom on sample_data with the public API only."""

from __future__ import annotations

import json

import nbformat
from nbclient import NotebookClient

from tests.conftest import ROOT

NOTEBOOK = ROOT / "notebooks" / "explore.ipynb"


def test_notebook_runs_and_draws_its_charts() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    ).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    charts = [o for o in outputs if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(charts) == 5
    text = json.dumps([o.get("data", {}).get("text/plain", "") for o in outputs])
    assert "http_requests_total" in text
    assert "series_after" in text and "actions: $777.35 → $73.40 a month" in json.dumps(
        [o.get("text", "") for o in outputs], ensure_ascii=False
    )


def test_notebook_uses_only_the_public_api() -> None:
    import costscope

    source = "\n".join(c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code")
    for line in source.splitlines():
        if "costscope." in line:
            attr = line.split("costscope.", 1)[1].split("(", 1)[0]
            assert attr in costscope.__all__, line
