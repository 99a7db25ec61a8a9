"""`remote add|list|remove|mute|unmute|test|trust`: configure SSH hosts from the shell; changes
apply at once."""

from __future__ import annotations

import getpass
import time
import tomllib
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import config, config_file
from ..argspec import Kind, Pos
from ..config import RemoteConfig
from ..errors import ActionFailed, NavishError, NotFound, UsageError
from ..model import LOCAL
from ..output import format_age, format_ms, to_json
from ..registry import HostStatus
from ..sanitize import one_line
from ..table import Column, Shrink, fit
from .base import JSON, YES, Command, Context, Result
from .remote_fields import FIELDS, Invalid

if TYPE_CHECKING:
    from ..hosts.ssh import SshHost

REMOTE = Pos("NAME", Kind.REMOTE)


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
    """Every check happens before anything is asked or saved: the name, the config file (the
    demo has none), each option given; then each missing field is asked for and checked as it
    is answered. Ctrl-C or Ctrl-D at any question saves nothing."""
    name = a["name"]
    if name == LOCAL:
        raise UsageError(f"remote add: {LOCAL!r} is this machine's name; choose another NAME")
    if not config.REMOTE_NAME.fullmatch(name):
        raise UsageError(f"remote add: NAME must be letters, digits, _ or -, not {one_line(name)!r}")
    path = _config_path(ctx)
    if name in ctx.app.remotes:
        raise ActionFailed(f"a remote named {name!r} exists already (remote remove {name} first)")
    values: dict[str, Any] = {}
    for spec in FIELDS:
        given = a[spec.opt.dest]
        if given is None:
            continue
        try:
            values[spec.field] = spec.check(given) if isinstance(given, str) else given
        except Invalid as exc:
            error = UsageError if exc.usage else ActionFailed
            raise error(f"remote add: {spec.opt.names[0]}: {exc}") from None
    if "host" not in values:
        if ctx.ask is None:
            raise UsageError("remote add: --host is required")
        try:
            await _ask_fields(ctx, name, values)
        except EOFError:  # Ctrl-C or Ctrl-D at a question
            return Result("remote add: cancelled, nothing saved", exit_code=1)
    remote = RemoteConfig(name=name, **values)
    config.add_remote(path, remote)
    await _reload(ctx)
    return Result(f"saved remote {name} in {path}\n" + await _try(ctx, name))


async def _ask_fields(ctx: Context, name: str, values: dict[str, Any]) -> None:
    """Ask for each field not given, in turn, into `values`. An answer that cannot be used is
    explained and asked again at once; an empty one leaves the field out (its question says
    what that means), except for the host, which is required. Raises EOFError when the user
    cancels."""
    assert ctx.ask is not None
    ctx.say(f"adding remote {name} (Ctrl-C cancels; nothing is saved before the last answer)")
    me = getpass.getuser()
    for spec in FIELDS:
        if spec.field in values:
            continue
        question = spec.question.format(me=me)
        problem = ""
        while True:
            answer = (await ctx.ask(f"{problem}{question}", "")).strip()
            if not answer:
                if spec.field != "host":
                    break
                problem = "a host is required (Ctrl-C cancels)\n"
                continue
            try:
                values[spec.field] = spec.check(answer)
                break
            except Invalid as exc:
                problem = f"{exc}\n"


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
    hosts = [(ctx.app.registry.host(name), remote, _mode(ctx, name)) for name, remote in ctx.app.remotes.items()]
    if a["json"]:
        return Result(to_json([{**asdict(remote), **_state_json(status, now), "mode": mode} for status, remote, mode in hosts]))
    return Result(_hosts_table(hosts, now, ctx.width))


def _mode(ctx: Context, name: str) -> str:
    """`watch`, or `poll (why)`."""
    if not ctx.app.watch:
        return "poll (settings.watch is off)"
    monitor = ctx.app.monitors.get(name)
    return one_line(monitor.mode, 60) if monitor is not None else "poll"


