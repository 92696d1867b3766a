"""Sample names to families: the whole map and the per-name shortcut the plain path takes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from costscope.sources.exposition_lines import SUFFIXES, families_of, family_map

KINDS = [*SUFFIXES, "unknown", "gauge", "stateset"]
# stems that collide with suffixes on purpose: a_g + _count vs a + _gcount, a family named x_total
STEMS = ["a", "a_g", "a_total", "a_sum", "b:c", "_", "a_", "x_bucket"]
ENDINGS = ["", "_total", "_created", "_bucket", "_sum", "_count", "_gsum", "_gcount", "_info", "_other"]
names = st.builds(lambda stem, end: stem + end, st.sampled_from(STEMS), st.sampled_from(ENDINGS))


@given(
    types=st.dictionaries(names, st.sampled_from(KINDS), max_size=8),
    asked=st.lists(names, max_size=10),
)
def test_families_of_is_the_map_applied(types: dict[str, str], asked: list[str]) -> None:
    mapping = family_map(types)
    wanted = [*asked, *types]
    assert families_of(wanted, types) == [mapping.get(name, name) for name in wanted]


def test_families_of_examples() -> None:
    types = {"h": "histogram", "c": "counter", "c_total": "gauge", "g": "gaugehistogram", "g_g": "summary"}
    asked = ["h_bucket", "h_sum", "h_total", "c_total", "c_created", "g_gcount", "g_g_count", "h", "z_sum"]
    # a family of a type without suffixes keeps its own name, even where another would claim it
    assert families_of(asked, types) == ["h", "h", "h_total", "c_total", "c", "g", "g_g", "h", "z_sum"]
