"""Validate YAML by its nodes, so every problem can name the file and line it is on.

Used for the config file and for sandbox scenarios; a leaf module with no knowledge of either.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

NULL = yaml.ScalarNode("tag:yaml.org,2002:null", "")


def compose(path: Path, error: type[Exception]) -> yaml.Node | None:
    """The file's root node (None when empty); unreadable or invalid YAML raises `error`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise error(f"{path}:{line}: not valid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {exc}") from None


class YamlReader:
    """Reads typed values out of YAML nodes; every failure names `path:line`.

    `error` is the exception class raised (it is given the one-line message).
    """

    def __init__(self, path: Path, error: type[Exception]) -> None:
        self.path = path
        self.error = error

    def fail(self, node: yaml.Node | None, message: str) -> Exception:
        line = node.start_mark.line + 1 if node is not None else 1
        return self.error(f"{self.path}:{line}: {message}")

    def mapping(
        self,
        node: yaml.Node,
        what: str,
        *,
        required: tuple[str, ...] = (),
        optional: tuple[str, ...] = (),
    ) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        out: dict[str, yaml.Node] = {}
        allowed = set(required) | set(optional)
        for key_node, value_node in node.value:
            key = key_node.value
            if key not in allowed:
                hint = ", ".join(sorted(allowed))
                raise self.fail(
                    key_node, f"unknown key '{key}' in {what} (expected one of: {hint})"
                )
            if key in out:
                raise self.fail(key_node, f"duplicate key '{key}' in {what}")
            out[key] = value_node
        for key in required:
            if key not in out:
                raise self.fail(node, f"{what} is missing '{key}'")
        return out

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{what} must be a list")
        return list(node.value)

    def scalar(self, node: yaml.Node, what: str) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, f"{what} must be a single value")
        return yaml.safe_load(yaml.serialize(node))

    def string(self, node: yaml.Node, what: str, *, pattern: re.Pattern | None = None) -> str:
        value = self.scalar(node, what)
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise self.fail(node, f"{what} must be text")
        value = str(value)
        if pattern is not None and not pattern.match(value):
            raise self.fail(node, f"{what} '{value}' is not a valid name")
        return value

    def choice(self, node: yaml.Node, what: str, choices: tuple[str, ...]) -> str:
        value = self.string(node, what)
        if value not in choices:
            raise self.fail(node, f"{what} must be one of {', '.join(choices)}, not '{value}'")
        return value

    def integer(self, node: yaml.Node, what: str, lo: int, hi: int) -> int:
        value = self.scalar(node, what)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(node, f"{what} must be a whole number")
        if not lo <= value <= hi:
            raise self.fail(node, f"{what} must be from {lo} to {hi}, not {value}")
        return value

    def number(self, node: yaml.Node, what: str, lo: float, hi: float) -> float:
        value = self.scalar(node, what)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise self.fail(node, f"{what} must be a number")
        if not lo <= value <= hi:
            raise self.fail(node, f"{what} must be from {lo:g} to {hi:g}, not {value:g}")
        return float(value)

    def boolean(self, node: yaml.Node, what: str) -> bool:
        value = self.scalar(node, what)
        if not isinstance(value, bool):
            raise self.fail(node, f"{what} must be true or false")
        return value

    def strings(self, node: yaml.Node, what: str) -> list[tuple[str, yaml.Node]]:
        return [(self.string(n, what), n) for n in self.sequence(node, what)]

    def tags(self, node: yaml.Node, what: str) -> dict[str, str]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping of keys to values")
        m = self.mapping(node, what, optional=tuple(k.value for k, _ in node.value))
        return {k: self.string(v, f"{what} value") for k, v in m.items()}
