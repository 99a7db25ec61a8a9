"""The user's config file: where it lives, first-run creation, validation, and in-place edits.

The file is TOML read and written with tomlkit, so the comments and layout the user wrote survive
every edit. Defaults live in `_SETTINGS` and `_REMOTE` and are merged under the file, so a key
the file leaves out (or a key added by a later version) still has a value. The shipped
`config/default.toml` documents them in its comments. Every edit goes through `config_file`: under
a lock, applied to the file as it is now, written atomically.
"""

from __future__ import annotations

import difflib
import itertools
import logging
import os
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from collections.abc import Callable, Mapping

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import InlineTable
from tomlkit.toml_document import TOMLDocument

from navish import config_file
from navish.config_file import shown as _shown
from navish.errors import ConfigError, NotFound
from navish.config_schema import (
    Schema,
    boolean,
    choice,
    got,
    hours,
    jump_host,
    nonempty,
    port,
    positive_int,
    positive_seconds,
    seconds,
    string,
    table,
)
from navish.config_schema import parse_jump_host as parse_jump_host  # re-exported: where hosts are named
from navish.model import LOCAL
from navish.notify import NotifySettings

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    """`[settings]` with defaults filled in; history_file is resolved to a full path."""

    poll_interval: float
    session_dir: str
    history_file: Path
    connect_timeout: float
    command_timeout: float
    watch: bool
    pager: str
    max_handshakes: int = 16


@dataclass(frozen=True)
class RemoteConfig:
    """One `[remotes.NAME]` table; None means "not set" (asyncssh then uses ~/.ssh/config)."""

    name: str
    host: str
    port: int | None = None
    user: str | None = None
    key: str | None = None
    known_hosts: str | None = None
    session_dir: str = "~/.claude-sessions"
    cache_ttl: float = 10.0
    jump_host: str | None = None
    mute: bool = False
    """No notification for this host's sessions (they still show everywhere)."""


@dataclass(frozen=True)
class Config:
    """A validated config file; `path` is where it was read from (or would have been)."""

    settings: Settings
    remotes: dict[str, RemoteConfig]
    path: Path
    notify: NotifySettings = field(default_factory=NotifySettings)


# ---- paths


def _home(environ: Mapping[str, str]) -> Path:
    return Path(environ["HOME"]) if environ.get("HOME") else Path.home()


def _xdg_dir(environ: Mapping[str, str], var: str, fallback: str) -> Path:
    value = environ.get(var, "")
    return Path(value) if os.path.isabs(value) else _home(environ) / fallback


def _local_path(value: str, base: Path, environ: Mapping[str, str]) -> Path:
    """`value` with ~ expanded (from environ's HOME) and, if relative, taken relative to `base`."""
    if value == "~" or value.startswith("~/"):
        value = str(_home(environ)) + value[1:]
    return base / os.path.expanduser(value)


def config_path(explicit: str | None, environ: Mapping[str, str]) -> Path:
    """--config PATH, else $NAVISH_CONFIG, else $XDG_CONFIG_HOME/navish/config.toml, else ~/.config/navish/config.toml."""
    chosen = explicit or environ.get("NAVISH_CONFIG")
    if chosen:
        return _local_path(chosen, Path(), environ)
    return _xdg_dir(environ, "XDG_CONFIG_HOME", ".config") / "navish" / "config.toml"


def state_dir(environ: Mapping[str, str]) -> Path:
    """$XDG_STATE_HOME/navish, else ~/.local/state/navish: the default home of the history and log files."""
    return _xdg_dir(environ, "XDG_STATE_HOME", ".local/state") / "navish"


# ---- schema and validation


_SETTINGS: Schema = {
    "poll_interval": (2.0, positive_seconds),
    "session_dir": ("~/.claude-sessions", nonempty),
    "history_file": ("", string),
    "connect_timeout": (5.0, positive_seconds),
    "command_timeout": (10.0, positive_seconds),
    "watch": (True, boolean),
    "pager": ("", string),
    "max_handshakes": (16, positive_int),
}

