"""The session commands: ls, filter, preview, git, kill, rename, dismiss, attach, refresh, prune."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .. import actions, status_files
from ..argspec import Kind, Opt, Pos
from ..errors import ActionFailed, UsageError
from ..model import Session
from ..app import App
from ..output import format_ms, git_json, git_text, paint, session_json, sessions_table, to_json
from ..registry import FILTER_MODES, SORT_KEYS, host_in_mode, match_sessions, next_filter_mode, sort_sessions
from ..sanitize import one_line, pane_text
from .base import JSON, SESSION, YES, Command, Context, Result
from .selection import HOST, STATUS, TARGETS, URGENT, for_each, matches, select, statuses


async def _ls(ctx: Context, a: dict[str, Any]) -> Result:
    app = ctx.app
    wanted = statuses("ls", a["status"])
    mode = a["host"] or app.filter_mode
    if a["host"] is not None:
        app.registry.host(a["host"])  # NotFound, listing the hosts
    pending = await app.ensure_fresh([h for h in app.registry.host_names() if host_in_mode(h, mode)])
    sessions = app.registry.sessions(mode, include_untracked=a["all"])
    everything = sessions
    pattern = a["pattern"]
    if pattern and ":" in pattern:  # `dev:*`: a glob over HOST:SESSION
        sessions = [s for s in sessions if matches(pattern, s)]
        pattern = None
    sessions = sort_sessions(match_sessions(sessions, pattern, wanted), a["sort"] or "attention")
    warnings = _host_warnings(app, pending, mode)
    if a["json"]:
        return Result(to_json([session_json(s) for s in sessions]), warnings)
    if not everything and not app.registry.sessions(app.filter_mode, include_untracked=True):
        return Result(NO_SESSIONS_HINT, warnings)
    width = None if a["wide"] else ctx.width
    return Result(sessions_table(sessions, app.clock(), width=width, color=ctx.color, tokens=a["tokens"]), warnings)


NO_SESSIONS_HINT = (
    "no sessions. Start `claude` inside tmux and it shows up here (navish reads Claude Code's own session "
    "registry); `install-hooks` adds messages, tool counts and older Claude Code versions."
)


def _host_warnings(app: App, pending: list[str], mode: str) -> list[str]:
    now = app.clock()
    warnings: list[str] = []
    for status in app.registry.hosts():
        if not host_in_mode(status.name, mode):
            continue
        warnings.extend(one_line(w) for w in status.warnings)
        if status.name in pending:
            known = f"its sessions are from {int(status.age(now) or 0)}s ago" if status.polled_at else "sessions unknown yet"
            warnings.append(f"{status.name}: still answering; {known}")
        elif status.error and status.polled_at is None:
            warnings.append(f"{status.name}: {status.state.value}, sessions unknown ({one_line(status.error)})")
        elif status.error:
            warnings.append(f"{status.name}: {status.state.value}; its sessions are last known data ({one_line(status.error)})")
        elif status.is_stale(now) and status.polled_at is not None:
            warnings.append(f"{status.name}: stale, last polled {int(status.age(now) or 0)}s ago")
    return warnings


async def _filter(ctx: Context, a: dict[str, Any]) -> Result:
    mode = a["mode"]
    if mode is not None and mode not in FILTER_MODES and not ctx.app.registry.has_host(mode):
        raise UsageError(f"filter: expected all, local, remote or a host name ({', '.join(ctx.app.registry.host_names())}), not {one_line(mode)!r}")
    ctx.app.set_filter(mode or next_filter_mode(ctx.app.filter_mode))
    return Result(f"filter: {ctx.app.filter_mode}")


async def _pager(ctx: Context, a: dict[str, Any]) -> Result:
    if a["mode"] is not None:
        ctx.app.paging = a["mode"] == "on"
    return Result(f"pager: {'on' if ctx.app.paging else 'off'} (long output in the shell goes through it)")


async def _preview(ctx: Context, a: dict[str, Any]) -> Result:
    (session,) = await select(ctx, "preview", {"session": a["session"]}, urgent_default=True)
    _require_live(session)
    host = ctx.app.action_host(session)
    shown = await actions.preview(host, session.name, a["lines"] or 50, ctx.app.command_timeout)
    header = paint(f"── {one_line(session.ref)} ──", "2", ctx.color)
    warnings = [f"{one_line(session.ref)}: preview {shown.note}"] if shown.note else []
    return Result(f"{header}\n{pane_text(shown.text, keep_color=ctx.color)}", warnings)


async def _git(ctx: Context, a: dict[str, Any]) -> Result:
    session = await ctx.app.resolve(a["session"])
    info = await ctx.app.git_info(session)
    if a["json"]:
        return Result(to_json(git_json(session, info)))
    return Result(git_text(session, info, ctx.app.clock()))


async def _kill(ctx: Context, a: dict[str, Any]) -> Result:
    sessions = await select(ctx, "kill", a)

    async def kill(session: Session) -> str:
        done = await actions.kill(ctx.app.action_host(session), session.name, session.status_file, ctx.app.command_timeout)
        ref = one_line(session.ref)
        if done.tmux_session:
            return f"killed {ref}" + (" and removed its status file" if done.status_file else "")
        if done.status_file:
            return f"{ref} had no tmux session any more; removed its status file"
        raise ActionFailed(f"nothing killed: {ref} has no tmux session and no status file any more")

    (only,) = sessions if len(sessions) == 1 else (None,)
    question = None
    if only is not None:
        what = "its tmux session" if only.live else "nothing in tmux (already gone)"
        question = f"Kill {one_line(only.ref)} ({what}{' and its status file' if only.status_file else ''})?"
    else:
        question = "Kill {n} sessions ({refs}) and remove their status files?"
    result = await for_each(ctx, "kill", sessions, kill, question=question, yes=a["yes"])
    await ctx.app.refresh(sorted({s.host for s in sessions}))
    return result


async def _rename(ctx: Context, a: dict[str, Any]) -> Result:
    session = await ctx.app.resolve(a["session"])
    new = a["new"]
    host = ctx.app.action_host(session)
    if any(s.name == new for s in ctx.app.registry.host(session.host).sessions):
        raise ActionFailed(f"{session.host} already has a session named {one_line(new)!r}")
    await actions.rename(host, session.name, session.status_file, new, session.live, ctx.app.command_timeout)
    await ctx.app.refresh([session.host])
    return Result(f"renamed {one_line(session.ref)} to {one_line(session.host)}:{one_line(new)}")


async def _dismiss(ctx: Context, a: dict[str, Any]) -> Result:
    sessions = await select(ctx, "dismiss", a)
    result = await for_each(ctx, "dismiss", sessions, lambda s: _dismiss_one(ctx, s), yes=a["yes"])
    await ctx.app.refresh(sorted({s.host for s in sessions}))
    return result


async def _dismiss_one(ctx: Context, session: Session) -> str:
    ref = one_line(session.ref)
    if session.status_file is None:
        raise ActionFailed(f"{ref} has no status file to dismiss")
    if not session.live:
        raise ActionFailed(f"{ref} has no tmux session any more; remove its status file with prune")
    if not session.asks_for_user:
        return f"nothing to dismiss: {ref} is {one_line(session.display_status)}"
    host = ctx.app.action_host(session)
    await status_files.dismiss(host, session.status_file, ctx.app.clock(), ctx.app.command_timeout)
    await ctx.app.refresh([session.host])
    now = next((s for s in ctx.app.registry.host(session.host).sessions if s.name == session.name), None)
    if now is not None and now.asks_for_user:
        why = "Claude Code itself reports it; answer it" if now.claude_pid is not None else "a hook set it again"
        raise ActionFailed(f"dismissed {ref}, but it still needs you ({one_line(now.attention_reason)}): {why}")
    return f"dismissed {ref}: {one_line(session.attention_reason)} → {one_line(now.display_status) if now else 'gone'}"


async def _attach(ctx: Context, a: dict[str, Any]) -> Result:
    (session,) = await select(ctx, "attach", {"session": a["session"]}, urgent_default=True)
    _require_live(session)
    host = ctx.app.action_host(session)
    target = await actions.attach_target(host, session.name, ctx.app.command_timeout)
    ctx.say(f"attaching to {one_line(session.ref)}; detach with {one_line(target.prefix)} d to come back")
    code = await ctx.run_attached(replace(host.attach_command(target.session_id), session_ref=session.ref))
    if code != 0:
        raise ActionFailed(f"attach to {one_line(session.ref)} ended with exit status {code}")
    return Result()


def _require_live(session: Session) -> None:
    if not session.live:
        raise ActionFailed(f"{one_line(session.ref)} has no tmux session any more (status file left behind; see prune)")


async def _refresh(ctx: Context, a: dict[str, Any]) -> Result:
    cycles = []
    for _ in range(a["count"] or 1):
        elapsed, outcomes = await ctx.app.refresh()
        cycles.append((elapsed, outcomes))
    if a["json"]:
        return Result(
            to_json(
                {
                    "cycles": [
                        {
                            "ms": round(elapsed * 1000, 3),
                            "sessions": sum(o.sessions for o in outcomes),
                            "hosts": {o.host: {"ms": round(o.duration * 1000, 3), "ok": o.ok, "error": o.error} for o in outcomes},
                        }
                        for elapsed, outcomes in cycles
                    ]
                }
            )
        )
    elapsed, outcomes = cycles[-1]
    lines = [
        f"polled {len(outcomes)} host{'s' * (len(outcomes) != 1)} in {format_ms(elapsed)}: "
        f"{sum(o.sessions for o in outcomes)} sessions"
    ]
    for o in outcomes:
        state = f"{o.sessions} sessions" if o.ok else f"failed: {one_line(o.error or '')}"
        lines.append(f"  {one_line(o.host)}: {format_ms(o.duration)}, {state}")
    failed = [o for o in outcomes if not o.ok]
    return Result("\n".join(lines), exit_code=1 if failed and len(failed) == len(outcomes) else 0)


async def _prune(ctx: Context, a: dict[str, Any]) -> Result:
    app = ctx.app
    host = a["host"]
    if host is not None:
        app.registry.host(host)  # NotFound, listing the hosts
    await app.ensure_fresh([host] if host else None)
    gone = [
        s
        for s in app.registry.sessions()
        if not s.live and not s.offline and s.status_file and host in (None, s.host)
    ]
    if not gone:
        return Result("nothing to prune: every status file has a live tmux session")
    names = ", ".join(one_line(s.ref) for s in gone)
    if not await ctx.confirmed("prune", f"Remove the status files of {len(gone)} gone sessions ({names})?", a["yes"]):
        return Result("nothing pruned", exit_code=1)
    pruned: list[str] = []
    for host_name in sorted({s.host for s in gone}):
        batch = [(s.name, s.status_file) for s in gone if s.host == host_name and s.status_file]
        done = await actions.prune(app.host(host_name), batch, app.command_timeout)
        pruned.extend(f"{host_name}:{name}" for name in done)
    await app.refresh(sorted({s.host for s in gone}))
    return Result(f"pruned {len(pruned)}: {', '.join(one_line(p) for p in pruned)}" if pruned else "nothing pruned")


SESSION_COMMANDS: tuple[Command, ...] = (
    Command(
        "ls",
        "list sessions, most urgent first",
        _ls,
        (Pos("PATTERN", optional=True),),
        (
            STATUS,
            HOST,
            Opt(("--sort",), "KEY", Kind.CHOICE, SORT_KEYS, "attention (default), name, age, status or dir"),
            JSON,
            Opt(("--all", "-a"), help="also list tmux sessions without a status file"),
            Opt(("--tokens",), help="add each session's token usage, with totals per host"),
            Opt(("--wide", "-w"), help="show every column in full, however wide"),
        ),
        details="PATTERN matches the session name, cwd or message (case-insensitive; * ? [ ] globs), "
        "or, with a colon, HOST:SESSION ('dev:*', '*:spike-*').",
    ),
    Command("filter", "show all, local, remote or one host's sessions (no argument: cycle)", _filter, (Pos("MODE", Kind.FILTER, True),)),
    Command("pager", "page long output in the shell, or not (no argument: say which)", _pager, (Pos("MODE", Kind.CHOICE, True, ("on", "off")),)),
    Command(
        "preview",
        "show the last lines of a session's pane (no SESSION: the most urgent)",
        _preview,
        (URGENT,),
        (Opt(("-n", "--lines"), "LINES", Kind.INT, help="how many lines (default 50)"),),
    ),
    Command("git", "branch, changes, ahead/behind and last commit of a session's cwd", _git, (SESSION,), (JSON,)),
    Command(
        "kill",
        "kill sessions' tmux sessions and remove their status files",
        _kill,
        (TARGETS,),
        (HOST, STATUS, YES),
        details="SESSION may be a glob over HOST:SESSION ('lab:exp-*'); several sessions are listed and confirmed once.",
    ),
    Command("rename", "rename a session (tmux session and status file)", _rename, (SESSION, Pos("NEW"))),
    Command(
        "dismiss",
        "acknowledge notifications (status back to working)",
        _dismiss,
        (TARGETS,),
        (HOST, STATUS, YES),
        details="e.g. dismiss --status waiting; several sessions are listed and confirmed once.",
    ),
    Command("attach", "attach this terminal to a session (no SESSION: the most urgent); detach to come back", _attach, (URGENT,)),
    Command(
        "refresh",
        "poll every host now and report timings",
        _refresh,
        (),
        (Opt(("--count",), "N", Kind.INT, help="run N cycles back to back"), JSON),
    ),
    Command("prune", "remove status files whose tmux session is gone", _prune, (), (HOST, YES)),
)
