"""SSH hosts: scripts run by `/bin/sh -s` over one pooled asyncssh connection per remote.

`SshPool` owns the connections: opened lazily, shared by every caller as separate channels
(at most `max_channels` at once, below sshd's MaxSessions=10), replaced when they die, retried
with capped exponential backoff while a host is down. A jump host is one more pooled connection,
reused as the tunnel for every remote behind it. `SshHost` is the `Host` a remote is seen as.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
import socket
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, NamedTuple

import asyncssh

from ..config import RemoteConfig, parse_jump_host
from ..errors import HostUnreachable, NavishError
from ..model import HostState
from .base import SH_COMMAND, AttachCommand, ScriptResult, exact_target, frame_script

log = logging.getLogger(__name__)

DEFAULT_PORT = 22
DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"
CIPHERS = (
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes256-ctr",
    "aes192-ctr",
    "aes128-ctr",
)
"""asyncssh's defaults with AES-GCM first: in asyncssh it costs about a third less CPU per
channel than chacha20-poly1305 (which builds a cipher context per packet)."""


class HostKey(NamedTuple):
    """A server's host key as `remote trust` shows it."""

    key_type: str
    fingerprint: str
    """`SHA256:...`, as `ssh-keygen -l` prints it."""
    line: str
    """The known_hosts line that trusts it."""


@dataclass(frozen=True)
class _Hop:
    """One SSH endpoint to connect to; `via` is the jump host in front of it."""

    host: str
    port: int | None
    user: str | None
    key: str | None
    known_hosts: str | None
    via: _Hop | None = None

    @classmethod
    def of(cls, spec: RemoteConfig) -> _Hop:
        via = None
        if spec.jump_host:
            user, host, port = parse_jump_host(spec.jump_host)
            via = cls(host, port, user, spec.key, spec.known_hosts)
        return cls(spec.host, spec.port, spec.user, spec.key, spec.known_hosts, via)


@dataclass(frozen=True)
class _Failure:
    """Why a connect failed, without the remote's name: a jump host is shared by several."""

    state: HostState
    text: str
    jump_text: str
    """The same, when the hop that failed is the jump host in front of the remote."""
    jump: bool = False

    def message(self, name: str) -> str:
        text = self.jump_text if self.jump else self.text
        if self.state is HostState.HOST_KEY_UNKNOWN:
            return f"{name}: {text} — run `remote trust {name}`"
        return f"{name}: {text}"


class _ConnectFailed(Exception):
    def __init__(self, failure: _Failure):
        super().__init__(failure.text)
        self.failure = failure


class _Link:
    """The pooled connection to one hop: connect lock, channel cap, backoff, listeners."""

    def __init__(self, hop: _Hop, max_channels: int):
        self.hop = hop
        self.conn: asyncssh.SSHClientConnection | None = None
        self.lock = asyncio.Lock()
        self.channels = asyncio.Semaphore(max_channels)
        self.where = _where(hop.host, hop.port or DEFAULT_PORT)
        self.failures = 0
        self.retry_at = 0.0
        self.failure: _Failure | None = None
        self.suspect = False
        """Keepalive was tightened after a timeout; restored on the next answer."""
        self.on_lost: list[Callable[[str], None]] = []
        self.reapers: set[asyncio.Task] = set()

    def alive(self) -> bool:
        return self.conn is not None and not self.conn.is_closed()

    def release(self, proc: asyncssh.SSHClientProcess | None) -> None:
        """Give back a channel slot; a script still running is killed and keeps its slot until
        its channel has closed (sshd counts it against MaxSessions until then)."""
        if proc is None or proc.returncode is not None:
            self.channels.release()
            return
        try:
            proc.send_signal("KILL")  # sshd kills the script's process group (refused for root)
        except OSError:
            pass
        proc.close()
        task = asyncio.ensure_future(self._release_when_closed(proc))
        self.reapers.add(task)
        task.add_done_callback(self.reapers.discard)

    async def _release_when_closed(self, proc: asyncssh.SSHClientProcess) -> None:
        try:
            await proc.wait_closed()
        finally:
            self.channels.release()

    def lost(self, conn: asyncssh.SSHClientConnection) -> None:
        if conn is self.conn:  # not a connection we closed or already replaced
            for callback in list(self.on_lost):
                callback(f"connection lost ({self.where})")


