"""Pure renderers: sessions, hosts and git info as text or JSON. Every untrusted string passes
through `sanitize` before it reaches the result."""

from __future__ import annotations

import json
import math
import os
from typing import Any

from tabulate import tabulate

from .git_action import GitInfo
from .model import Session
from .sanitize import one_line
from .table import Column, Shrink, fit

_STATUS_COLOURS = {
    "permission": "1;31",
    "error": "31",
    "waiting": "33",
    "working": "32",
    "idle": "36",
    "done": "34",
    "gone": "2",
    "offline": "2",
    "untracked": "2",
}
DIM = "2"


def paint(text: str, sgr: str | None, color: bool) -> str:
    return f"\x1b[{sgr}m{text}\x1b[0m" if color and sgr else text


def format_age(seconds: float | None) -> str:
    """A short human age: 42s, 5m, 3h, 2d."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    seconds = max(int(seconds), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def format_ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


def short_path(path: str, home: str | None, limit: int) -> str:
    if home and (path == home or path.startswith(home.rstrip("/") + "/")):
        path = "~" + path[len(home.rstrip("/")) :]
    path = one_line(path)
    return path if len(path) <= limit else "…" + path[-(limit - 1) :]


TOKEN_KINDS = ("input", "output", "cache_read", "cache_creation")


def token_counts(session: Session) -> dict[str, int] | None:
    """The token usage navish's hook summed from the session's transcript, if any."""
    metrics = session.fields.get("metrics")
    tokens = metrics.get("tokens") if isinstance(metrics, dict) else None
    if not isinstance(tokens, dict):
        return None
    return {k: v for k in TOKEN_KINDS if isinstance(v := tokens.get(k), int) and not isinstance(v, bool) and v >= 0}


def format_count(n: int) -> str:
    """12, 3.4k, 12k, 1.2M."""
    for unit, size in (("M", 1_000_000), ("k", 1_000)):
        if n >= size:
            value = n / size
            return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"
    return str(n)


def _tokens_cell(counts: dict[str, int] | None) -> str:
    if not counts:
        return "-"
    return f"{format_count(counts.get('input', 0) + counts.get('cache_read', 0) + counts.get('cache_creation', 0))} in {format_count(counts.get('output', 0))} out"


def token_totals(sessions: list[Session]) -> str:
    """`tokens: local 12k in 1.2k out · dev … · total …` over the sessions that report them."""
    per_host: dict[str, dict[str, int]] = {}
    for session in sessions:
        counts = token_counts(session)
        if counts:
            host = per_host.setdefault(session.host, dict.fromkeys(TOKEN_KINDS, 0))
            for kind, n in counts.items():
                host[kind] += n
    if not per_host:
        return "tokens: none reported (navish's hook counts them: install-hooks)"
    total = {k: sum(h[k] for h in per_host.values()) for k in TOKEN_KINDS}
    parts = [f"{one_line(host, 16)} {_tokens_cell(counts)}" for host, counts in sorted(per_host.items())]
    return "tokens: " + " · ".join([*parts, f"total {_tokens_cell(total)}"])


_SESSION_COLUMNS = (Column("HOST"), Column("SESSION"), Column("STATUS"), Column("AGE"), Column("CWD", cut_from_left=True))
_MESSAGE, _TOKENS = Column("MESSAGE"), Column("TOKENS")


def sessions_table(
    sessions: list[Session], now: float, *, width: int | None = 100, color: bool = False, tokens: bool = False
) -> str:
    """The `ls` table: host, session, status, age, cwd, (tokens,) message; offline rows greyed.

    It fits in `width` cells: the message gives way first, then the cwd, the session name, the
    host, the tokens column; `width=None` (`--wide`) shows everything.
    """
    if not sessions:
        return "no sessions"
    home = os.path.expanduser("~")
    columns = [*_SESSION_COLUMNS, *([_TOKENS] if tokens else []), _MESSAGE]
    rows = []
    for s in sessions:
        status = one_line(s.display_status, 20) + ("*" if s.rank < s.own_rank else "") + (" (offline)" if s.offline else "")
        rows.append(
            [
                one_line(s.host),
                one_line(s.name),
                status,
                format_age(now - s.recency()) if s.recency() else "-",
                short_path(s.cwd, home if s.host == "local" else None, 10_000),
                *([_tokens_cell(token_counts(s))] if tokens else []),
                one_line(s.message),
            ]
        )
    message, host, name, cwd = len(columns) - 1, 0, 1, 4
    shrink = [
        Shrink(message, 24), Shrink(cwd, 16), Shrink(name, 16), Shrink(host, 8), Shrink(message, 12),
        *([Shrink(5, 0)] if tokens else []), Shrink(cwd, 0), Shrink(message, 0), Shrink(name, 8),
    ]

    def style(row: int, column: int, text: str) -> str:
        session = sessions[row]
        if session.offline:
            return paint(text, DIM, color)
        return paint(text, _STATUS_COLOURS.get(session.display_status), color) if column == 2 else text

    table = fit(columns, rows, width, shrink, style)
    if any(s.rank < s.own_rank for s in sessions):
        table += "\n* a team agent is waiting for you"
    if tokens:
        table += "\n" + token_totals(sessions)
    return table


def session_json(session: Session) -> dict[str, Any]:
    """A session for `ls --json`: the fixed keys first, then every other status-file field.

    `source` says where the status comes from (`registry`: Claude Code's own, `hook`, `both`);
    `status_since` is when it last changed (epoch seconds)."""
    fixed = {
        "host": session.host,
        "name": session.name,
        "status": session.display_status,
        "message": session.message,
        "cwd": session.cwd,
        "timestamp": session.timestamp,
        "offline": session.offline,
        "live": session.live,
        "needs_attention": session.needs_attention,
        "status_file": session.status_file,
        "source": session.source or None,
        "status_since": session.status_since if session.status_since is not None else session.timestamp,
        "tmux_pane": session.tmux_pane or None,
        "claude_pid": session.claude_pid,
    }
    return {**fixed, **{k: v for k, v in session.fields.items() if k not in fixed}}


def to_json(value: Any) -> str:
    """JSON with every non-ASCII and control character escaped, so it is terminal-safe too.

    `ensure_ascii` escapes C0, C1, bidi controls and lone surrogates, but not DEL: that is done here.
    """
    return json.dumps(value, indent=2, ensure_ascii=True).replace("\x7f", "\\u007f")


def git_json(session: Session, info: GitInfo | str) -> dict[str, Any]:
    base: dict[str, Any] = {"host": session.host, "session": session.name, "cwd": session.cwd}
    if isinstance(info, str):
        keys = ("branch", "dirty", "ahead", "behind", "last_commit", "remote")
        return {**base, "repo": False, "reason": info, **dict.fromkeys(keys)}
    return {
        **base,
        "repo": True,
        "branch": info.branch,
        "dirty": info.dirty,
        "changes": info.changes,
        "ahead": info.ahead,
        "behind": info.behind,
        "upstream": info.upstream,
        "last_commit": info.last_commit,
        "remote": info.remote,
    }


def git_text(session: Session, info: GitInfo | str, now: float) -> str:
    head = f"{one_line(session.ref)}  {one_line(session.cwd)}"
    if isinstance(info, str):
        return f"{head}\n{one_line(info)}"
    branch = one_line(info.branch or "?")
    if info.upstream:
        branch += f" → {one_line(info.upstream)} (ahead {info.ahead}, behind {info.behind})"
    else:
        branch += " (no upstream)"
    rows = [
        ("branch", branch),
        ("state", f"dirty ({info.changes} changed file{'s' * (info.changes != 1)})" if info.dirty else "clean"),
    ]
    if info.last_commit:
        c = info.last_commit
        when = format_age(now - c["time"])
        rows.append(("last", f"{one_line(c['hash'])} {when} ago  {one_line(c['author'])}: {one_line(c['subject'], 80)}"))
    else:
        rows.append(("last", "no commits yet"))
    rows.append(("origin", one_line(info.remote) if info.remote else "none"))
    return head + "\n" + tabulate(rows, tablefmt="plain", disable_numparse=True)
