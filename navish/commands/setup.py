"""`install-hooks`, `uninstall-hooks` and `new`: make a host report its sessions, start sessions."""

from __future__ import annotations

import shlex
from typing import Any

from .. import setup_actions
from ..argspec import Kind, Opt, Pos
from ..errors import ActionFailed
from ..hosts.base import Host
from ..model import LOCAL
from ..sanitize import one_line
from .base import Command, Context, Result

_REMOTE = Opt(("--remote",), "NAME", Kind.REMOTE, help="on this remote instead of this machine")
_SETTINGS = Opt(("--settings",), "PATH", Kind.PATH, help=f"Claude Code settings file (default {setup_actions.DEFAULT_SETTINGS})")
_DRY_RUN = Opt(("--dry-run",), help="print the change without making it")


def _target(ctx: Context, name: str | None) -> Host:
    """The host a setup command acts on (default: this machine); it must not be offline."""
    return ctx.app.reachable_host(name or LOCAL)


def _settings_target(ctx: Context, name: str | None) -> Host:
    if ctx.app.demo:
        raise ActionFailed("the demo does not change your Claude Code settings; run navish without --demo")
    return _target(ctx, name)


async def _install(ctx: Context, a: dict[str, Any]) -> Result:
    host = _settings_target(ctx, a["remote"])
    report = await setup_actions.install_hooks(
        host, settings_path=a["settings"] or setup_actions.DEFAULT_SETTINGS, dry_run=a["dry_run"], timeout=ctx.app.command_timeout
    )
    return Result(one_line_report(report))


async def _uninstall(ctx: Context, a: dict[str, Any]) -> Result:
    host = _settings_target(ctx, a["remote"])
    report = await setup_actions.uninstall_hooks(
        host, settings_path=a["settings"] or setup_actions.DEFAULT_SETTINGS, dry_run=a["dry_run"], timeout=ctx.app.command_timeout
    )
    return Result(one_line_report(report))


def one_line_report(report: str) -> str:
    """A report whose lines (the diff of a file from another host) are each made terminal-safe."""
    return "\n".join(one_line(line) for line in report.splitlines())


async def _new(ctx: Context, a: dict[str, Any]) -> Result:
    host = _target(ctx, a["host"])
    name = a["name"]
    started = await setup_actions.new_session(
        host, name, a["dir"] or "~", a["cmd"] or "claude", ctx.app.clock(), ctx.app.command_timeout
    )
    await ctx.app.refresh([host.name])
    ref = f"{host.name}:{name}"
    text = f"started {one_line(ref)} in {one_line(started.cwd)}"
    if ctx.confirm is None:
        return Result(f"{text}; attach to it with: attach {one_line(shlex.quote(ref))}")
    ctx.say(text)
    if await ctx.confirm("Attach to it now?"):
        await ctx.run_attached(host.attach_command(started.session_id))
    return Result()


SETUP_COMMANDS: tuple[Command, ...] = (
    Command(
        "install-hooks",
        "make Claude Code report its sessions to navish (merges hooks into settings.json)",
        _install,
        (),
        (_REMOTE, _SETTINGS, _DRY_RUN),
        details="Copies the hook to <session_dir>/hooks/hook.py there; every other setting is kept, "
        "the previous file is saved as settings.json.bak, and a second run changes nothing.",
    ),
    Command("uninstall-hooks", "remove exactly the hooks install-hooks added", _uninstall, (), (_REMOTE, _SETTINGS, _DRY_RUN)),
    Command(
        "new",
        "start a session in tmux (runs claude, or CMD) and offer to attach",
        _new,
        (Pos("NAME"),),
        (
            Opt(("--host",), "HOST", Kind.HOST, help="where (default: local)"),
            Opt(("--dir",), "DIR", Kind.PATH, help="working directory there (default: home)"),
            Opt(("--cmd",), "CMD", help="command to run instead of claude"),
        ),
    ),
)