class _Client(asyncssh.SSHClient):
    """Tells the link at once when its connection drops (keepalive, TCP reset, sshd exit)."""

    def __init__(self, link: _Link):
        self._link = link
        self._conn: asyncssh.SSHClientConnection | None = None

    def connection_made(self, conn: asyncssh.SSHClientConnection) -> None:
        self._conn = conn

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._link.lost(self._conn)


class SshPool:
    """At most one connection per SSH endpoint, shared by all callers as separate channels.

    `config` is passed to asyncssh: `()` reads ~/.ssh/config, `None` reads nothing, or paths.
    `agent_path`: `()` uses $SSH_AUTH_SOCK, `None` no agent. `ciphers`: preference order, `()` for
    asyncssh's own (or ssh_config's `Ciphers`). Times are seconds. After a failed
    connect, callers fail fast with the same error for `backoff_initial` seconds, doubling per
    consecutive failure up to `backoff_max`; `SshHost.connect(force=True)` retries at once.
    """

    def __init__(
        self,
        *,
        config: Any = (),
        agent_path: Any = (),
        connect_timeout: float = 5.0,
        keepalive_interval: float = 15.0,
        keepalive_count_max: int = 3,
        max_channels: int = 8,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        ciphers: Any = CIPHERS,
    ):
        quiet_asyncssh()
        self.ciphers = ciphers
        self.config = config
        self.agent_path = agent_path
        self.connect_timeout = connect_timeout
        self.keepalive_interval = keepalive_interval
        self.keepalive_count_max = keepalive_count_max
        self.max_channels = max_channels
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self._links: dict[_Hop, _Link] = {}

    def host(self, spec: RemoteConfig, *, on_state_change: Callable[[SshHost], None] | None = None) -> SshHost:
        return SshHost(spec, self, on_state_change=on_state_change)

    def open_connections(self) -> int:
        """How many pooled connections are up (remotes and jump hosts)."""
        return sum(link.alive() for link in self._links.values())

    async def close_all(self) -> None:
        """Close every connection and wait until each is fully closed."""
        links = sorted(self._links.values(), key=lambda link: link.hop.via is None)  # tunnelled ones first
        for link in links:
            await self._close_link(link)

    # -- internals used by SshHost --

    def _link(self, hop: _Hop) -> _Link:
        link = self._links.get(hop)
        if link is None:
            link = self._links[hop] = _Link(hop, self.max_channels)
        if hop.via is not None:
            self._link(hop.via)
        return link

    async def _close_link(self, link: _Link) -> None:
        conn, link.conn = link.conn, None
        if conn is not None:
            conn.close()
            await conn.wait_closed()
        if link.reapers:
            await asyncio.gather(*link.reapers, return_exceptions=True)

    async def _connection(
        self, link: _Link, *, force: bool = False, attempting: Callable[[], None] | None = None
    ) -> asyncssh.SSHClientConnection:
        """The link's live connection, connecting first if needed. Raises `_ConnectFailed`."""
        if link.alive():
            return link.conn  # type: ignore[return-value]
        async with link.lock:
            if link.alive():
                return link.conn  # type: ignore[return-value]
            if link.failure and not force and time.monotonic() < link.retry_at:
                raise _ConnectFailed(link.failure)
            if attempting:
                attempting()
            try:
                tunnel: Any = ()
                if link.hop.via is not None:
                    try:
                        tunnel = await self._connection(self._links[link.hop.via], force=force)
                    except _ConnectFailed as exc:
                        raise _ConnectFailed(replace(exc.failure, jump=True)) from None
                link.conn = await self._open(link, tunnel)
            except _ConnectFailed as exc:
                link.failures += 1
                delay = min(self.backoff_initial * 2 ** (link.failures - 1), self.backoff_max)
                link.retry_at = time.monotonic() + delay
                link.failure = exc.failure
                raise
            link.failures, link.failure, link.suspect = 0, None, False
            return link.conn

    async def _options(self, hop: _Hop, **extra: Any) -> asyncssh.SSHClientConnectionOptions:
        """Options for one connect to `hop`, re-reading ssh config and keys each time."""
        kwargs: dict[str, Any] = dict(
            host=hop.host,
            port=hop.port or (),
            username=hop.user or (),
            config=self.config,
            agent_path=self.agent_path,
            connect_timeout=self.connect_timeout,
            keepalive_interval=self.keepalive_interval,
            keepalive_count_max=self.keepalive_count_max,
            encryption_algs=self.ciphers,
            request_pty=False,
            agent_forwarding=False,
            x11_forwarding=False,
        )
        if hop.key:
            key = os.path.expanduser(hop.key)
            kwargs["client_keys"] = [key]
            kwargs["ignore_encrypted"] = True  # an encrypted key is still offered via the agent
            pub = key + ".pub"
            kwargs["agent_identities"] = [pub if os.path.exists(pub) else key]
        kwargs.update(extra)
        try:
            if hop.known_hosts:  # a missing file trusts nothing (asyncssh would fail to read it)
                path = os.path.expanduser(hop.known_hosts)
                exists = os.path.exists(path)
                kwargs["known_hosts"] = asyncssh.read_known_hosts(path) if exists else asyncssh.SSHKnownHosts()
            return await asyncssh.SSHClientConnectionOptions.construct(**kwargs)
        except (OSError, asyncssh.Error, ValueError) as exc:
            text = f"cannot use ssh settings: {exc}"
            raise _ConnectFailed(_Failure(HostState.AUTH_FAILED, text, f"jump host: {text}")) from None

    async def _open(self, link: _Link, tunnel: Any) -> asyncssh.SSHClientConnection:
        hop = link.hop
        opts = await self._options(hop, client_factory=lambda: _Client(link))
        link.where = _where(opts.host, opts.port)
        try:
            # connect()'s own arguments override the options': pass tunnel here
            return await asyncssh.connect(hop.host, hop.port or (), tunnel=tunnel, options=opts, config=self.config)
        except (OSError, asyncssh.Error, asyncio.TimeoutError) as exc:
            raise _ConnectFailed(self._explain(exc, link, opts)) from None

    def _explain(self, exc: BaseException, link: _Link, opts: Any) -> _Failure:
        """Turn a connect error into one line, for the remote itself and as a jump host."""
        state, say = HostState.OFFLINE, lambda where: f"{exc} ({where})"
        if isinstance(exc, asyncssh.HostKeyNotVerifiable):
            if _known_keys(link.hop, opts):
                state = HostState.HOST_KEY_CHANGED
                say = lambda where: f"HOST KEY CHANGED for {where} — refusing to connect (possible man-in-the-middle)"
            else:
                state, say = HostState.HOST_KEY_UNKNOWN, lambda where: f"host key unknown ({where})"
        elif isinstance(exc, asyncssh.PermissionDenied):
            state = HostState.AUTH_FAILED
            say = lambda where: f"authentication failed as {opts.username}@{opts.host}" + (
                f" ({where})" if where != link.where else ""
            )
        elif isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
            say = lambda where: f"no answer within {self.connect_timeout:g}s ({where})"
        elif isinstance(exc, ConnectionRefusedError):
            say = lambda where: f"connection refused ({where})"
        elif isinstance(exc, socket.gaierror):
            say = lambda where: f"cannot resolve {opts.host}" + (f" ({where})" if where != link.where else "")
        elif isinstance(exc, asyncssh.DisconnectError):
            say = lambda where: f"{exc.reason or type(exc).__name__} ({where})"
        elif isinstance(exc, OSError):
            say = lambda where: f"{exc.strerror or exc} ({where})"
        return _Failure(state, say(link.where), say(f"jump host {link.where}"))

    async def _host_key(self, link: _Link, tunnel: Any) -> HostKey:
        """The host key `link`'s server presents, fetched without trusting it."""
        opts = await self._options(link.hop)
        try:
            key = await asyncssh.get_server_host_key(
                link.hop.host, link.hop.port or (), tunnel=tunnel, options=opts, config=self.config
            )
        except (OSError, asyncssh.Error, asyncio.TimeoutError) as exc:
            raise _ConnectFailed(self._explain(exc, link, opts)) from None
        if key is None:
            text = f"server sent no host key ({link.where})"
            raise _ConnectFailed(_Failure(HostState.OFFLINE, text, text))
        key_type, data = key.export_public_key().decode().split()[:2]
        line = f"{_known_hosts_name(opts)} {key_type} {data}"
        return HostKey(key_type, key.get_fingerprint("sha256"), line)


