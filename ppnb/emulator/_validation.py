"""Request validation: a small declarative schema of JSON nodes.

Each node validates a JSON value and returns a *clean* copy holding only the properties it
defines, so unknown keys never reach storage. Problems are collected as PayPal error details
(``field`` is a JSON pointer) and raised together as one 400 (at most :data:`MAX_DETAILS`).
PayPal's own request shapes, written with these nodes, are in :mod:`._schema`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._errors import ApiError, Detail

MAX_DETAILS = 10
_DATE = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])$")
_DATETIME = re.compile(
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])[Tt]([0-1][0-9]|2[0-3]):[0-5][0-9]:"
    r"([0-5][0-9]|60)([.][0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)


class Problems:
    """Collects error details while a request body is validated."""

    def __init__(self) -> None:
        self.details: list[Detail] = []

    def add(self, path: str, issue: str, description: str, value: Any = None) -> None:
        if len(self.details) < MAX_DETAILS:
            self.details.append(Detail(issue, description, path or "/", value))

    def raise_if_any(self, status: int = 400) -> None:
        if self.details:
            raise ApiError(status, list(self.details))


class Node:
    """A schema node: validates ``value`` at ``path`` and returns its clean copy."""

    def check(self, value: Any, path: str, problems: Problems) -> Any:  # pragma: no cover
        raise NotImplementedError


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean"}.get(
        type(value), "number" if isinstance(value, int | float) else "null"
    )


@dataclass
class Str(Node):
    max: int | None = None
    min: int = 0
    pattern: str | None = None
    enum: tuple[str, ...] | None = None
    desc: str | None = None
    length_issue: str | None = None
    enum_issue: str | None = None
    _regex: re.Pattern[str] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.pattern:
            self._regex = re.compile(self.pattern)

    def check(self, value: Any, path: str, problems: Problems) -> Any:
        if not isinstance(value, str):
            problems.add(
                path, "INVALID_PARAMETER_SYNTAX", f"Expected a string, got {_type_name(value)}.",
                value,
            )
            return None
        if (self.max is not None and len(value) > self.max) or len(value) < self.min:
            issue = self.length_issue or (
                "INVALID_STRING_MAX_LENGTH" if self.min == 0 else "INVALID_STRING_LENGTH"
            )
            bounds = (
                f"at most {self.max}" if self.min == 0 else f"between {self.min} and {self.max}"
            )
            problems.add(
                path, issue, self.desc or f"The value must be {bounds} characters long.",
                value[:60],
            )
            return None
        if self.enum is not None and value not in self.enum:
            problems.add(
                path, self.enum_issue or "INVALID_PARAMETER_VALUE",
                self.desc or f"The value must be one of: {', '.join(self.enum)}.", value[:60],
            )
            return None
        if self._regex is not None and not self._regex.match(value):
            problems.add(
                path, "INVALID_PARAMETER_SYNTAX",
                self.desc or "The value of a field does not conform to the expected format.",
                value[:60],
            )
            return None
        return value


@dataclass
class Date(Node):
    desc: str = "The date must be a valid calendar date, yyyy-mm-dd."

    def check(self, value: Any, path: str, problems: Problems) -> Any:
        if not isinstance(value, str) or not _DATE.match(value):
            problems.add(path, "INVALID_PARAMETER_SYNTAX", self.desc, value)
            return None
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            problems.add(path, "INVALID_PARAMETER_SYNTAX", self.desc, value)
            return None
        return value


@dataclass
class DateTime(Node):
    def check(self, value: Any, path: str, problems: Problems) -> Any:
        desc = "The value must be an Internet date-time, e.g. 2024-01-31T00:00:00Z."
        if not isinstance(value, str) or not _DATETIME.match(value):
            problems.add(path, "INVALID_PARAMETER_SYNTAX", desc, value)
            return None
        try:
            parse_datetime(value)
        except ValueError:
            problems.add(path, "INVALID_PARAMETER_SYNTAX", desc, value)
            return None
        return value


def parse_datetime(value: str) -> dt.datetime:
    """Parse an RFC 3339 date-time (validated by :class:`DateTime`) into aware UTC."""
    text = value.replace("t", "T").replace("z", "Z").replace("Z", "+00:00")
    if ":60" in text[17:20]:  # leap second: clamp, as most systems do
        text = text[:17] + "59" + text[19:]
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


@dataclass
class Bool(Node):
    def check(self, value: Any, path: str, problems: Problems) -> Any:
        if not isinstance(value, bool):
            problems.add(path, "INVALID_PARAMETER_SYNTAX", "Expected a boolean.", value)
            return None
        return value


@dataclass
class Int(Node):
    min: int | None = None
    max: int | None = None

    def check(self, value: Any, path: str, problems: Problems) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            problems.add(path, "INVALID_PARAMETER_SYNTAX", "Expected an integer.", value)
            return None
        if self.max is not None and value > self.max:
            problems.add(path, "INVALID_INTEGER_MAX_VALUE", "Value exceeds max value.", value)
            return None
        if self.min is not None and value < self.min:
            problems.add(path, "INVALID_INTEGER_MIN_VALUE", "Value less than minimum value.", value)
            return None
        return value


@dataclass
class Arr(Node):
    item: Node
    max_items: int | None = None
    desc: str | None = None

    def check(self, value: Any, path: str, problems: Problems) -> Any:
        if not isinstance(value, list):
            problems.add(
                path, "INVALID_PARAMETER_SYNTAX", f"Expected an array, got {_type_name(value)}."
            )
            return None
        if self.max_items is not None and len(value) > self.max_items:
            problems.add(
                path, "INVALID_ARRAY_MAX_ITEMS",
                self.desc or f"At most {self.max_items} items are allowed.", len(value),
            )
            return None
        return [self.item.check(v, f"{path}/{i}", problems) for i, v in enumerate(value)]


@dataclass
class Obj(Node):
    props: dict[str, Node]
    required: tuple[str, ...] = ()
    extra: Callable[[dict[str, Any], str, Problems], None] | None = None
    missing: dict[str, str] = field(default_factory=dict)

    def check(self, value: Any, path: str, problems: Problems) -> Any:
        if not isinstance(value, dict):
            problems.add(
                path, "INVALID_PARAMETER_SYNTAX", f"Expected an object, got {_type_name(value)}."
            )
            return None
        out: dict[str, Any] = {}
        for name in self.required:
            if value.get(name) is None:
                problems.add(
                    f"{path}/{name}", "MISSING_REQUIRED_PARAMETER",
                    self.missing.get(name, f"A required field / parameter is missing: {name}."),
                )
        for name, node in self.props.items():
            if name in value and value[name] is not None:
                out[name] = node.check(value[name], f"{path}/{name}", problems)
        if self.extra is not None:
            self.extra(out, path, problems)
        return out


def validate(node: Node, value: Any) -> Any:
    """Validate a whole request body; raise one 400 listing every problem found."""
    problems = Problems()
    clean = node.check(value, "", problems)
    problems.raise_if_any()
    return clean
