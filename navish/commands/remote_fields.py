"""The fields of `remote add`: each option, the question the interactive form asks (saying what
an empty answer means) and the check of a value, as it is given."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import config
from ..argspec import Kind, Opt, convert
from ..config import RemoteConfig
from ..errors import UsageError
from ..sanitize import one_line


@dataclass(frozen=True)
class Field:
    """One field of `remote add`: its option, the RemoteConfig field it sets, the question the
    interactive form asks (saying what an empty answer means) and the check of an answer."""

    opt: Opt
    field: str
    question: str
    check: Callable[[str], Any]
    """The value to save for an answer; raises `Invalid` saying what is wrong."""


class Invalid(Exception):
    """An answer or option value that cannot be used; the message says why, naming no flag."""

    def __init__(self, message: str, *, usage: bool = True):
        super().__init__(message)
        self.usage = usage
        """A malformed value (a usage error), rather than a file that cannot be used."""


_HOST = re.compile(r"[\w.%:-]+")
_USER = re.compile(r"[\w.@\\$-]+")


def shown_value(text: str) -> str:
    return repr(one_line(text, 80))


def _check_host(text: str) -> str:
    if any(c.isspace() for c in text):
        raise Invalid(f"not a host: {shown_value(text)} (a host name has no spaces)")
    if "@" in text:
        raise Invalid(f"not a host: {shown_value(text)} (give the user separately)")
    if text.count(":") == 1:
        raise Invalid(f"not a host: {shown_value(text)} (give the port separately)")
    if text.startswith("-") or not _HOST.fullmatch(text):
        raise Invalid(f"not a host name, address or ~/.ssh/config alias: {shown_value(text)}")
    return text


def _check_user(text: str) -> str:
    if any(c.isspace() for c in text):
        raise Invalid(f"not a user name: {shown_value(text)} (a user name has no spaces)")
    if text.startswith("-") or not _USER.fullmatch(text):
        raise Invalid(f"not a user name: {shown_value(text)}")
    return text


def _check_port(text: str) -> int:
    try:
        return int(convert("remote add", "port", Kind.PORT, text))
    except UsageError:
        raise Invalid(f"not a port from 1 to 65535: {shown_value(text)}") from None


def _check_seconds(text: str) -> float:
    try:
        return float(convert("remote add", "seconds", Kind.NUMBER, text))
    except UsageError:
        raise Invalid(f"not a number of seconds, 0 or more: {shown_value(text)}") from None


def _check_session_dir(text: str) -> str:
    if not text.strip() or not text.isprintable():
        raise Invalid(f"not a directory name: {shown_value(text)}")
    return text


def _check_jump_host(text: str) -> str:
    try:
        config.parse_jump_host(text)
    except ValueError:
        raise Invalid(f"not a jump host [USER@]HOST[:PORT]: {shown_value(text)}") from None
    return text


def _saved_path(text: str) -> str:
    """The path as saved: `~/...` as typed (the config reads it the same way), anything else
    made absolute from the current directory, where it was checked."""
    if text == "~" or text.startswith("~/"):
        return text
    return os.path.abspath(os.path.expanduser(text))


def _check_key(text: str) -> str:
    path = os.path.expanduser(text)
    if os.path.isdir(path):
        raise Invalid(f"{one_line(text)} is a directory, not a key file", usage=False)
    try:
        with open(path, "rb") as f:
            data = f.read(1 << 20)
    except OSError as exc:
        raise Invalid(f"cannot read the key file {one_line(text)}: {exc.strerror or exc}", usage=False) from None
    import asyncssh  # loaded only when a remote is configured

    try:
        asyncssh.import_private_key(data)
    except asyncssh.KeyImportError as exc:
        if "assphrase" in str(exc):
            return _saved_path(text)  # encrypted: used through the ssh-agent
        hint = " (that is a public key: give the file without .pub)" if text.endswith(".pub") else ""
        raise Invalid(f"{one_line(text)} is not a private key: {one_line(exc)}{hint}", usage=False) from None
    return _saved_path(text)


def _check_known_hosts(text: str) -> str:
    """A known_hosts file that can be read, or one that does not exist yet (`remote trust` makes it)."""
    path = os.path.expanduser(text)
    if os.path.lexists(path):
        import asyncssh  # loaded only when a remote is configured

        try:
            asyncssh.read_known_hosts(path)
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise Invalid(f"cannot read the known_hosts file {one_line(text)}: {one_line(reason)}", usage=False) from None
    return _saved_path(text)


_SESSION_DIR = RemoteConfig.__dataclass_fields__["session_dir"].default
_CACHE_TTL = RemoteConfig.__dataclass_fields__["cache_ttl"].default

# each option of `remote add`, in the order the interactive form asks
FIELDS = (
    Field(Opt(("--host",), "H", help="host name, address or ~/.ssh/config alias"), "host",
           "host name, address or ~/.ssh/config alias (required):", _check_host),
    Field(Opt(("--port",), "P", Kind.PORT, help="SSH port (default: ~/.ssh/config, else 22)"), "port",
           "port (empty: ~/.ssh/config's Port, else 22):", _check_port),
    Field(Opt(("--user",), "U", help="login name (default: ~/.ssh/config, else yours)"), "user",
           "user (empty: ~/.ssh/config's User, else {me}):", _check_user),
    Field(Opt(("--key",), "PATH", Kind.PATH, help="private key file (default: agent, ~/.ssh/config)"), "key",
           "private key file (empty: the ssh-agent and ~/.ssh/config's IdentityFile or the default keys):", _check_key),
    Field(Opt(("--known-hosts",), "PATH", Kind.PATH, help="known_hosts file (default ~/.ssh/known_hosts)"), "known_hosts",
           "known_hosts file (empty: ~/.ssh/config's UserKnownHostsFile, else ~/.ssh/known_hosts):", _check_known_hosts),
    Field(Opt(("--jump-host",), "J", help="connect through [USER@]HOST[:PORT]"), "jump_host",
           "jump host [USER@]HOST[:PORT] (empty: none, or ~/.ssh/config's ProxyJump):", _check_jump_host),
    Field(Opt(("--session-dir",), "D", help=f"status-file directory there (default {_SESSION_DIR})"), "session_dir",
           f"status-file directory there (empty: {_SESSION_DIR}):", _check_session_dir),
    Field(Opt(("--cache-ttl",), "S", Kind.NUMBER, help=f"seconds a snapshot is served to commands (default {_CACHE_TTL:g})"),
           "cache_ttl", f"seconds a snapshot serves commands (empty: {_CACHE_TTL:g}):", _check_seconds),
)
