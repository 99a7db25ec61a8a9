"""`remote add|list|remove|test|trust`: configure SSH hosts from the shell; changes apply at once."""

from __future__ import annotations

import os
import time
from dataclasses import asdict, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import config
from ..argspec import Kind, Opt, Pos, convert
from ..config import RemoteConfig
from ..errors import ActionFailed, NavishError, NotFound, UsageError
from ..model import LOCAL
from ..output import format_ms, hosts_table, to_json
from ..registry import HostStatus
from ..sanitize import one_line
from .base import JSON, YES, Command, Context, Result

if TYPE_CHECKING:
    from ..hosts.ssh import SshHost

REMOTE = Pos("NAME", Kind.REMOTE)

# each option of `remote add`, the RemoteConfig field it sets, and the kind of its value
_FIELDS = (
    (Opt(("--host",), "H", help="host name, address or ~/.ssh/config alias"), "host", Kind.TEXT),
    (Opt(("--port",), "P", Kind.PORT, help="SSH port (default: ~/.ssh/config, else 22)"), "port", Kind.PORT),
    (Opt(("--user",), "U", help="login name (default: ~/.ssh/config, else yours)"), "user", Kind.TEXT),
    (Opt(("--key",), "PATH", Kind.PATH, help="private key file (default: agent, ~/.ssh/config)"), "key", Kind.PATH),
    (Opt(("--session-dir",), "D", help="status-file directory there (default ~/.claude-sessions)"), "session_dir", Kind.TEXT),
    (Opt(("--cache-ttl",), "S", Kind.NUMBER, help="seconds a snapshot is served to commands (default 10)"), "cache_ttl", Kind.NUMBER),
    (Opt(("--jump-host",), "J", help="connect through [USER@]HOST[:PORT]"), "jump_host", Kind.TEXT),
    (Opt(("--known-hosts",), "PATH", Kind.PATH, help="known_hosts file (default ~/.ssh/known_hosts)"), "known_hosts", Kind.PATH),
)


def _remote_name(ctx: Context, name: str) -> str:
    if name == LOCAL:
        raise UsageError(f"{LOCAL!r} is this machine, not a remote")
    if name not in ctx.app.remotes:
        known = ", ".join(ctx.app.remotes) or "none configured"
        raise NotFound(f"no remote named {one_line(name)!r} (remotes: {known})")
    return name


def _ssh_host(ctx: Context, name: str) -> SshHost:
    from ..hosts.ssh import SshHost  # asyncssh loads only when a remote is used

    host = ctx.app.host(_remote_name(ctx, name))
    if not isinstance(host, SshHost):
        raise ActionFailed(f"{name} is not reached over SSH here")
    return host


def _config_path(ctx: Context) -> Path:
    if ctx.app.config_path is None:
        raise NavishError("the demo has no config file to change; run navish without --demo")
    return ctx.app.config_path


async def _reload(ctx: Context) -> None:
    await ctx.app.sync_remotes(config.load_config(_config_path(ctx)).remotes)


async def _add(ctx: Context, a: dict[str, Any]) -> Result:
    name = a["name"]
    if name == LOCAL:
        raise UsageError(f"remote add: {LOCAL!r} is this machine's name; choose another NAME")
    if not config.REMOTE_NAME.fullmatch(name):
        raise UsageError(f"remote add: NAME must be letters, digits, _ or -, not {one_line(name)!r}")
    if name in ctx.app.remotes:
        raise ActionFailed(f"a remote named {name!r} exists already (remote remove {name} first)")
    values = {field: a[opt.dest] for opt, field, _ in _FIELDS}
    if values["host"] is None:
        if ctx.ask is None:
            raise UsageError("remote add: --host is required")
        values = await _ask_fields(ctx, values)
    if values["key"] and not os.access(os.path.expanduser(values["key"]), os.R_OK):
        raise ActionFailed(f"remote add: cannot read the key file {one_line(values['key'])}")
    remote = RemoteConfig(name=name, **{k: v for k, v in values.items() if v is not None})
    config.add_remote(_config_path(ctx), remote)
    await _reload(ctx)
    return Result(f"saved remote {name} in {ctx.app.config_path}\n" + await _try(ctx, name))


async def _ask_fields(ctx: Context, values: dict[str, Any]) -> dict[str, Any]:
    """Ask for each field in turn; an empty answer keeps the default (shown in brackets)."""
    assert ctx.ask is not None
    defaults = {f.name: f.default for f in fields(RemoteConfig) if f.name not in ("name", "host")}
    for opt, field, kind in _FIELDS:
        if values[field] is not None:
            continue
        default = defaults.get(field)
        question = f"{field.replace('_', ' ')}{'' if default is None else f' [{default}]'}:"
        problem = ""
        while True:
            answer = (await ctx.ask(problem + question, "")).strip()
            if not answer:
                if field == "host":
                    continue
                break
            try:
                values[field] = convert("remote add", opt.names[0], kind, answer)
                break
            except UsageError as exc:
                problem = f"{one_line(exc)}; "
    return values