class SshHost:
    """A remote reached over the pool; implements `navish.hosts.base.Host`.

    `state`/`last_error` follow every connect attempt, failure, success and lost connection;
    `on_state_change(host)` is called whenever either changes.
    """

    tmux = "tmux -u"
    """`-u`: UTF-8 session names even where the login gives no UTF-8 locale (tmux would mangle them)."""

    def __init__(
        self, spec: RemoteConfig, pool: SshPool, *, on_state_change: Callable[[SshHost], None] | None = None
    ):
        self.spec = spec
        self.name = spec.name
        self.session_dir = spec.session_dir
        self.state = HostState.UNKNOWN
        self.last_error: str | None = None
        self.on_state_change = on_state_change
        self._pool = pool
        self._hop = _Hop.of(spec)
        self._link = pool._link(self._hop)
        self._link.on_lost.append(self._lost)

    def __repr__(self) -> str:
        return f"<SshHost {self.name} {self.state.value}>"

    # -- Host protocol --

    async def run(self, script: str, *, stdin: str | None = None, timeout: float) -> ScriptResult:
        program = frame_script(script, stdin).encode()
        conn = await self.connect()
        link = self._link
        started = time.monotonic()
        proc: asyncssh.SSHClientProcess | None = None
        holding = False
        try:
            async with asyncio.timeout(timeout):
                await link.channels.acquire()
                holding = True
                proc = await _start(conn, program)
                done = await proc.wait()
                await proc.wait_closed()  # our CLOSE is sent before this slot is reused
        except TimeoutError:
            if link.alive() and not link.suspect:  # a dead peer is then found within ~2 s
                link.suspect = True
                conn.set_keepalive(1, 2)
            raise self._fail(HostState.OFFLINE, f"no answer within {timeout:g}s ({link.where})") from None
        except asyncssh.ChannelOpenError as exc:
            await self._pool._close_link(link)  # sessions stuck on the server: start afresh
            raise self._fail(HostState.OFFLINE, f"cannot open a channel: {exc.reason} ({link.where})") from None
        except (OSError, asyncssh.Error) as exc:
            log.debug("%s: run failed: %r", self.name, exc)
            raise self._fail(HostState.OFFLINE, f"connection lost ({link.where})") from None
        finally:
            if holding:
                link.release(proc)
        if done.returncode is None:
            raise self._fail(HostState.OFFLINE, f"connection lost ({link.where})")
        if link.suspect:
            link.suspect = False
            conn.set_keepalive(self._pool.keepalive_interval, self._pool.keepalive_count_max)
        self._set(HostState.CONNECTED, None)
        return ScriptResult(done.returncode, _bytes(done.stdout), _bytes(done.stderr), time.monotonic() - started)

    def attach_command(self, session: str) -> AttachCommand:
        spec = self.spec
        argv = ["ssh", *self._config_args(), "-t"]
        if spec.port:
            argv += ["-p", str(spec.port)]
        argv += self._identity_args()
        if spec.jump_host:
            juser, jhost, jport = parse_jump_host(spec.jump_host)
            words = ["ssh", *self._config_args(), *self._identity_args()]
            if jport:
                words += ["-p", str(jport)]
            words += [f"{juser}@{jhost}" if juser else jhost, "-W", "%h:%p"]
            argv += ["-o", "ProxyCommand=" + " ".join(w if w == "%h:%p" else shlex.quote(w) for w in words)]
        argv += [f"{spec.user}@{spec.host}" if spec.user else spec.host, "--"]
        argv.append(f"{self.tmux} attach-session -t {shlex.quote(exact_target(session))}")
        return AttachCommand(argv)

    async def close(self) -> None:
        """Close this remote's connection (a jump host stays for `SshPool.close_all`)."""
        if self._lost in self._link.on_lost:
            self._link.on_lost.remove(self._lost)
        if not self._link.on_lost:
            await self._pool._close_link(self._link)

    # -- connection management --

    async def connect(self, *, force: bool = False) -> asyncssh.SSHClientConnection:
        """The live pooled connection, connecting if needed; `force` skips the backoff (`remote test`).

        Raises `HostUnreachable` with a one-line message.
        """
        try:
            conn = await self._pool._connection(
                self._link, force=force, attempting=lambda: self._set(HostState.CONNECTING, None)
            )
        except _ConnectFailed as exc:
            raise self._fail(exc.failure.state, exc.failure.message(self.name), named=True) from None
        if self.state is not HostState.CONNECTED and not self._link.suspect:
            self._set(HostState.CONNECTED, None)
        return conn

    async def fetch_host_key(self) -> HostKey:
        """The host key to trust next: the jump host's while it is unknown, else the remote's."""
        link, tunnel = self._link, ()
        if self._hop.via is not None:
            jump = self._pool._links[self._hop.via]
            try:
                tunnel = await self._pool._connection(jump, force=True)
            except _ConnectFailed as exc:
                if exc.failure.state is not HostState.HOST_KEY_UNKNOWN:
                    raise HostUnreachable(exc.failure.message(self.name)) from None
                link = jump
        try:
            return await self._pool._host_key(link, tunnel)
        except _ConnectFailed as exc:
            raise HostUnreachable(exc.failure.message(self.name)) from None

    async def trust(self, line: str) -> bool:
        """Append a known_hosts `line` (from `fetch_host_key`) to the effective known_hosts file.

        Returns False when it is already there. Raises `NavishError` if that file holds a
        different key for the host: a changed key is never replaced automatically.
        """
        pattern = line.split(None, 1)[0]
        link = self._link
        if self._hop.via is not None:
            jump = self._pool._links[self._hop.via]
            if pattern == _known_hosts_name(await self._pool._options(jump.hop)):
                link = jump
        opts = await self._pool._options(link.hop)
        added = append_known_host(_known_hosts_files(link.hop, opts)[0], line)
        for each in (self._link, self._pool._links.get(self._hop.via)):  # type: ignore[arg-type]
            if each is not None:
                each.retry_at = 0.0
        return added

    # -- state --

    def _set(self, state: HostState, error: str | None) -> None:
        if (state, error) == (self.state, self.last_error):
            return
        self.state, self.last_error = state, error
        if self.on_state_change is not None:
            self.on_state_change(self)

    def _fail(self, state: HostState, text: str, *, named: bool = False) -> HostUnreachable:
        message = text if named else f"{self.name}: {text}"
        self._set(state, message)
        return HostUnreachable(message)

    def _lost(self, why: str) -> None:
        self._set(HostState.OFFLINE, f"{self.name}: {why}")

    def _config_args(self) -> list[str]:
        config = self._pool.config
        if config is None:
            return ["-F", "/dev/null"]
        if isinstance(config, (str, os.PathLike)):
            return ["-F", os.fspath(config)]
        return []

    def _identity_args(self) -> list[str]:
        spec, args = self.spec, []
        if spec.key:
            args += ["-i", _ssh_path(spec.key)]
        if spec.known_hosts:
            args += ["-o", _ssh_option("UserKnownHostsFile", _ssh_path(spec.known_hosts))]
            args += ["-o", "StrictHostKeyChecking=yes"]
        return args


