"""costscope.yaml: sources, pricing and ownership, validated with file:line:field errors.

The file is read with PyYAML's composer so that every value keeps its line; each error names
the file, the line and the dotted field (``sources[0].auth.bearer_token_env``).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from costscope.config.fields import auth_at, opt, path_at, url_at
from costscope.config.model import (
    COLLECT_MODES,
    DEFAULT_COLLECT_THRESHOLD,
    DEFAULT_CONCURRENCY,
    DEFAULT_EXACT_TOP,
    DEFAULT_LOOKBACK_S,
    DEFAULT_MAX_QUERIES,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT_S,
    Auth,
    Config,
    OwnershipRule,
    PushTarget,
    SourceConfig,
)
from costscope.pricing import DEFAULT_PRESET, PRESETS, UNITS, CostModel, cost_model
from costscope.simulate.engine import Constraints
from costscope.simulate.policies import Policy
from costscope.simulate.policies_file import DEFAULT_POLICIES, load_policies
from costscope.source_kinds import SOURCE_KINDS
from costscope.yaml_nodes import YamlAt, compose, suggest

_SOURCE_KEYS = (
    "header",
    "sample_lines",
    "name",
    "kind",
    "url",
    "path",
    "path_prefix",
    "tenant",
    "tenants",
    "headers",
    "auth",
    "tls",
    "timeout",
    "concurrency",
    "retries",
    "lenient",
    "lookback",
    "duration",
    "collect",
    "collect_threshold",
    "exact_top",
    "max_queries",
    "cardinality_api",
)


def _source(at: YamlAt, index: int, base_dir: Path) -> SourceConfig:
    f = at.mapping(_SOURCE_KEYS)
    kind = opt(f, "kind", YamlAt.string, "auto")
    if kind not in SOURCE_KINDS:
        raise f["kind"].fail(f"unknown source kind {kind!r} (allowed: {', '.join(SOURCE_KINDS)})")
    url = opt(f, "url", url_at, None)
    path = path_at(f["path"], base_dir) if "path" in f else None
    if (url is None) == (path is None):
        raise at.fail("a source needs exactly one of url or path")
    headers: tuple[tuple[str, str], ...] = ()
    if "headers" in f:
        for name, value_at in f["headers"].str_map().items():
            if name.lower() in ("authorization", "x-api-key", "cookie"):
                raise value_at.fail("secret header; put it under auth.headers_env")
            headers += ((name, value_at.string()),)
    tls_verify, ca_file = True, None
    if "tls" in f:
        tf = f["tls"].mapping(("verify", "ca_file"))
        tls_verify = opt(tf, "verify", YamlAt.boolean, True)
        ca_file = path_at(tf["ca_file"], base_dir) if "ca_file" in tf else None
        if ca_file is not None and not ca_file.is_file():
            raise tf["ca_file"].fail(f"CA file {ca_file} does not exist")
    default_name = f"source{index + 1}"
    return SourceConfig(
        name=opt(f, "name", YamlAt.string, default_name),
        kind=kind,
        url=url,
        path=path,
        path_prefix=opt(f, "path_prefix", YamlAt.string, "").rstrip("/"),
        tenant=opt(f, "tenant", YamlAt.string, None),
        headers=headers,
        auth=auth_at(f["auth"], base_dir) if "auth" in f else Auth(),
        tls_verify=tls_verify,
        ca_file=ca_file,
        timeout_s=opt(f, "timeout", YamlAt.duration, DEFAULT_TIMEOUT_S),
        concurrency=opt(f, "concurrency", lambda a: a.integer(1, 64), DEFAULT_CONCURRENCY),
        retries=opt(f, "retries", lambda a: a.integer(0, 10), DEFAULT_RETRIES),
        lenient=opt(f, "lenient", YamlAt.boolean, False),
        lookback_s=opt(f, "lookback", YamlAt.duration, DEFAULT_LOOKBACK_S),
        header=opt(f, "header", _header, None),
        sample_lines=opt(f, "sample_lines", lambda a: a.integer(0, 100_000), 1000),
        duration_s=opt(f, "duration", YamlAt.duration, None),
        collect=opt(f, "collect", _collect_mode, "auto"),
        collect_threshold=opt(
            f, "collect_threshold", lambda a: a.integer(0, 10**12), DEFAULT_COLLECT_THRESHOLD
        ),
        exact_top=opt(f, "exact_top", lambda a: a.integer(0, 1_000_000), DEFAULT_EXACT_TOP),
        max_queries=opt(f, "max_queries", lambda a: a.integer(1, 10**9), DEFAULT_MAX_QUERIES),
        cardinality_api=opt(f, "cardinality_api", YamlAt.boolean, True),
    )


def _collect_mode(at: YamlAt) -> str:
    mode = at.string()
    if mode not in COLLECT_MODES:
        raise at.fail(f"unknown collection mode {mode!r} (allowed: {', '.join(COLLECT_MODES)})")
    return mode


def _tenants(at: YamlAt, source: SourceConfig) -> list[SourceConfig]:
    """A multi-tenant backend (Mimir, Cortex, Thanos receive) as one source per tenant (``name/tenant``)."""
    f = at.mapping(_SOURCE_KEYS)
    if "tenants" not in f:
        return [source]
    if "tenant" in f:
        raise f["tenants"].fail("give either tenant or tenants, not both")
    names = [t.string() for t in f["tenants"].items()]
    if not names:
        raise f["tenants"].fail("tenants is empty")
    return [replace(source, name=f"{source.name}/{t}", tenant=t) for t in names]


def _header(at: YamlAt) -> str:
    text = at.string()
    if "<Content>" not in text or not text.rstrip().endswith("<Content>"):
        raise at.fail("a log header must end with <Content> (e.g. '<Date> <Time> <Level> <Content>')")
    return text


def _pricing(at: YamlAt) -> CostModel:
    f = at.mapping(("preset", "overrides"))
    preset = opt(f, "preset", YamlAt.string, DEFAULT_PRESET)
    if preset not in PRESETS:
        raise f["preset"].fail(f"unknown pricing preset {preset!r} (allowed: {', '.join(PRESETS)})")
    overrides: dict[str, float] = {}
    if "overrides" in f:
        for unit, value_at in f["overrides"].str_map().items():
            if unit not in UNITS:
                raise value_at.fail(f"unknown pricing unit{suggest(unit, tuple(UNITS))}")
            overrides[unit] = value_at.number()
    return cost_model(preset, overrides)


def _ownership(at: YamlAt) -> tuple[OwnershipRule, ...]:
    rules = []
    for item in at.items():
        f = item.mapping(("team", "match"))
        if "team" not in f or "match" not in f:
            raise item.fail("an ownership rule needs team and match")
        matchers = []
        for label, rx_at in f["match"].str_map().items():
            rx = rx_at.string()
            try:
                re.compile(rx)
            except re.error as exc:
                raise rx_at.fail(f"invalid regular expression: {exc}") from None
            matchers.append((label, rx))
        if not matchers:
            raise f["match"].fail("match needs at least one label")
        rules.append(OwnershipRule(f["team"].string(), tuple(matchers)))
    return tuple(rules)


def parse_config(text: str, file: str = "<config>", base_dir: Path | None = None) -> Config:
    """Validate costscope.yaml text; raises ``ConfigError`` naming file, line and field."""
    base = base_dir or Path.cwd()
    root = compose(text, file)
    if root is None:
        return Config(file=Path(file))
    top = YamlAt(root, "", file)
    f = top.mapping(("sources", "pricing", "ownership", "sampling", "push"))
    sources: list[SourceConfig] = []
    for i, item in enumerate(f["sources"].items() if "sources" in f else ()):
        for source in _tenants(item, _source(item, i, base)):
            if any(s.name == source.name for s in sources):
                raise item.fail(f"duplicate source name {source.name!r}")
            sources.append(source)
    policies, constraints = (
        _sampling(f["sampling"], base) if "sampling" in f else (DEFAULT_POLICIES, Constraints())
    )
    return Config(
        sources=tuple(sources),
        pricing=_pricing(f["pricing"]) if "pricing" in f else cost_model(DEFAULT_PRESET),
        ownership=_ownership(f["ownership"]) if "ownership" in f else (),
        file=Path(file),
        sampling_policies=policies,
        sampling_constraints=constraints,
        push=_push(f["push"]) if "push" in f else None,
    )


def _push(at: YamlAt) -> PushTarget:
    f = at.mapping(("url", "job", "instance"))
    if "url" not in f:
        raise at.fail("push needs the Pushgateway's url")
    return PushTarget(
        url=url_at(f["url"]),
        job=f["job"].string() if "job" in f else "costscope",
        instance=f["instance"].string() if "instance" in f else None,
    )


def _sampling(at: YamlAt, base_dir: Path) -> tuple[tuple[Policy, ...], Constraints]:
    f = at.mapping(("policies_file",))
    if "policies_file" not in f:
        return DEFAULT_POLICIES, Constraints()
    path = path_at(f["policies_file"], base_dir)
    if not path.is_file():
        raise f["policies_file"].fail(f"no such file {path}")
    policies, constraints = load_policies(path)
    return tuple(policies), constraints