async def _try(ctx: Context, name: str) -> str:
    """Connect once and report, without failing the command: an unreachable host stays saved."""
    elapsed, outcomes = await ctx.app.refresh([name])
    (outcome,) = outcomes
    if outcome.ok:
        return f"{name}: connected, {outcome.sessions} sessions ({format_ms(elapsed)})"
    return f"not reachable now: {one_line(outcome.error or name)}"


async def _list(ctx: Context, a: dict[str, Any]) -> Result:
    await ctx.app.ensure_fresh(list(ctx.app.remotes))
    now = ctx.app.clock()
    hosts = [(ctx.app.registry.host(name), remote) for name, remote in ctx.app.remotes.items()]
    if a["json"]:
        return Result(to_json([{**asdict(remote), **_state_json(status, now)} for status, remote in hosts]))
    return Result(hosts_table([(status, _address(remote), remote.jump_host or "") for status, remote in hosts], now))


def _state_json(status: HostStatus, now: float) -> dict[str, Any]:
    reached = status.polled_at is not None
    return {
        "state": status.state.value,
        "sessions": len([s for s in status.sessions if s.status_file]) if reached else None,
        "stale": reached and status.is_stale(now),
        "last_poll_age_s": status.age(now),
        "last_poll_ms": None if status.poll_duration is None else round(status.poll_duration * 1000, 3),
        "error": status.error,
    }


def _address(remote: RemoteConfig) -> str:
    user = f"{remote.user}@" if remote.user else ""
    port = f":{remote.port}" if remote.port else ""
    return f"{user}{remote.host}{port}"


async def _remove(ctx: Context, a: dict[str, Any]) -> Result:
    name = _remote_name(ctx, a["name"])
    config.remove_remote(_config_path(ctx), name)
    await _reload(ctx)
    return Result(f"removed remote {name}")


async def _test(ctx: Context, a: dict[str, Any]) -> Result:
    host = _ssh_host(ctx, a["name"])
    name = host.name
    started = time.monotonic()
    await host.connect(force=True)
    connected = time.monotonic()
    result = await host.run("echo ok", timeout=ctx.app.command_timeout)
    ran = time.monotonic()
    if result.out.strip() != "ok":
        raise ActionFailed(f"{name}: a trivial command failed: {one_line(result.err or result.out, 200)}")
    _, (outcome,) = await ctx.app.refresh([name])
    lines = [
        f"{name}: connection {format_ms(connected - started)}"
        + (" (reused)" if connected - started < 0.005 else ""),
        f"{name}: command {format_ms(ran - connected)}",
        f"{name}: poll {format_ms(outcome.duration)}, "
        + (f"{outcome.sessions} sessions" if outcome.ok else f"failed: {one_line(outcome.error or '')}"),
    ]
    return Result("\n".join(lines), exit_code=0 if outcome.ok else 1)


async def _trust(ctx: Context, a: dict[str, Any]) -> Result:
    host = _ssh_host(ctx, a["name"])
    name = host.name
    key = await host.fetch_host_key()
    question = f"{name} presents a {key.key_type} host key with fingerprint {key.fingerprint}.\n"
    if key.other_types:
        question += (
            f"known_hosts already trusts a {', '.join(key.other_types)} key for it, which this server does "
            "not offer: make sure its owner changed the key type.\n"
        )
    question += "Check it with the host's owner (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub there). Trust it?"
    if not await ctx.confirmed("remote trust", question, a["yes"]):
        return Result("not trusted", exit_code=1)
    added = await host.trust(key.line)
    said = f"trusted {key.key_type} {key.fingerprint} for {name}" if added else f"{name}: that key was trusted already"
    return Result(said + "\n" + await _try(ctx, name))


REMOTE_COMMANDS: tuple[Command, ...] = (
    Command(
        "remote",
        "configure SSH hosts",
        subcommands=(
            Command(
                "add",
                "add an SSH host (asks for each field when only NAME is given)",
                _add,
                (Pos("NAME"),),
                tuple(opt for opt, _, _ in _FIELDS),
            ),
            Command("list", "each remote's address, state, sessions and last poll", _list, (), (JSON,)),
            Command("remove", "forget an SSH host", _remove, (REMOTE,)),
            Command("test", "connect, run a trivial command and a poll, and show the timings", _test, (REMOTE,)),
            Command("trust", "show a host's key fingerprint and trust it after you confirm", _trust, (REMOTE,), (YES,)),
        ),
    ),
)

