"""Reading YAML with its lines: every value knows the file, line and dotted field it came from.

``YamlAt`` wraps a composed YAML node; its readers (``mapping``, ``items``, ``string``,
``integer``, ``duration`` …) validate as they go and fail with a ``ConfigError`` naming
``file:line: field``. costscope.yaml, policies files and budgets share it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from costscope.errors import ConfigError


def compose(text: str, file: str) -> yaml.Node | None:
    """The YAML node tree of ``text``; a syntax error names the file and line."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(f"invalid YAML: {exc.problem or exc}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", file=file) from None


@dataclass(frozen=True)
class YamlAt:
    """A YAML node with the path that leads to it, for errors."""

    node: yaml.Node
    path: str
    file: str

    @property
    def line(self) -> int:
        return self.node.start_mark.line + 1

    def fail(self, message: str) -> ConfigError:
        return ConfigError(message, file=self.file, line=self.line, field=self.path)

    def child(self, node: yaml.Node, key: str | int) -> YamlAt:
        if isinstance(key, int):
            return YamlAt(node, f"{self.path}[{key}]", self.file)
        return YamlAt(node, f"{self.path}.{key}" if self.path else key, self.file)

    def mapping(self, allowed: tuple[str, ...]) -> dict[str, YamlAt]:
        if not isinstance(self.node, yaml.MappingNode):
            raise self.fail(f"expected a mapping, got {kind_of(self.node)}")
        out: dict[str, YamlAt] = {}
        for key_node, value_node in self.node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                raise YamlAt(key_node, self.path, self.file).fail("keys must be strings")
            child = self.child(value_node, key)
            if key not in allowed:
                hint = suggest(key, allowed)
                raise YamlAt(key_node, child.path, self.file).fail(f"unknown key{hint}")
            if key in out:
                raise YamlAt(key_node, child.path, self.file).fail("duplicate key")
            out[key] = child
        return out

    def items(self) -> Iterator[YamlAt]:
        if not isinstance(self.node, yaml.SequenceNode):
            raise self.fail(f"expected a list, got {kind_of(self.node)}")
        for i, node in enumerate(self.node.value):
            yield self.child(node, i)

    def str_map(self) -> dict[str, YamlAt]:
        if not isinstance(self.node, yaml.MappingNode):
            raise self.fail(f"expected a mapping, got {kind_of(self.node)}")
        out: dict[str, YamlAt] = {}
        for key_node, value_node in self.node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str) or not key:
                raise YamlAt(key_node, self.path, self.file).fail("keys must be non-empty strings")
            out[key] = self.child(value_node, key)
        return out

    def scalar(self) -> Any:
        if not isinstance(self.node, yaml.ScalarNode):
            raise self.fail(f"expected a single value, got {kind_of(self.node)}")
        if self.node.tag == _STR:
            return self.node.value
        try:
            return yaml.constructor.SafeConstructor().construct_object(self.node)
        except yaml.YAMLError as exc:
            raise self.fail(f"invalid value: {exc}") from None

    def string(self) -> str:
        value = self.scalar()
        if not isinstance(value, str) or not value:
            raise self.fail(f"expected a non-empty string, got {value!r}")
        return value

    def boolean(self) -> bool:
        value = self.scalar()
        if not isinstance(value, bool):
            raise self.fail(f"expected true or false, got {value!r}")
        return value

    def integer(self, low: int, high: int) -> int:
        value = self.scalar()
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(f"expected an integer from {low} to {high}, got {value!r}")
        return value

    def number(self) -> float:
        value = self.scalar()
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise self.fail(f"expected a non-negative number, got {value!r}")
        return float(value)

    def duration(self) -> float:
        value = self.scalar()
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return float(value)
        if isinstance(value, str):
            seconds = parse_duration(value)
            if seconds is not None and seconds > 0:
                return seconds
        raise self.fail(f"expected a duration like 30s, 2m or 1h, got {value!r}")

    def value(self) -> Any:
        """The node as plain Python values (mappings, lists, scalars)."""
        return yaml.constructor.SafeConstructor().construct_document(self.node)


_STR = "tag:yaml.org,2002:str"
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float | None:
    """Seconds in a Prometheus-style duration (``30s``, ``5m``, ``26w``); None if malformed."""
    m = _DURATION.match(text.strip())
    return float(m.group(1)) * _DURATION_UNITS[m.group(2)] if m else None


def kind_of(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return f"{node.value!r}"


def suggest(key: str, allowed: tuple[str, ...]) -> str:
    import difflib

    close = difflib.get_close_matches(key, allowed, n=1)
    return f" (did you mean {close[0]!r}?)" if close else f" (allowed: {', '.join(allowed)})"
