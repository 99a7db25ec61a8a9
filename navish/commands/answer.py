"""Unblocking sessions without attaching: approve, deny, reply, keys, and next (the most urgent)."""

from __future__ import annotations

import asyncio
from typing import Any

from ..answer import SETTLE, Screen, read_screen, send_answer
from ..argspec import Kind, Opt, Pos
from ..errors import ActionFailed, UsageError
from ..model import Session
from ..output import format_age
from ..sanitize import one_line
from .base import YES, Command, Context, Result
from .selection import HOST, STATUS, TARGETS, URGENT, for_each, select


async def _approve(ctx: Context, a: dict[str, Any]) -> Result:
    sessions = await select(ctx, "approve", a, urgent_default=True)
    wanted = "always" if a["always"] else "yes"
    return await for_each(ctx, "approve", sessions, lambda s: _permission(ctx, s, wanted, "approved", None), yes=a["yes"])


async def _deny(ctx: Context, a: dict[str, Any]) -> Result:
    message = a["message"]
    if message is not None:
        _check_text(message)
    (session,) = await select(ctx, "deny", {"session": a["session"]}, urgent_default=True)
    return Result(await _permission(ctx, session, "no", "denied", message))


async def _permission(ctx: Context, session: Session, wanted: str, verb: str, message: str | None) -> str:
    host = ctx.app.action_host(session)
    screen = await read_screen(host, session, ctx.app.command_timeout)
    ref = one_line(session.ref)
    if screen.kind != "permission" or (screen.state and screen.waiting_for != "permission prompt"):
        raise ActionFailed(f"{ref} shows no permission prompt ({one_line(screen.seen())}); nothing sent")
    option = screen.option(wanted=wanted)
    if option is None:
        raise ActionFailed(f"{ref}: the prompt offers no \"Yes, and don't ask again\" option ({one_line(screen.seen())}); nothing sent")
    await asyncio.sleep(SETTLE)  # the dialog was on screen when read: now it takes keys
    await send_answer(host, session, screen, [str(option[0])], then_type=message, timeout=ctx.app.command_timeout)
    return f"{verb} {ref} ({one_line(screen.context, 80)}) → {await _status_now(ctx, session)}"


async def _reply(ctx: Context, a: dict[str, Any]) -> Result:
    text = a["text"]
    _check_text(text)
    (session,) = await select(ctx, "reply", {"session": a["session"]}, urgent_default=True)
    host = ctx.app.action_host(session)
    screen = await read_screen(host, session, ctx.app.command_timeout)
    ref = one_line(session.ref)
    if screen.kind == "question":
        answer = screen.option(wanted=text)
        keys, then_type = ([str(answer[0])], None) if answer else ([str(screen.option(wanted="type")[0])], text)  # type: ignore[index]
    elif screen.kind == "prompt":
        keys, then_type = [], text
    else:
        raise ActionFailed(f"{ref} is not waiting for a reply ({one_line(screen.seen())}); nothing sent")
    await asyncio.sleep(SETTLE)
    await send_answer(host, session, screen, keys, then_type=then_type, timeout=ctx.app.command_timeout)
    asked = f" ({one_line(screen.context, 80)})" if screen.context else ""
    return Result(f"replied to {ref}{asked} → {await _status_now(ctx, session)}")


async def _keys(ctx: Context, a: dict[str, Any]) -> Result:
    session = await ctx.app.resolve(a["session"])
    host = ctx.app.action_host(session)
    screen = await read_screen(host, session, ctx.app.command_timeout)
    keys = a["key"].split(" ")
    await send_answer(host, session, Screen(screen.pane, "", "", (), ""), keys, then_type=None, timeout=ctx.app.command_timeout)
    return Result(f"sent {len(keys)} key{'s' * (len(keys) != 1)} to {one_line(session.ref)} → {await _status_now(ctx, session)}")


async def _next(ctx: Context, a: dict[str, Any]) -> Result:
    (session,) = await select(ctx, "next", {}, urgent_default=True)
    ref = one_line(session.ref)
    lines = [f"{ref}  {one_line(session.attention_reason)}  {format_age(ctx.app.clock() - session.recency())}"]
    if session.message:
        lines.append(f"  {one_line(session.message, 120)}")
    screen = await read_screen(ctx.app.action_host(session), session, ctx.app.command_timeout)
    if screen.context and screen.context not in session.message:
        lines.append(f"  {one_line(screen.context, 120)}")
    lines += [f"    {n}. {one_line(t, 100)}" for n, t in screen.options]
    quoted = ref if ref.isprintable() and " " not in ref else repr(ref)
    if screen.kind == "permission":
        lines.append(f"  approve {quoted} · deny {quoted} [MESSAGE] · attach {quoted}")
    elif screen.kind in ("question", "prompt"):
        lines.append(f"  reply {quoted} TEXT · attach {quoted}")
    else:
        lines.append(f"  attach {quoted} · preview {quoted} · dismiss {quoted}")
    return Result("\n".join(lines))


async def _status_now(ctx: Context, session: Session) -> str:
    await ctx.app.refresh([session.host])
    now = next((s for s in ctx.app.registry.host(session.host).sessions if s.name == session.name), None)
    return one_line(now.display_status) if now else "gone"


def _check_text(text: str) -> None:
    if not text.strip() or any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in text):
        raise UsageError("the text must be one line of printable characters")


ANSWER_COMMANDS: tuple[Command, ...] = (
    Command(
        "approve",
        "answer a permission prompt with Yes (no SESSION: the most urgent)",
        _approve,
        (TARGETS,),
        (Opt(("--always",), help="pick \"Yes, and don't ask again\" when the prompt offers it"), HOST, STATUS, YES),
        details="Sends the key only if the pane still shows that prompt and Claude Code still waits for it.",
    ),
    Command(
        "deny",
        "answer a permission prompt with No, optionally telling Claude what to do instead",
        _deny,
        (URGENT, Pos("MESSAGE", optional=True, greedy=True)),
    ),
    Command(
        "reply",
        "answer a question or type a message into a waiting session",
        _reply,
        (Pos("SESSION", Kind.SESSION), Pos("TEXT", greedy=True)),
        details="TEXT picks a question's answer by its label, else is typed into its text field or the prompt.",
    ),
    Command(
        "keys",
        "send tmux keys (Enter, Escape, C-c, text) to a session's Claude Code pane",
        _keys,
        (Pos("SESSION", Kind.SESSION), Pos("KEY", greedy=True)),
    ),
    Command("next", "show the session that needs you most, what it asks and what you can do", _next),
)
