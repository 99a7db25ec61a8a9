"""What each config key may hold: the checks that turn TOML values into settings, with a message
naming what was expected, and the table check that fills in defaults. Pure."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from .errors import ConfigError

class Expected(ValueError):
    """A value does not fit its key; the message says what the key expects."""


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def positive_seconds(value: Any) -> float:
    if is_number(value) and value > 0:
        return float(value)
    raise Expected("a number of seconds greater than 0")


def seconds(value: Any) -> float:
    if is_number(value) and value >= 0:
        return float(value)
    raise Expected("a number of seconds, 0 or more")


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise Expected("true or false")


def string(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise Expected("a string")


def nonempty(value: Any) -> str:
    if isinstance(value, str) and value.strip():
        return value
    raise Expected("a non-empty string")


def positive_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise Expected("a whole number of at least 1")


def port(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535:
        return value
    raise Expected("an integer from 1 to 65535")


def parse_jump_host(text: str) -> tuple[str | None, str, int | None]:
    """Split `[USER@]HOST[:PORT]` (HOST may be `[v6addr]`) into (user, host, port)."""
    user, sep, rest = text.rpartition("@")
    host, port = rest, None
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        if tail.startswith(":"):
            port = tail[1:]
    elif rest.count(":") == 1:
        host, port = rest.split(":")
    bad_host = not host or (":" in host and not rest.startswith("[")) or any(c.isspace() or c == "," for c in text)
    if bad_host or (port is not None and not (port.isdigit() and 1 <= int(port) <= 65535)):
        raise ValueError(f"bad jump host {text!r}: expected [USER@]HOST[:PORT]")
    return (user if sep else None) or None, host, int(port) if port else None


def jump_host(value: Any) -> str:
    try:
        parse_jump_host(value if isinstance(value, str) else "")
    except ValueError:
        raise Expected("[USER@]HOST[:PORT]") from None
    return value


Schema = dict[str, tuple[Any, Callable[[Any], Any]]]
"""key -> (default, check); check returns the value as the dataclass holds it or raises Expected."""

def choice(*choices: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value in choices:
            return str(value)
        raise Expected(" or ".join(f'"{c}"' for c in choices))

    return check


def hours(value: Any) -> str:
    if isinstance(value, str) and (not value or re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", value)):
        return value
    raise Expected('"HH:MM-HH:MM" (or "" for none)')


def got(value: Any) -> str:
    """`value` as the user wrote it in TOML, for "got ..." in messages."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def table(data: Any, schema: Schema, where: str, shown: str) -> dict[str, Any]:
    """The values of table `data` (at dotted key `where`) checked against `schema`, defaults filled in."""
    if not isinstance(data, dict):
        raise ConfigError(f"{shown}: {where}: expected a table, got {got(data)}")
    for key in data:
        if key not in schema:
            raise ConfigError(f"{shown}: {where}.{key}: unknown key; expected one of {', '.join(schema)}")
    values = {}
    for key, (default, check) in schema.items():
        try:
            values[key] = check(data[key]) if key in data else default
        except Expected as exc:
            raise ConfigError(f"{shown}: {where}.{key}: expected {exc}, got {got(data[key])}") from None
    return values


