"""Host keys: known_hosts lookups as OpenSSH does them, `remote trust`, and host-key failures
explained (unknown, CHANGED, REVOKED, a certificate from an untrusted CA).

asyncssh's own lookup forgets `@revoked` entries for `[host]:port` when that port has no trusted
key (it falls back to the portless entries and drops the revoked ones), so navish matches
known_hosts itself and hands asyncssh the result (`KnownHosts.match`).
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import asyncssh

from ...errors import NavishError
from ...model import HostState
from ...sanitize import one_line
from .endpoint import DEFAULT_PORT, Hop

DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"


class HostKey(NamedTuple):
    """A server's host key as `remote trust` shows it."""

    key_type: str
    fingerprint: str
    """`SHA256:...`, as `ssh-keygen -l` prints it."""
    line: str
    """The known_hosts line that trusts it."""
    other_types: tuple[str, ...] = ()
    """Types of the keys known_hosts already trusts for the host (a server that switched type)."""


@dataclass(frozen=True)
class Entries:
    """What known_hosts says about one host: keys trusted, CA keys trusted, keys revoked."""

    trusted: list[asyncssh.SSHKey]
    cas: list[asyncssh.SSHKey]
    revoked: list[asyncssh.SSHKey]


class KnownHosts:
    """The known_hosts files of one hop, read once per connect; missing files trust nothing."""

    def __init__(self, files: list[str]):
        self.files = files
        self._known = asyncssh.read_known_hosts([f for f in files if os.path.exists(f)])

    def match(self, host: str, addr: str, port: int | None) -> tuple[list[asyncssh.SSHKey], ...]:
        """asyncssh's `known_hosts` callable: (trusted, CA, revoked) for a server.

        Trusted and CA keys fall back to the portless entries when none name the port (as asyncssh
        does); revoked keys are those of both, always."""
        exact = self._entries(host, addr, port)
        plain = self._entries(host, addr, None) if port else exact
        chosen = exact if exact.trusted or exact.cas or not port else plain
        return chosen.trusted, chosen.cas, exact.revoked + plain.revoked

    def entries(self, name: str) -> Entries:
        """The entries for a known_hosts name (`host` or `[host]:port`) exactly, with no
        fallback to another port (so another sshd on a known host is unknown, not CHANGED)."""
        host, port = split_pattern(name)
        exact = self._entries(host, "", port)
        plain = self._entries(host, "", None) if port else exact
        return Entries(exact.trusted, exact.cas, exact.revoked + plain.revoked)

    def _entries(self, host: str, addr: str, port: int | None) -> Entries:
        # the public match() adds the port fallback that drops revoked entries
        found = self._known._match(host, addr, port)
        return Entries(list(found[0]), list(found[1]), list(found[2]))


_LOADED: dict[tuple[tuple[str, int, int], ...], KnownHosts] = {}
_LOADED_MAX = 64


def load_known_hosts(hop: Hop, opts: asyncssh.SSHClientConnectionOptions) -> KnownHosts:
    """The hop's known_hosts, parsed once per version of its files and shared by every
    connection that uses them (500 hosts in one file would otherwise hold 500 copies of it).

    Raises OSError or ValueError for an unreadable or invalid file."""
    files = known_hosts_files(hop, opts)
    version = tuple((f, st.st_mtime_ns, st.st_size) for f in files if (st := _stat(f)) is not None)
    version += tuple((f, -1, -1) for f in files if _stat(f) is None)
    known = _LOADED.get(version)
    if known is None:
        known = KnownHosts(files)
        if len(_LOADED) >= _LOADED_MAX:
            _LOADED.pop(next(iter(_LOADED)))
        _LOADED[version] = known
    return known


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def known_hosts_files(hop: Hop, opts: asyncssh.SSHClientConnectionOptions) -> list[str]:
    """The known_hosts files checked for `hop`; `trust` writes to the first."""
    if hop.known_hosts:
        return [os.path.expanduser(hop.known_hosts)]
    known = opts.known_hosts  # ssh_config's UserKnownHostsFile, when it has one
    if isinstance(known, (str, os.PathLike)):
        return [os.path.expanduser(os.fspath(known))]
    if isinstance(known, (list, tuple)) and known and all(isinstance(k, (str, os.PathLike)) for k in known):
        return [os.path.expanduser(os.fspath(k)) for k in known]
    return [os.path.expanduser(DEFAULT_KNOWN_HOSTS)]