def append_known_host(path: str, line: str) -> bool:
    """Add `line` to known_hosts file `path` unless present; refuse a conflicting entry.

    Creates missing directories (0700) and the file (0600). Returns whether it was added.
    """
    pattern, _, key_text = line.strip().partition(" ")
    new_key = asyncssh.import_public_key(key_text)
    host, port = _split_pattern(pattern)
    path = os.path.expanduser(path)
    if os.path.exists(path):
        known = _host_keys(asyncssh.read_known_hosts(path), host, port)
        if any(k.public_data == new_key.public_data for k in known):
            return False
        if known:
            raise NavishError(
                f"{path} already has a different host key for {pattern} — refusing to replace it; "
                f"if the change is expected, remove it with `ssh-keygen -R '{pattern}' -f {shlex.quote(path)}`"
            )
    os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "ab+") as f:
        f.seek(0, os.SEEK_END)
        if f.tell():
            f.seek(-1, os.SEEK_END)
            needs_newline = f.read(1) != b"\n"
        else:
            needs_newline = False
        f.write((("\n" if needs_newline else "") + line.strip() + "\n").encode())
    return True


def quiet_asyncssh() -> None:
    """Keep asyncssh off the terminal: warnings and up, to the logging tree only."""
    asyncssh.set_log_level(logging.WARNING)
    logger = logging.getLogger("asyncssh")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())  # no logging.lastResort printing to stderr


