"""costscope.yaml: sources, pricing and ownership, validated with file:line:field errors.

The file is read with PyYAML's composer so that every value keeps its line; each error names
the file, the line and the dotted field (``sources[0].auth.bearer_token_env``). Secrets are
never written in the file itself: it names the environment variable or file that holds them,
and they are resolved here into ``Secret`` values that never print.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import yaml

from costscope.credentials import Secret
from costscope.errors import ConfigError
from costscope.pricing import DEFAULT_PRESET, PRESETS, UNITS, CostModel, cost_model
from costscope.simulate.engine import Constraints
from costscope.simulate.policies import Policy
from costscope.simulate.policies_file import DEFAULT_POLICIES, load_policies
from costscope.source_kinds import SOURCE_KINDS
from costscope.yaml_nodes import YamlAt, compose, suggest

DEFAULT_TIMEOUT_S = 30.0
DEFAULT_CONCURRENCY = 4
DEFAULT_RETRIES = 3
DEFAULT_LOOKBACK_S = 3600.0


@dataclass(frozen=True)
class Auth:
    """Credentials for one source; every value is a ``Secret`` from env or file."""

    bearer_token: Secret | None = None
    basic_username: str | None = None
    basic_password: Secret | None = None
    secret_headers: tuple[tuple[str, Secret], ...] = ()

    def secrets(self) -> list[Secret]:
        """Every secret in this auth block (to scrub them from any text)."""
        found = [s for s in (self.bearer_token, self.basic_password) if s is not None]
        return found + [s for _, s in self.secret_headers]


@dataclass(frozen=True)
class SourceConfig:
    """One place to read telemetry from: a URL (live) or a path (recorded payloads)."""

    name: str
    kind: str = "auto"
    url: str | None = None
    path: Path | None = None
    path_prefix: str = ""
    tenant: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    auth: Auth = field(default_factory=Auth)
    tls_verify: bool = True
    ca_file: Path | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    concurrency: int = DEFAULT_CONCURRENCY
    retries: int = DEFAULT_RETRIES
    lenient: bool = False
    lookback_s: float = DEFAULT_LOOKBACK_S  # a series with samples in this window is active
    header: str | None = None  # logs: logparser-style header of plain-text lines
    sample_lines: int = 1000  # loki: lines read per service for template mining
    files: tuple[Path, ...] = ()  # the files of a folder found to be of this kind (by content)

    @property
    def location(self) -> str:
        """The URL or path this source reads, for messages (URLs carry no credentials here)."""
        return self.url if self.url is not None else str(self.path)


@dataclass(frozen=True)
class OwnershipRule:
    """``team`` owns series whose labels match every regex in ``match`` (anchored, like PromQL)."""

    team: str
    match: tuple[tuple[str, str], ...]

    def compiled(self) -> list[tuple[str, re.Pattern[str]]]:
        """The matchers as compiled, fully anchored patterns."""
        return [(label, re.compile(f"^(?:{rx})$")) for label, rx in self.match]


@dataclass(frozen=True)
class PushTarget:
    """A Prometheus Pushgateway to push each run's figures to, and the grouping key."""

    url: str
    job: str = "costscope"
    instance: str | None = None


@dataclass(frozen=True)
class Config:
    """A validated costscope.yaml."""

    sources: tuple[SourceConfig, ...] = ()
    pricing: CostModel = field(default_factory=lambda: cost_model(DEFAULT_PRESET))
    ownership: tuple[OwnershipRule, ...] = ()
    file: Path | None = None
    sampling_policies: tuple[Policy, ...] = DEFAULT_POLICIES
    sampling_constraints: Constraints = field(default_factory=Constraints)
    push: PushTarget | None = None

    def secrets(self) -> list[Secret]:
        """Every secret the configuration resolved."""
        return [s for src in self.sources for s in src.auth.secrets()]


T = TypeVar("T")


def _opt(fields: dict[str, YamlAt], key: str, read: Callable[[YamlAt], T], default: T) -> T:
    return read(fields[key]) if key in fields else default


# --- sections -----------------------------------------------------------------------------

_SECRET_INLINE = {
    "bearer_token": "bearer_token_env or bearer_token_file",
    "password": "password_env or password_file",
    "token": "bearer_token_env or bearer_token_file",
}


def _secret(fields: dict[str, YamlAt], stem: str, base_dir: Path) -> Secret | None:
    env_key, file_key = f"{stem}_env", f"{stem}_file"
    if env_key in fields and file_key in fields:
        raise fields[file_key].fail(f"give either {env_key} or {file_key}, not both")
    if env_key in fields:
        at = fields[env_key]
        name = at.string()
        value = os.environ.get(name)
        if value is None:
            raise at.fail(f"environment variable {name} is not set")
        return Secret(f"env:{name}", value)
    if file_key in fields:
        at = fields[file_key]
        path = _path(at, base_dir)
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise at.fail(f"cannot read secret file {path}: {exc.strerror}") from None
        return Secret(f"file:{path}", value)
    return None


