"""`watch` (also `top`): the live view, full screen, until q or Esc."""

from __future__ import annotations

import sys
from typing import Any

from ..argspec import Kind, Opt, Pos
from ..errors import UsageError
from ..registry import FILTER_MODES, SORT_KEYS
from .base import Command, Context, Result


async def _watch(ctx: Context, a: dict[str, Any]) -> Result:
    from ..dashboard import Dashboard
    from ..dashboard_view import DashboardView

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("watch: needs a terminal (standard input and output must be a TTY); for scripts use ls --json or events --json")
    app = ctx.app
    if a["host"] is not None:
        if a["host"] not in FILTER_MODES:
            app.registry.host(a["host"])  # NotFound, listing the hosts
        app.set_filter(a["host"])  # as `filter` does: the toolbar and ls follow the view
    model = Dashboard(sort=a["sort"] or "attention", mode=app.filter_mode, text=a["pattern"] or "")
    app.start()  # the shell has; `navish -c watch` needs the watchers too
    if ctx.full_screen is None:  # `navish -c watch`: the terminal is this command's
        await DashboardView(app, ctx, model).run()
    else:
        async with ctx.full_screen() as focus:
            await DashboardView(app, ctx, model, focus=focus).run()
    return Result()


WATCH_COMMANDS: tuple[Command, ...] = (
    Command(
        "watch",
        "the live view: every session, updating in place; act on one with a key (q: back)",
        _watch,
        (Pos("PATTERN", optional=True),),
        (
            Opt(("--sort",), "KEY", Kind.CHOICE, SORT_KEYS, "attention (default), name, age, status or dir; s cycles"),
            Opt(("--host",), "H", Kind.FILTER, help="start with these hosts' sessions: all, local, remote or one host (f and h change it)"),
        ),
        aliases=("top",),
        details="Keys: ↑↓/jk move, Enter attach (detach to come back), p live preview, a approve, n deny, r reply, "
        "d dismiss, x kill, R rename, g git, / filter, f all/local/remote, h one host, s sort, Tab the next "
        "session that needs you, ? all keys, q or Esc back. PATTERN starts the text filter (as in ls).",
    ),
)
