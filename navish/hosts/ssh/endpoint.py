"""Where an SSH hop is and how to reach it: the endpoint, its asyncssh options, and connect errors
turned into one line."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncssh

from ...config import RemoteConfig, parse_jump_host
from ...model import HostState
from ...sanitize import one_line

DEFAULT_PORT = 22
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


@dataclass(frozen=True)
class Hop:
    """One SSH endpoint to connect to; `via` is the jump host in front of it."""

    host: str
    port: int | None
    user: str | None
    key: str | None
    known_hosts: str | None
    via: Hop | None = None

    @classmethod
    def of(cls, spec: RemoteConfig) -> Hop:
        via = None
        if spec.jump_host:
            user, host, port = parse_jump_host(spec.jump_host)
            via = cls(host, port, user, spec.key, spec.known_hosts)
        return cls(spec.host, spec.port, spec.user, spec.key, spec.known_hosts, via)


@dataclass(frozen=True)
class ConnectSettings:
    """What every connection of a pool shares. `config`: `()` reads ~/.ssh/config, `None` nothing,
    or paths; `agent_path`: `()` $SSH_AUTH_SOCK, `None` no agent; times in seconds."""

    config: Any = ()
    agent_path: Any = ()
    connect_timeout: float = 5.0
    keepalive_interval: float = 15.0
    keepalive_count_max: int = 3
    ciphers: Any = CIPHERS


@dataclass(frozen=True)
class Failure:
    """Why a connect failed, without the remote's name: a jump host is shared by several."""

    state: HostState
    text: str
    jump_text: str
    """The same, when the hop that failed is the jump host in front of the remote."""
    jump: bool = False

    @classmethod
    def at(cls, state: HostState, say: Callable[[str], str], where: str) -> Failure:
        return cls(state, say(where), say(f"jump host {where}"))

    def message(self, name: str) -> str:
        text = self.jump_text if self.jump else self.text
        if self.state is HostState.HOST_KEY_UNKNOWN:
            return f"{name}: {text} — run `remote trust {name}`"
        return f"{name}: {text}"


class ConnectFailed(Exception):
    def __init__(self, failure: Failure):
        super().__init__(failure.text)
        self.failure = failure


async def connect_options(
    hop: Hop, settings: ConnectSettings, **extra: Any
) -> asyncssh.SSHClientConnectionOptions:
    """Options for one connect to `hop`, re-reading ssh config and keys each time.

    known_hosts is left to the caller (`trust.KnownHosts`). Raises `ConnectFailed`."""
    kwargs: dict[str, Any] = dict(
        host=hop.host,
        port=hop.port or (),
        username=hop.user or (),
        config=settings.config,
        agent_path=settings.agent_path,
        connect_timeout=settings.connect_timeout,
        keepalive_interval=settings.keepalive_interval,
        keepalive_count_max=settings.keepalive_count_max,
        encryption_algs=settings.ciphers,
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
        return await asyncssh.SSHClientConnectionOptions.construct(**kwargs)
    except (OSError, asyncssh.Error, ValueError) as exc:
        the_key = hop.key and (
            isinstance(exc, asyncssh.KeyImportError) or getattr(exc, "filename", None) == kwargs["client_keys"][0]
        )
        raise ConnectFailed(settings_failure(exc, f"load the key {hop.key}" if the_key else "use ssh settings")) from None


def settings_failure(exc: BaseException, what: str = "use ssh settings") -> Failure:
    """Settings of ours that cannot be used (a key that cannot be loaded, a known_hosts file that
    cannot be read, a bad ~/.ssh/config), said as what they are: never as a failed login."""
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
    text = f"cannot {what}: {one_line(reason, 200)}"
    return Failure(HostState.BAD_SETTINGS, text, f"jump host: {text}")


def direct_address(hop: Hop, opts: asyncssh.SSHClientConnectionOptions) -> tuple[str, int] | None:
    """The TCP address a connect to `hop` goes to, or None when it goes through a tunnel or proxy."""
    if hop.via is not None or opts.tunnel or opts.proxy_command:
        return None
    return opts.host, opts.port


def network_failure(exc: BaseException, where: str, opts: asyncssh.SSHClientConnectionOptions,
                    connect_timeout: float) -> Failure:
    """A connect error that is not about host keys, in one line."""
    state, say = HostState.OFFLINE, lambda at: f"{exc} ({at})"
    if isinstance(exc, asyncssh.PermissionDenied):
        state = HostState.AUTH_FAILED
        say = lambda at: f"authentication failed as {opts.username}@{opts.host}" + (f" ({at})" if at != where else "")
    elif isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        say = lambda at: f"no answer within {connect_timeout:g}s ({at})"
    elif isinstance(exc, ConnectionRefusedError):
        say = lambda at: f"connection refused ({at})"
    elif isinstance(exc, socket.gaierror):
        say = lambda at: f"cannot resolve {opts.host}" + (f" ({at})" if at != where else "")
    elif isinstance(exc, asyncssh.DisconnectError):
        say = lambda at: f"{one_line(exc.reason, 200) or type(exc).__name__} ({at})"  # the server's words
    elif isinstance(exc, OSError):
        say = lambda at: f"{exc.strerror or exc} ({at})"
    return Failure.at(state, say, where)


def tcp_down(exc: BaseException) -> bool | None:
    """What a connect error says about the TCP port: True not accepting, False accepting
    (the SSH layer failed), None unknown (a timeout covers both)."""
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return None
    if isinstance(exc, (ConnectionRefusedError, socket.gaierror)):
        return True
    if isinstance(exc, ConnectionError):  # reset or aborted: the port did accept
        return False
    return isinstance(exc, OSError)  # no route to the host or network


def where(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def quiet_asyncssh() -> None:
    """Keep asyncssh off the terminal: warnings and up, to the logging tree only."""
    asyncssh.set_log_level(logging.WARNING)
    logger = logging.getLogger("asyncssh")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())  # no logging.lastResort printing to stderr
