"""costscope.yaml: sources, pricing and ownership, validated with file:line:field errors.

The file is read with PyYAML's composer so that every value keeps its line; each error names
the file, the line and the dotted field (``sources[0].auth.bearer_token_env``). Secrets are
never written in the file itself: it names the environment variable or file that holds them,
and they are resolved here into ``Secret`` values that never print.
"""

from costscope.config.discover import DEFAULT_CONFIG, config_path, discover_config, load_config
from costscope.config.model import (
    COLLECT_MODES,
    DEFAULT_CONCURRENCY,
    DEFAULT_LOOKBACK_S,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT_S,
    Auth,
    Config,
    OwnershipRule,
    PushTarget,
    SourceConfig,
)
from costscope.config.parse import parse_config

__all__ = [
    "COLLECT_MODES",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_CONFIG",
    "DEFAULT_LOOKBACK_S",
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT_S",
    "Auth",
    "Config",
    "OwnershipRule",
    "PushTarget",
    "SourceConfig",
    "config_path",
    "discover_config",
    "load_config",
    "parse_config",
]
