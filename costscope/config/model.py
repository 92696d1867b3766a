"""What costscope.yaml says, once validated: sources, pricing, ownership, sampling, push."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from costscope.credentials import Secret
from costscope.pricing import DEFAULT_PRESET, CostModel, cost_model
from costscope.simulate.engine import Constraints
from costscope.simulate.policies import Policy
from costscope.simulate.policies_file import DEFAULT_POLICIES

DEFAULT_TIMEOUT_S = 30.0


DEFAULT_CONCURRENCY = 4


DEFAULT_RETRIES = 3


DEFAULT_LOOKBACK_S = 3600.0


COLLECT_MODES = ("series", "counts", "auto")
DEFAULT_COLLECT_THRESHOLD = 2_000_000  # auto: count inside the backend from this many series
DEFAULT_EXACT_TOP = 200  # counts: exact label economics for this many of the largest metrics
DEFAULT_MAX_QUERIES = 100_000  # counts: queries one run may send one backend


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
    duration_s: float | None = None  # tap: how long to listen (None: until interrupted)
    collect: str = "auto"  # Prometheus APIs: pull every series, or count inside the backend
    collect_threshold: int = DEFAULT_COLLECT_THRESHOLD
    exact_top: int = DEFAULT_EXACT_TOP
    max_queries: int = DEFAULT_MAX_QUERIES
    cardinality_api: bool = True  # counts: ask the backend's cardinality API (checked against PromQL)

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
    collect: str | None = None  # --collect: the mode of every Prometheus-compatible API source

    def secrets(self) -> list[Secret]:
        """Every secret the configuration resolved."""
        return [s for src in self.sources for s in src.auth.secrets()]