def known_hosts_name(opts: asyncssh.SSHClientConnectionOptions) -> str:
    """How OpenSSH names this server in known_hosts: `host`, or `[host]:port` off port 22."""
    host = opts.host_key_alias or opts.host
    return host if opts.port == DEFAULT_PORT else f"[{host}]:{opts.port}"


def split_pattern(pattern: str) -> tuple[str, int | None]:
    if pattern.startswith("[") and "]:" in pattern:
        host, port = pattern[1:].rsplit("]:", 1)
        return host, int(port)
    return pattern, None


def key_failure(exc: asyncssh.HostKeyNotVerifiable, entries: Entries) -> tuple[HostState, Callable[[str], str]]:
    """A refused host key, explained from asyncssh's reason and what known_hosts says."""
    reason = str(exc.reason)
    if "revoked" in reason:  # "Host key is revoked", "Host CA key is revoked"
        what = "host CA key" if "CA key" in reason else "host key"
        return HostState.HOST_KEY_REVOKED, lambda at: (
            f"{what} REVOKED for {at} — refusing to connect (known_hosts marks it @revoked)"
        )
    if "CA key is not trusted" in reason and entries.cas:
        return HostState.HOST_CERT_UNTRUSTED, lambda at: (
            f"certificate from an untrusted CA ({at}) — refusing to connect; known_hosts trusts "
            "other @cert-authority keys for it"
        )
    if "Certificate" in reason and entries.cas:  # expired, wrong principal...
        why = one_line(reason.split(" for host ")[0], 200)
        return HostState.HOST_CERT_UNTRUSTED, lambda at: f"host certificate refused: {why} ({at})"
    if entries.trusted:
        return HostState.HOST_KEY_CHANGED, lambda at: (
            f"HOST KEY CHANGED for {at} — refusing to connect (possible man-in-the-middle)"
        )
    return HostState.HOST_KEY_UNKNOWN, lambda at: f"host key unknown ({at})"


def type_failure(offered: asyncssh.SSHKey, entries: Entries) -> tuple[HostState, Callable[[str], str]] | None:
    """A server whose key type known_hosts has no key of (the handshake then fails): unknown."""
    known = key_types(entries.trusted)
    if not known or offered.get_algorithm() in known:
        return None
    listed = ", ".join(known)
    return HostState.HOST_KEY_UNKNOWN, lambda at: (
        f"host key unknown: the server offers {offered.get_algorithm()}, known_hosts has only {listed} ({at})"
    )


def key_types(keys: list[asyncssh.SSHKey]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(k.get_algorithm() for k in keys))


def host_key(key: asyncssh.SSHKey, name: str, entries: Entries) -> HostKey:
    key_type, data = key.export_public_key().decode().split()[:2]
    others = tuple(t for t in key_types(entries.trusted) if t != key_type)
    return HostKey(key_type, key.get_fingerprint("sha256"), f"{name} {key_type} {data}", others)


def check_trustable(key: asyncssh.SSHKey, pattern: str, entries: Entries, path: str) -> bool:
    """Whether `key` is new for `pattern` (False: trusted already). Raises `NavishError` for a
    revoked key, or a different key of the same type (a changed key is never replaced)."""
    if any(k.public_data == key.public_data for k in entries.revoked):
        raise NavishError(f"{path} marks that host key for {pattern} @revoked — refusing to trust it")
    if any(k.public_data == key.public_data for k in entries.trusted):
        return False
    if any(k.get_algorithm() == key.get_algorithm() for k in entries.trusted):
        raise NavishError(
            f"{path} already has a different host key for {pattern} — refusing to replace it; "
            f"if the change is expected, remove it with `ssh-keygen -R '{pattern}' -f {shlex.quote(path)}`"
        )
    return True


def append_known_host(path: str, line: str) -> bool:
    """Add `line` to known_hosts file `path` unless present; refuse a revoked key or a
    conflicting entry of the same key type.

    Creates missing directories (0700) and the file (0600). Returns whether it was added.
    """
    pattern, _, key_text = line.strip().partition(" ")
    new_key = asyncssh.import_public_key(key_text)
    path = os.path.expanduser(path)
    if not check_trustable(new_key, pattern, KnownHosts([path]).entries(pattern), path):
        return False
    os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "ab+") as f:
        f.seek(0, os.SEEK_END)
        needs_newline = False
        if f.tell():
            f.seek(-1, os.SEEK_END)
            needs_newline = f.read(1) != b"\n"
        f.write((("\n" if needs_newline else "") + line.strip() + "\n").encode())
    return True