def _auth(at: YamlAt, base_dir: Path) -> Auth:
    for inline, fix in _SECRET_INLINE.items():
        if isinstance(at.node, yaml.MappingNode) and inline in at.str_map():
            raise at.str_map()[inline].fail(
                f"secrets are never written in the config; name where to read it: {fix}"
            )
    fields = at.mapping(("bearer_token_env", "bearer_token_file", "basic", "headers_env", "headers_file"))
    bearer = _secret(fields, "bearer_token", base_dir)
    username, password = None, None
    if "basic" in fields:
        basic = fields["basic"]
        if isinstance(basic.node, yaml.MappingNode) and "password" in basic.str_map():
            raise basic.str_map()["password"].fail(
                "secrets are never written in the config; use password_env or password_file"
            )
        bf = basic.mapping(("username", "password_env", "password_file"))
        if "username" not in bf:
            raise basic.fail("basic auth needs a username")
        username = bf["username"].string()
        password = _secret(bf, "password", base_dir)
        if password is None:
            raise basic.fail("basic auth needs password_env or password_file")
    if bearer is not None and username is not None:
        raise at.fail("give either a bearer token or basic auth, not both")
    secret_headers: list[tuple[str, Secret]] = []
    for header, env_at in fields["headers_env"].str_map().items() if "headers_env" in fields else []:
        s = _secret({"h_env": env_at}, "h", base_dir)
        assert s is not None
        secret_headers.append((header, s))
    for header, file_at in fields["headers_file"].str_map().items() if "headers_file" in fields else []:
        s = _secret({"h_file": file_at}, "h", base_dir)
        assert s is not None
        secret_headers.append((header, s))
    return Auth(bearer, username, password, tuple(secret_headers))


def _path(at: YamlAt, base_dir: Path) -> Path:
    p = Path(at.string()).expanduser()
    return p if p.is_absolute() else base_dir / p


def _url(at: YamlAt) -> str:
    url = at.string()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise at.fail(f"expected an http:// or https:// URL, got {url!r}")
    if "@" in parts.netloc:
        raise at.fail("credentials in the URL; use auth.basic with password_env instead")
    return url


_SOURCE_KEYS = (
    "header",
    "sample_lines",
    "name",
    "kind",
    "url",
    "path",
    "path_prefix",
    "tenant",
    "headers",
    "auth",
    "tls",
    "timeout",
    "concurrency",
    "retries",
    "lenient",
    "lookback",
)


def _source(at: YamlAt, index: int, base_dir: Path) -> SourceConfig:
    f = at.mapping(_SOURCE_KEYS)
    kind = _opt(f, "kind", YamlAt.string, "auto")
    if kind not in SOURCE_KINDS:
        raise f["kind"].fail(f"unknown source kind {kind!r} (allowed: {', '.join(SOURCE_KINDS)})")
    url = _opt(f, "url", _url, None)
    path = _path(f["path"], base_dir) if "path" in f else None
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
        tls_verify = _opt(tf, "verify", YamlAt.boolean, True)
        ca_file = _path(tf["ca_file"], base_dir) if "ca_file" in tf else None
        if ca_file is not None and not ca_file.is_file():
            raise tf["ca_file"].fail(f"CA file {ca_file} does not exist")
    default_name = f"source{index + 1}"
    return SourceConfig(
        name=_opt(f, "name", YamlAt.string, default_name),
        kind=kind,
        url=url,
        path=path,
        path_prefix=_opt(f, "path_prefix", YamlAt.string, "").rstrip("/"),
        tenant=_opt(f, "tenant", YamlAt.string, None),
        headers=headers,
        auth=_auth(f["auth"], base_dir) if "auth" in f else Auth(),
        tls_verify=tls_verify,
        ca_file=ca_file,
        timeout_s=_opt(f, "timeout", YamlAt.duration, DEFAULT_TIMEOUT_S),
        concurrency=_opt(f, "concurrency", lambda a: a.integer(1, 64), DEFAULT_CONCURRENCY),
        retries=_opt(f, "retries", lambda a: a.integer(0, 10), DEFAULT_RETRIES),
        lenient=_opt(f, "lenient", YamlAt.boolean, False),
        lookback_s=_opt(f, "lookback", YamlAt.duration, DEFAULT_LOOKBACK_S),
        header=_opt(f, "header", _header, None),
        sample_lines=_opt(f, "sample_lines", lambda a: a.integer(0, 100_000), 1000),
    )


def _header(at: YamlAt) -> str:
    text = at.string()
    if "<Content>" not in text or not text.rstrip().endswith("<Content>"):
        raise at.fail("a log header must end with <Content> (e.g. '<Date> <Time> <Level> <Content>')")
    return text


def _pricing(at: YamlAt) -> CostModel:
    f = at.mapping(("preset", "overrides"))
    preset = _opt(f, "preset", YamlAt.string, DEFAULT_PRESET)
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
        source = _source(item, i, base)
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
        url=_url(f["url"]),
        job=f["job"].string() if "job" in f else "costscope",
        instance=f["instance"].string() if "instance" in f else None,
    )


def _sampling(at: YamlAt, base_dir: Path) -> tuple[tuple[Policy, ...], Constraints]:
    f = at.mapping(("policies_file",))
    if "policies_file" not in f:
        return DEFAULT_POLICIES, Constraints()
    path = _path(f["policies_file"], base_dir)
    if not path.is_file():
        raise f["policies_file"].fail(f"no such file {path}")
    policies, constraints = load_policies(path)
    return tuple(policies), constraints


DEFAULT_CONFIG = "costscope.yaml"


def config_path(path: str | Path | None = None) -> Path | None:
    """Which config file a run reads: ``path``, else ``$COSTSCOPE_CONFIG``, else ./costscope.yaml if there."""
    if path is not None:
        return Path(path)
    if os.environ.get("COSTSCOPE_CONFIG"):
        return Path(os.environ["COSTSCOPE_CONFIG"])
    return Path(DEFAULT_CONFIG) if Path(DEFAULT_CONFIG).is_file() else None


def discover_config(path: str | Path | None = None) -> Config:
    """The config a run uses — the CLI's and the library's alike (see ``config_path``); defaults without one."""
    found = config_path(path)
    return load_config(found) if found is not None else Config()


def load_config(path: str | Path) -> Config:
    """Read and validate a costscope.yaml file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("config file not found", file=str(p)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config: {exc}", file=str(p)) from None
    return parse_config(text, file=str(p), base_dir=p.resolve().parent)
