"""The OpenMetrics conformance suite as a test table (../shared/fixtures/realworld/openmetrics).

Every case the suite says parses is accepted, with exactly the series prometheus_client's
OpenMetrics parser finds. Every case it says must not parse is either refused, naming the file and
line, or accepted on purpose by a rule listed in ``ACCEPTED_ON_PURPOSE`` and in docs/exposition.md.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_families

from costscope.errors import ParseError
from costscope.sources.exposition import ExpositionParser
from tests.conftest import REALWORLD, ROOT

SUITE = REALWORLD / "openmetrics"
CASES = sorted(p for p in SUITE.glob("*") if (p / "test.json").is_file()) if SUITE.is_dir() else []

# rule (a case-name pattern) → why costscope accepts these on purpose; docs/exposition.md lists them
ACCEPTED_ON_PURPOSE = {
    r"bad_counter_values_\d+": "values are not judged: a negative or NaN counter, sum or bucket is still one series",
    r"bad_(info_and_)?stateset_(info_)?values_\d+": "values are not judged: an info or stateset sample other than 0/1 is still one series",
    r"bad_histograms_(?:[0-36-9]|1[0-4])": "histogram structure (+Inf bucket, _count/_sum beside buckets, cumulative counts, bound order, canonical le) is not checked: Prometheus ingests such series too, and each is billed",
    r"bad_grouping_or_ordering_\d+": "interleaved label sets and timestamp order are not checked: series are counted, not a time line; a repeated series counts once",
    r"bad_missing_or_invalid_labels_for_a_type_\d+": "type-specific labels (quantile, le, a stateset's own label) are not required: the series exist as exposed",
}


def _rule(name: str) -> str | None:
    return next((rule for rule in ACCEPTED_ON_PURPOSE if re.fullmatch(rule, name)), None)


def _parse(case: Path) -> set[tuple[str, frozenset[tuple[str, str]]]]:
    spec = json.loads((case / "test.json").read_text())
    text = (case / spec["file"]).read_bytes().decode("utf-8")
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    parser = ExpositionParser(str(case / spec["file"]), openmetrics=True)
    return {(s.name, frozenset(s.labels)) for s in parser.parse(lines if lines[-1] else lines[:-1])}


def test_the_suite_is_there() -> None:
    if not CASES:
        pytest.skip(f"{SUITE} is missing (../shared/fixtures)")
    assert len(CASES) >= 200


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_conformance_case(case: Path) -> None:
    spec = json.loads((case / "test.json").read_text())
    if spec["shouldParse"]:
        text = (case / spec["file"]).read_text(encoding="utf-8")
        expected = {(s.name, frozenset(s.labels.items())) for f in om_families(text) for s in f.samples}
        assert _parse(case) == expected
        return
    try:
        _parse(case)
    except ParseError as exc:
        assert exc.file and exc.file.endswith("metrics")
        assert exc.line is not None and exc.line >= 1
    else:
        assert _rule(case.name), f"{case.name} must not parse, and no rule accepts it on purpose"


def test_every_rule_is_documented_and_used() -> None:
    doc = (ROOT / "docs" / "exposition.md").read_text(encoding="utf-8")
    for rule in ACCEPTED_ON_PURPOSE:
        assert f"`{rule}`" in doc, rule
        if CASES:
            accepted = []
            for c in CASES:
                if re.fullmatch(rule, c.name):
                    try:
                        _parse(c)
                        accepted.append(c.name)
                    except ParseError:
                        pass
            assert accepted, f"{rule} accepts no case"
