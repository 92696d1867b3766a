"""Which costscope.yaml a run reads — one rule for the CLI and the library alike."""

from __future__ import annotations

import os
from pathlib import Path

from costscope.config.model import Config
from costscope.config.parse import parse_config
from costscope.errors import ConfigError

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