async def _start(conn: asyncssh.SSHClientConnection, program: bytes) -> asyncssh.SSHClientProcess:
    """Open a channel running `/bin/sh -s` fed `program`.

    sshd frees a session slot a little after the close handshake, so a refused open (MaxSessions)
    is retried briefly: a channel that never opened ran nothing.
    """
    for delay in (0.01, 0.03, 0.1, None):
        try:
            return await conn.create_process(SH_COMMAND, input=program, encoding=None)
        except asyncssh.ChannelOpenError:
            if delay is None or conn.is_closed():
                raise
            log.debug("channel open refused, retrying in %gs", delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


def _bytes(data: Any) -> bytes:
    if data is None:
        return b""
    return data if isinstance(data, bytes) else str(data).encode()


def _where(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _known_hosts_name(opts: Any) -> str:
    """How OpenSSH names this server in known_hosts: `host`, or `[host]:port` off port 22."""
    host = opts.host_key_alias or opts.host
    return host if opts.port == DEFAULT_PORT else f"[{host}]:{opts.port}"


def _split_pattern(pattern: str) -> tuple[str, int | None]:
    if pattern.startswith("[") and "]:" in pattern:
        host, port = pattern[1:].rsplit("]:", 1)
        return host, int(port)
    return pattern, None


def _known_hosts_files(hop: _Hop, opts: Any) -> list[str]:
    """The known_hosts files checked for `hop`, the one `trust` writes first."""
    if hop.known_hosts:
        return [os.path.expanduser(hop.known_hosts)]
    known = opts.known_hosts
    if isinstance(known, (str, os.PathLike)):
        return [os.path.expanduser(os.fspath(known))]
    if isinstance(known, (list, tuple)) and known and isinstance(known[0], (str, os.PathLike)):
        return [os.path.expanduser(os.fspath(k)) for k in known]
    return [os.path.expanduser(DEFAULT_KNOWN_HOSTS)]


def _known_keys(hop: _Hop, opts: Any) -> list[asyncssh.SSHKey]:
    """Host keys the known_hosts files list for this server (any key: then it has CHANGED)."""
    host, port = _split_pattern(_known_hosts_name(opts))
    keys: list[asyncssh.SSHKey] = []
    for path in _known_hosts_files(hop, opts):
        try:
            keys += _host_keys(asyncssh.read_known_hosts(path), host, port)
        except (OSError, ValueError):
            continue
    return keys


def _host_keys(known: asyncssh.SSHKnownHosts, host: str, port: int | None) -> list[asyncssh.SSHKey]:
    """Keys listed for exactly `host` (`[host]:port` off port 22), as OpenSSH looks them up.

    `SSHKnownHosts.match` falls back to portless entries when none name the port; that would
    make a second sshd on another port of a known host look CHANGED, and untrustable.
    """
    return list(known._match(host, "", port)[0])  # noqa: SLF001 (the public match() adds the fallback)


def _ssh_path(path: str) -> str:
    """A path for the OpenSSH client: `~` expanded, `%` escaped from token expansion."""
    return os.path.expanduser(path).replace("%", "%%")


def _ssh_option(name: str, value: str) -> str:
    return f'{name}="{value}"' if any(c.isspace() for c in value) else f"{name}={value}"


__all__ = ["HostKey", "SshHost", "SshPool", "append_known_host", "quiet_asyncssh"]
