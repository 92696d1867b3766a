"""Reading one YAML value of costscope.yaml: paths, URLs, and secrets, which are never inline.

Secrets come from an environment variable (``*_env``) or a file (``*_file``) and become ``Secret``
values that never print; a secret written in the file itself is refused, naming the field.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import yaml

from costscope.config.model import Auth
from costscope.credentials import Secret
from costscope.yaml_nodes import YamlAt

T = TypeVar("T")


def opt(fields: dict[str, YamlAt], key: str, read: Callable[[YamlAt], T], default: T) -> T:
    """The value at ``key`` read by ``read``, or ``default`` when the key is absent."""
    return read(fields[key]) if key in fields else default


_SECRET_INLINE = {
    "bearer_token": "bearer_token_env or bearer_token_file",
    "password": "password_env or password_file",
    "token": "bearer_token_env or bearer_token_file",
}


def secret_at(fields: dict[str, YamlAt], stem: str, base_dir: Path) -> Secret | None:
    """The secret named by ``<stem>_env`` or ``<stem>_file`` in ``fields``; None when neither is given."""
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
        path = path_at(at, base_dir)
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise at.fail(f"cannot read secret file {path}: {exc.strerror}") from None
        return Secret(f"file:{path}", value)
    return None


def auth_at(at: YamlAt, base_dir: Path) -> Auth:
    """A source's ``auth`` section: a bearer token, basic auth and secret headers, none of them inline."""
    for inline, fix in _SECRET_INLINE.items():
        if isinstance(at.node, yaml.MappingNode) and inline in at.str_map():
            raise at.str_map()[inline].fail(
                f"secrets are never written in the config; name where to read it: {fix}"
            )
    fields = at.mapping(("bearer_token_env", "bearer_token_file", "basic", "headers_env", "headers_file"))
    bearer = secret_at(fields, "bearer_token", base_dir)
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
        password = secret_at(bf, "password", base_dir)
        if password is None:
            raise basic.fail("basic auth needs password_env or password_file")
    if bearer is not None and username is not None:
        raise at.fail("give either a bearer token or basic auth, not both")
    secret_headers: list[tuple[str, Secret]] = []
    for header, env_at in fields["headers_env"].str_map().items() if "headers_env" in fields else []:
        s = secret_at({"h_env": env_at}, "h", base_dir)
        assert s is not None
        secret_headers.append((header, s))
    for header, file_at in fields["headers_file"].str_map().items() if "headers_file" in fields else []:
        s = secret_at({"h_file": file_at}, "h", base_dir)
        assert s is not None
        secret_headers.append((header, s))
    return Auth(bearer, username, password, tuple(secret_headers))


def path_at(at: YamlAt, base_dir: Path) -> Path:
    """A path value, relative to the config file's folder unless absolute."""
    p = Path(at.string()).expanduser()
    return p if p.is_absolute() else base_dir / p


def url_at(at: YamlAt) -> str:
    """An http(s) URL value without credentials in it."""
    url = at.string()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise at.fail(f"expected an http:// or https:// URL, got {url!r}")
    if "@" in parts.netloc:
        raise at.fail("credentials in the URL; use auth.basic with password_env instead")
    return url