_REMOTE: Schema = {
    "host": (None, nonempty),
    "port": (None, port),
    "user": (None, nonempty),
    "key": (None, nonempty),
    "known_hosts": (None, nonempty),
    "session_dir": ("~/.claude-sessions", nonempty),
    "cache_ttl": (10.0, seconds),
    "jump_host": (None, jump_host),
    "mute": (False, boolean),
}


_NOTIFY: Schema = {
    "bell": (True, boolean),
    "desktop": ("auto", choice("auto", "osc", "off")),
    "tmux": (True, boolean),
    "command": ("", string),
    "quiet": ("", hours),
    "dwell": (1.5, seconds),
    "group": (1.5, seconds),
}

REMOTE_NAME = re.compile(r"[A-Za-z0-9_-]+")
"""What a `[remotes.NAME]` may be called (`local` is taken by this machine)."""


def _build(data: dict[str, Any], path: Path, environ: Mapping[str, str]) -> Config:
    """Validate the unwrapped TOML `data` of `path` and turn it into a Config."""
    shown = _shown(path)
    for key in data:
        if key not in ("settings", "remotes", "notify"):
            raise ConfigError(f"{shown}: {key}: unknown section; expected only [settings], [notify] and [remotes.NAME] tables")
    values = table(data.get("settings", {}), _SETTINGS, "settings", shown)
    history = values["history_file"]
    values["history_file"] = (
        _local_path(history, path.parent, environ) if history else state_dir(environ) / "history"
    )
    remotes_data = data.get("remotes", {})
    if not isinstance(remotes_data, dict):
        raise ConfigError(f"{shown}: remotes: expected [remotes.NAME] tables, got {got(remotes_data)}")
    remotes = {}
    for name, remote_table in remotes_data.items():
        if not REMOTE_NAME.fullmatch(name):
            raise ConfigError(f'{shown}: remotes: expected names of letters, digits, "_" and "-", got {got(name)}')
        if name == LOCAL:
            raise ConfigError(f'{shown}: remotes.{LOCAL}: "{LOCAL}" is this machine; expected another name')
        remote = table(remote_table, _REMOTE, f"remotes.{name}", shown)
        if remote["host"] is None:
            raise ConfigError(f"{shown}: remotes.{name}.host: missing; expected the SSH host name or alias")
        for key in ("key", "known_hosts"):
            if remote[key] is not None:
                remote[key] = str(_local_path(remote[key], path.parent, environ))
        remotes[name] = RemoteConfig(name=name, **remote)
    notify = NotifySettings(
        **table(data.get("notify", {}), _NOTIFY, "notify", shown),
        muted=frozenset(name for name, remote in remotes.items() if remote.mute),
    )
    return Config(Settings(**values), remotes, path, notify)


