"""Every preset's prices are facts with a date and a source, or say that they are not checked."""

from __future__ import annotations

import re
from datetime import date

import pytest

from costscope.pricing import PRESETS, UNITS, cost_model


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_has_date_and_source(name: str) -> None:
    model = PRESETS[name]
    read_on = date.fromisoformat(model.as_of)  # an ISO date ...
    assert read_on <= date.today()  # ... never one the prices were not yet read on
    assert model.source.strip()
    assert set(model.prices) <= set(UNITS)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_price_is_checked_or_says_not(name: str) -> None:
    model = PRESETS[name]
    for unit, address in model.checked.items():
        assert model.price(unit) > 0, f"{name}: {unit} is checked but not priced"
        assert re.match(r"https://[^ ]+$", address), address
    if model.unchecked:
        assert "not checked" in model.source
        caveat = model.caveat()
        assert caveat and all(u in caveat for u in model.unchecked)
    if model.estimate:
        assert "estimate" in model.source and "estimate" in model.describe()


def test_an_override_is_no_longer_unchecked() -> None:
    model = cost_model("grafana-cloud", {"active_series": 0.008})
    assert "active_series" not in model.unchecked
    assert model.caveat() is None
    assert model.describe() == "grafana-cloud prices as of 2026-12-02 (overridden: active_series)"


def test_grafana_logs_are_written_plus_processed() -> None:
    model = PRESETS["grafana-cloud"]
    assert model.price("log_gb_ingested") == pytest.approx(0.45)
    assert model.log_bytes_cost(2e9) == pytest.approx(0.90)
    assert model.unchecked == ("active_series",)