_HOST_COLUMNS = (
    Column("NAME"), Column("ADDRESS"), Column("JUMP"), Column("STATE"), Column("MODE"), Column("SESSIONS"),
    Column("POLLED"), Column("TOOK"), Column("LAST ERROR"),
)
_NOTIFY = Column("NOTIFY")


def _hosts_table(hosts: list[tuple[HostStatus, RemoteConfig, str]], now: float, width: int | None) -> str:
    """`remote list`: each host's address (`user@host:port`), jump host, state, watch or poll
    mode, sessions, last poll and last error, in `width` cells (the error and the mode are cut
    first, the timings dropped); a NOTIFY column when a host is muted."""
    if not hosts:
        return "no remotes configured (add one with: remote add NAME --host HOST)"
    muted = any(remote.mute for _, remote, _ in hosts)
    rows = []
    for status, remote, mode in hosts:
        rows.append(
            [
                status.name,
                one_line(_address(remote)),
                one_line(remote.jump_host or "") or "-",
                status.state.value + (" (stale)" if status.polled_at and status.is_stale(now) else ""),
                mode,
                str(len([s for s in status.sessions if s.status_file])) if status.polled_at else "unknown",
                format_age(status.age(now)),
                format_ms(status.poll_duration),
                one_line(status.error or ""),
                *(["muted" if remote.mute else "on"] if muted else []),
            ]
        )
    columns = [*_HOST_COLUMNS, *([_NOTIFY] if muted else [])]
    address, jump, mode_column, polled, took, error = 1, 2, 4, 6, 7, 8
    shrink = [
        Shrink(error, 30), Shrink(mode_column, 12), Shrink(took, 0), Shrink(address, 16), Shrink(jump, 8),
        Shrink(polled, 0), Shrink(error, 16), Shrink(jump, 0), Shrink(error, 0),
    ]
    return fit(columns, rows, width, shrink)


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


async def _mute(ctx: Context, a: dict[str, Any]) -> Result:
    return await _set_mute(ctx, a["name"], True)


async def _unmute(ctx: Context, a: dict[str, Any]) -> Result:
    return await _set_mute(ctx, a["name"], False)


async def _set_mute(ctx: Context, name: str, mute: bool) -> Result:
    """`remotes.NAME.mute` in the config file, every other key of the table as the file spells
    it; the host keeps its connection (only its notifications change)."""
    name = _remote_name(ctx, name)
    path = _config_path(ctx)
    written = _as_written(path, name)
    word = "muted" if mute else "unmuted"
    if written.mute != mute:
        config.add_remote(path, replace(written, mute=mute), replace=True)
    ctx.app.remotes[name] = replace(ctx.app.remotes[name], mute=mute)  # the same host: no reconnect
    await _reload(ctx)
    if written.mute == mute:
        return Result(f"{name} is {word} already")
    said = "its sessions still show everywhere, but no notification announces them" if mute else "its notifications are back"
    return Result(f"{word} {name}: {said}")


def _as_written(path: Path, name: str) -> RemoteConfig:
    """`[remotes.NAME]` with its values as the file spells them (paths not resolved), so
    writing it back changes nothing but what the caller replaces."""
    config.load_config(path)  # a ConfigError for a file that is not valid
    table = tomllib.loads(config_file.read(path)).get("remotes", {}).get(name)
    if not isinstance(table, dict):
        raise NotFound(f"no remote named {name!r} in {path}")
    return RemoteConfig(name=name, **table)


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
                tuple(spec.opt for spec in FIELDS),
            ),
            Command("list", "each remote's address, state, watch or poll mode, sessions and last poll", _list, (), (JSON,)),
            Command("remove", "forget an SSH host", _remove, (REMOTE,)),
            Command("mute", "no notifications for a host's sessions (they still show everywhere)", _mute, (REMOTE,)),
            Command("unmute", "notifications for a host's sessions again", _unmute, (REMOTE,)),
            Command("test", "connect, run a trivial command and a poll, and show the timings", _test, (REMOTE,)),
            Command("trust", "show a host's key fingerprint and trust it after you confirm", _trust, (REMOTE,), (YES,)),
        ),
    ),
)