def _parse(text: str, path: Path) -> TOMLDocument:
    """The tomlkit document of `text`; tomllib checks it first, as its errors name the line."""
    try:
        tomllib.loads(text)
        return tomlkit.parse(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.fullmatch(r"(.*) \(at line (\d+), column \d+\)", str(exc))
        where, message = (f"line {match[2]}: ", match[1]) if match else ("", str(exc))
    except TOMLKitError as exc:
        where, message = "", str(exc)
    raise ConfigError(f"{_shown(path)}: {where}invalid TOML: {message}")


# ---- loading


def default_text() -> str:
    """The shipped commented default config (in the wheel, else in the source checkout)."""
    try:
        return (resources.files("navish") / "default_config.toml").read_text(encoding="utf-8")
    except FileNotFoundError:  # editable install: the file is only force-included in the wheel
        return (Path(__file__).resolve().parent.parent / "config" / "default.toml").read_text(encoding="utf-8")


def ensure_user_config(path: Path) -> bool:
    """Create `path` (and its directory) from the commented default if it is missing; True if created."""
    return config_file.create(path, default_text())


def load_config(path: Path, environ: Mapping[str, str] = os.environ) -> Config:
    """The config in `path`, created on first run; if it cannot be created, the defaults (logged)."""
    try:
        ensure_user_config(path)
    except ConfigError as exc:
        _log.warning("%s; using the default settings", exc)
        return _build({}, path, environ)
    return _build(_parse(config_file.read(path), path).unwrap(), path, environ)


# ---- writing


def save_document(path: Path, doc: TOMLDocument) -> None:
    """Write a tomlkit document to `path` atomically (under the lock), keeping the file's mode."""
    with config_file.locked(path):
        config_file.write_atomic(path, tomlkit.dumps(doc))


def _edit(path: Path, change: Callable[[TOMLDocument], str]) -> None:
    """Write the text `change` makes of the user's document, if both the old and new config are valid.

    The file is read again under the config lock, so the change applies to what is there now.
    """
    ensure_user_config(path)

    def apply(text: str) -> str:
        doc = _parse(text, path)
        _build(doc.unwrap(), path, os.environ)  # an invalid file is never touched
        new_text = change(doc)
        _build(_parse(new_text, path).unwrap(), path, os.environ)
        return new_text

    config_file.edit(path, apply)


def _set_keys(table: Any, remote: RemoteConfig) -> None:
    """Write `remote`'s values into `table` in place, leaving out None and defaults not already spelled out."""
    for key, (default, _) in _REMOTE.items():
        value = getattr(remote, key)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if value is None:
            table.pop(key, None)
        elif key in table:
            table[key] = value
        elif value != default and table:
            # After the last key: tomlkit has no public insert, and appending would put the key
            # below the comments that end the table.
            table.value._insert_after(list(table)[-1], key, value)
        elif value != default:
            table[key] = value


def add_remote(path: Path, remote: RemoteConfig, *, replace: bool = False) -> None:
    """Add `[remotes.NAME]` to the config file, or update it in place if `replace`.

    Keys set to None are left out, and so are defaults the table does not already spell out.
    """

    def change(doc: TOMLDocument) -> str:
        remotes = doc.get("remotes")
        if remotes is None:
            remotes = doc["remotes"] = tomlkit.table(is_super_table=True)
        if isinstance(remotes, InlineTable):
            raise ConfigError(f"{_shown(path)}: remotes: navish can only add to [remotes.NAME] tables")
        if remote.name in remotes and not replace:
            raise ConfigError(f"{_shown(path)}: remotes.{remote.name}: already exists; remove it first")
        new = remote.name not in remotes
        table = tomlkit.table() if new else remotes[remote.name]
        _set_keys(table, remote)
        if new:
            remotes[remote.name] = table
            table = remotes[remote.name]
            if not doc.as_string().endswith(table.as_string()):
                table.add(tomlkit.nl())  # a blank line before the table that follows
        return doc.as_string()

    _edit(path, change)


def remove_remote(path: Path, name: str) -> None:
    """Delete `[remotes.NAME]` from the config file; NotFound if there is none."""

    def change(doc: TOMLDocument) -> str:
        remotes = doc.get("remotes", {})
        if name not in remotes:
            known = ", ".join(remotes) or "none"
            raise NotFound(f"no remote named {name!r} in {_shown(path)} (remotes: {known})")
        before = doc.as_string()
        del remotes[name]
        return _restore_detached_comments(before, doc.as_string())

    _edit(path, change)


def _is_blank(line: str) -> bool:
    return not line.strip()


def _detached_comments(block: list[str]) -> list[str]:
    """The comment lines ending `block` that a blank line separates from its last key."""
    trivia: list[str] = []
    for line in reversed(block):
        if not (_is_blank(line) or line.lstrip().startswith("#")):
            break
        trivia.insert(0, line)
    detached = itertools.dropwhile(lambda line: not _is_blank(line), trivia)
    return list(itertools.dropwhile(_is_blank, detached))


def _restore_detached_comments(before: str, after: str) -> str:
    """`after` (tomlkit's text with a table deleted) with the comments that only sat below that table put back.

    tomlkit deletes a table with every comment up to the next header. Those that a blank line
    separates from the table's last key describe what follows, so they stay. When the table was
    last in the file, the blank lines it leaves at the end go too.
    """
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    out: list[str] = []
    at_end = False
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        out += new[j1:j2]
        if tag == "delete":
            out += _detached_comments(old[i1:i2])
        at_end = tag == "delete" and i2 == len(old)
    while at_end and out and _is_blank(out[-1]):
        out.pop()
    return "".join(out)
