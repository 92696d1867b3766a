"""costscope.yaml: a valid file loads; every invalid one names its file, line and field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costscope.cli import app
from costscope.config import load_config, parse_config
from costscope.errors import ConfigError

VALID = """\
sources:
  - name: prod
    kind: prometheus
    url: https://prom.example.internal:9090
    path_prefix: /prometheus/
    tenant: team-a
    headers: {X-Env: prod}
    auth:
      bearer_token_env: COSTSCOPE_TEST_TOKEN
    tls: {verify: true}
    timeout: 45s
    concurrency: 2
    retries: 5
  - path: dumps/
    lenient: true
pricing:
  preset: datadog
  overrides:
    active_series: 0.04
ownership:
  - team: payments
    match: {job: "payment|checkout"}
"""


def test_valid_config_loads_with_secrets_resolved_and_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COSTSCOPE_TEST_TOKEN", "s3cr3t-token")
    (tmp_path / "costscope.yaml").write_text(VALID)
    cfg = load_config(tmp_path / "costscope.yaml")
    prod, dumps = cfg.sources
    assert prod.path_prefix == "/prometheus" and prod.timeout_s == 45 and prod.concurrency == 2
    assert prod.auth.bearer_token is not None
    assert prod.auth.bearer_token.reveal() == "s3cr3t-token"
    assert "s3cr3t" not in repr(cfg) and "s3cr3t" not in str(prod.auth)
    assert dumps.name == "source2" and dumps.path == tmp_path / "dumps" and dumps.lenient
    assert cfg.pricing.name == "datadog" and cfg.pricing.price("active_series") == 0.04
    assert "overridden: active_series" in cfg.pricing.describe()
    assert cfg.ownership[0].team == "payments"


def test_empty_file_is_an_empty_config() -> None:
    assert parse_config("").sources == ()


# Each case: YAML text, the line and field the error must name, a phrase of the message.
INVALID = [
    ("sources: [\n", 2, "", "invalid YAML"),  # unclosed flow sequence
    ("sources:\n  - url: http://x\n   kind: prometheus\n", 3, "", "invalid YAML"),  # bad indent
    ("source:\n  - url: http://x\n", 1, "source", "did you mean 'sources'"),  # typo in a key
    ("sources: {url: http://x}\n", 1, "sources", "expected a list"),  # mapping for a list
    ("sources:\n  - kind: prometheus\n", 2, "sources[0]", "exactly one of url or path"),
    ("sources:\n  - url: http://x\n    path: y\n", 2, "sources[0]", "exactly one of url or path"),
    ("sources:\n  - url: ftp://x\n", 2, "sources[0].url", "http:// or https://"),
    ("sources:\n  - url: http://u:p@x\n", 2, "sources[0].url", "credentials in the URL"),
    (
        "sources:\n  - url: http://x\n    kind: graphite\n",
        3,
        "sources[0].kind",
        "unknown source kind",
    ),
    ("sources:\n  - url: http://x\n    timeout: soon\n", 3, "sources[0].timeout", "duration"),
    ("sources:\n  - url: http://x\n    timeout: -1\n", 3, "sources[0].timeout", "duration"),
    (
        "sources:\n  - url: http://x\n    concurrency: many\n",
        3,
        "sources[0].concurrency",
        "integer",
    ),
    (
        "sources:\n  - url: http://x\n    concurrency: 0\n",
        3,
        "sources[0].concurrency",
        "from 1 to 64",
    ),
    ("sources:\n  - url: http://x\n    retries: 3.5\n", 3, "sources[0].retries", "integer"),
    ("sources:\n  - url: http://x\n    lenient: maybe\n", 3, "sources[0].lenient", "true or false"),
    (
        "sources:\n  - url: http://x\n    auth:\n      bearer_token: abc\n",
        4,
        "sources[0].auth.bearer_token",
        "never written in the config",
    ),
    (
        "sources:\n  - url: http://x\n    auth:\n      bearer_token_env: COSTSCOPE_UNSET_VAR\n",
        4,
        "sources[0].auth.bearer_token_env",
        "COSTSCOPE_UNSET_VAR is not set",
    ),
    (
        "sources:\n  - url: http://x\n    auth:\n      bearer_token_file: /nonexistent/tok\n",
        4,
        "sources[0].auth.bearer_token_file",
        "cannot read secret file",
    ),
    (
        "sources:\n  - url: http://x\n    auth:\n      basic: {username: u, password: p}\n",
        4,
        "sources[0].auth.basic.password",
        "never written in the config",
    ),
    (
        "sources:\n  - url: http://x\n    auth:\n      basic: {username: u}\n",
        4,
        "sources[0].auth.basic",
        "password_env or password_file",
    ),
    (
        "sources:\n  - url: http://x\n    headers:\n      Authorization: Bearer x\n",
        4,
        "sources[0].headers.Authorization",
        "secret header",
    ),
    (
        "sources:\n  - url: http://x\n    tls: {ca_file: /nonexistent.pem}\n",
        3,
        "sources[0].tls.ca_file",
        "does not exist",
    ),
    (
        "sources:\n  - url: http://x\n    tls: {verify: 'no'}\n",
        3,
        "sources[0].tls.verify",
        "true or false",
    ),
    (
        "sources:\n  - {url: http://x, name: a}\n  - {url: http://y, name: a}\n",
        3,
        "sources[1]",
        "duplicate source name",
    ),
    ("sources:\n  - url: http://x\n    url: http://y\n", 3, "sources[0].url", "duplicate key"),
    ("pricing:\n  preset: splunk\n", 2, "pricing.preset", "unknown pricing preset"),
    (
        "pricing:\n  overrides:\n    per_series: 1\n",
        3,
        "pricing.overrides.per_series",
        "unknown pricing unit",
    ),
    (
        "pricing:\n  overrides:\n    active_series: cheap\n",
        3,
        "pricing.overrides.active_series",
        "non-negative number",
    ),
    (
        "pricing:\n  overrides:\n    active_series: -1\n",
        3,
        "pricing.overrides.active_series",
        "non-negative number",
    ),
    ("ownership:\n  - team: a\n", 2, "ownership[0]", "needs team and match"),
    (
        "ownership:\n  - team: a\n    match: {job: '(unclosed'}\n",
        3,
        "ownership[0].match.job",
        "invalid regular expression",
    ),
    ("ownership:\n  - team: a\n    match: {}\n", 3, "ownership[0].match", "at least one label"),
    ("- just\n- a list\n", 1, "", "expected a mapping"),
    (
        "sources:\n  - path: x\n    header: '<Date> <Time>'\n",
        3,
        "sources[0].header",
        "must end with <Content>",
    ),
    (
        "sources:\n  - url: http://x\n    sample_lines: -5\n",
        3,
        "sources[0].sample_lines",
        "integer from 0 to 100000",
    ),
    (
        "sources:\n  - url: http://x\n    collect: everything\n",
        3,
        "sources[0].collect",
        "unknown collection mode",
    ),
    ("sources:\n  - url: http://x\n    exact_top: -1\n", 3, "sources[0].exact_top", "integer from 0"),
    ("sources:\n  - url: http://x\n    max_queries: 0\n", 3, "sources[0].max_queries", "integer from 1"),
    ("sources:\n  - url: http://x\n    tenants: []\n", 3, "sources[0].tenants", "tenants is empty"),
    (
        "sources:\n  - url: http://x\n    tenant: a\n    tenants: [b]\n",
        4,
        "sources[0].tenants",
        "either tenant or tenants",
    ),
]


def test_counts_settings_and_one_source_per_tenant() -> None:
    cfg = parse_config(
        "sources:\n  - name: mimir\n    url: http://x\n    collect: counts\n    exact_top: 50\n"
        "    max_queries: 900\n    collect_threshold: 10\n    tenants: [team-a, team-b]\n",
        file="costscope.yaml",
    )
    assert [(s.name, s.tenant) for s in cfg.sources] == [
        ("mimir/team-a", "team-a"),
        ("mimir/team-b", "team-b"),
    ]
    assert {(s.collect, s.exact_top, s.max_queries, s.collect_threshold) for s in cfg.sources} == {
        ("counts", 50, 900, 10)
    }
    assert parse_config("sources:\n  - url: http://x\n", file="c.yaml").sources[0].collect == "auto"


@pytest.mark.parametrize(
    ("text", "line", "field", "phrase"), INVALID, ids=[c[3] + f"@{c[1]}" for c in INVALID]
)
def test_invalid_config_names_file_line_and_field(text: str, line: int, field: str, phrase: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, file="costscope.yaml")
    err = info.value
    assert err.file == "costscope.yaml"
    assert err.line == line, str(err)
    assert err.field == field, str(err)
    assert phrase in str(err)
    assert str(err).startswith(f"costscope.yaml:{line}")


@pytest.mark.parametrize("text", [c[0] for c in INVALID[:3]] + [INVALID[16][0]])
def test_cli_exits_2_with_one_line_naming_the_place(tmp_path: Path, runner: CliRunner, text: str) -> None:
    cfg = tmp_path / "costscope.yaml"
    cfg.write_text(text)
    result = runner.invoke(app, ["analyze", "--config", str(cfg), "--db", str(tmp_path / "x.duckdb")])
    assert result.exit_code == 2, result.output
    assert f"{cfg}:" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.duckdb").exists()


def test_missing_config_file(tmp_path: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["analyze", "--config", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "config file not found" in result.output


def test_every_preset_names_its_date_and_source() -> None:
    from costscope.pricing import PRESETS

    for name, model in PRESETS.items():
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", model.as_of), name
        assert model.source and ("." in model.source or "estimate" in model.source), name


def test_a_dpm_price_is_refused_grafana_cloud_bills_dpm_as_series(tmp_path: Path) -> None:
    path = tmp_path / "costscope.yaml"
    path.write_text("pricing:\n  preset: grafana-cloud\n  overrides:\n    dpm_thousand: 1.0\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "dpm_thousand" in str(info.value) and info.value.line == 4
