"""What navish does to tmux sessions on a host: preview, kill, prune, rename, find a session's id.

Each action takes any `Host`, so a local and a remote session run exactly the same script. A name
read from a status file is never used as a tmux target: each script finds the live session with
exactly that name (`sid`) and acts on its id, in the same run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ActionFailed
from .hosts.base import MiB, Host, format_size
from .sanitize import one_line
from .sh import (
    EXIT_EXISTS,
    EXIT_NO_SESSION,
    EXIT_TMUX_FAILED,
    LOCK_FN,
    LOCK_REASONS,
    check_result,
    q,
    require_session_id,
    session_dir,
    session_id_fn,
    tmux_arg,
)
from .status_files import rewrite_status

PREVIEW_LIMIT = 4 * MiB


def _gone(session: str) -> dict[int, str]:
    return {EXIT_NO_SESSION: f"no live tmux session is named {one_line(session)!r} any more"}


@dataclass(frozen=True)
class AttachTarget:
    session_id: str
    """The tmux id (`$N`) of the session: ids are never reused while the server runs."""
    prefix: str
    """The tmux prefix key there (`C-b`), for the detach hint."""


async def attach_target(host: Host, session: str, timeout: float) -> AttachTarget:
    """The id of the live session named exactly `session`, and the host's tmux prefix key."""
    script = f"""{require_session_id(host, session)}
echo "$id"
{host.tmux} show-options -gv prefix 2>/dev/null || echo C-b"""
    result = check_result(await host.run(script, timeout=timeout), host, "attach", _gone(session))
    session_id, _, prefix = result.out.strip().partition("\n")
    return AttachTarget(session_id, prefix.strip() or "C-b")


@dataclass(frozen=True)
class Preview:
    text: str
    note: str = ""
    """Why the text is incomplete (`output cut at 4 MiB`), else empty."""


async def preview(host: Host, session: str, lines: int, timeout: float) -> Preview:
    """The last `lines` lines of the session's active pane, with SGR colour codes kept."""
    script = f"""{require_session_id(host, session)}
{host.tmux} capture-pane -p -e -J -t "$id:" -S {-int(lines)} | tail -c {PREVIEW_LIMIT + 1}"""
    result = await host.run(script, timeout=timeout, limit=PREVIEW_LIMIT + 1)
    check_result(result, host, f"preview of {one_line(session)!r}", _gone(session))
    out, note = result.stdout, ""
    if len(out) > PREVIEW_LIMIT:  # the latest lines are kept; the first, partial one is dropped
        out, note = out.partition(b"\n")[2], f"output cut at {format_size(PREVIEW_LIMIT)}"
    text = out.decode("utf-8", "replace").rstrip("\n ")
    return Preview("\n".join(text.split("\n")[-lines:]) if text else "", note)


@dataclass(frozen=True)
class Killed:
    tmux_session: bool
    """Whether a live tmux session was killed."""
    status_file: bool
    """Whether a status file was removed."""


async def kill(host: Host, session: str, status_file: str | None, timeout: float) -> Killed:
    """Kill the live tmux session named `session` (if any) and remove its status file (if any)."""
    script = f"""{session_dir(host)}
{session_id_fn(host)}
id=$(sid {q(session)})
if [ -n "$id" ]; then
  {host.tmux} kill-session -t "$id" || exit {EXIT_TMUX_FAILED}
  echo K
fi
"""
    if status_file:
        script += f"""if [ -e "$d"/{q(status_file)} ]; then
  {LOCK_FN}
  lock "$d"
  rm -f -- "$d"/{q(status_file)} && echo R
fi
"""
    result = check_result(
        await host.run(script, timeout=timeout), host, f"kill {one_line(session)!r}", {EXIT_TMUX_FAILED: "tmux refused", **LOCK_REASONS}
    )
    done = result.out.split()
    return Killed("K" in done, "R" in done)


async def prune(host: Host, gone: list[tuple[str, str]], timeout: float) -> list[str]:
    """Remove the status files of sessions (name, file) whose tmux session is still gone.

    Returns the names pruned; a session that came back meanwhile is left alone.
    """
    lines = [session_dir(host), session_id_fn(host), LOCK_FN, 'lock "$d"']
    for name, status_file in gone:
        lines.append(f'[ -n "$(sid {q(name)})" ] || {{ rm -f -- "$d"/{q(status_file)} && printf "P %s\\n" {q(name)}; }}')
    result = check_result(await host.run("\n".join(lines), timeout=timeout), host, "prune", LOCK_REASONS)
    return [line[2:] for line in result.out.splitlines() if line.startswith("P ")]


_BAD_NAME_CHARS = re.compile(r"[\x00-\x1f\x7f:.#$/\\;]")


def check_new_name(name: str) -> None:
    """Refuse a name tmux would alter (`:` `.` `#` `$` ...) or that cannot name `NAME.json`."""
    if not name.strip():
        raise ActionFailed("the new name is empty")
    bad = _BAD_NAME_CHARS.search(name)
    if bad:
        raise ActionFailed(f"the new name cannot contain {one_line(bad.group())!r}")
    if len(name.encode()) > 200:
        raise ActionFailed("the new name is longer than 200 bytes")


async def rename(host: Host, session: str, status_file: str | None, new: str, live: bool, timeout: float) -> None:
    """Rename the tmux session and move its status file to `NEW.json`, rewriting `tmux_session`."""
    check_new_name(new)
    new_file = f"{new}.json"
    guard = f"""{session_id_fn(host)}
[ -n "$(sid {q(new)})" ] && exit {EXIT_EXISTS}
[ -e {q(new_file)} ] && exit {EXIT_EXISTS}"""
    if live:
        guard += f"""
id=$(sid {q(session)})
[ -n "$id" ] || exit {EXIT_NO_SESSION}
{host.tmux} rename-session -t "$id" -- {tmux_arg(new)} || exit {EXIT_TMUX_FAILED}"""
    reasons = {
        EXIT_EXISTS: f"a session named {one_line(new)!r} already exists",
        EXIT_TMUX_FAILED: "tmux refused the rename",
        **_gone(session),
    }
    if status_file is None:
        script = f'{session_dir(host)}\ncd "$d" 2>/dev/null || cd /\n{guard}'
        check_result(await host.run(script, timeout=timeout), host, f"rename of {one_line(session)!r}", reasons)
        return
    await rewrite_status(
        host,
        status_file,
        lambda obj: {**obj, "tmux_session": new},
        timeout,
        target=new_file,
        before_write=guard,
        reasons=reasons,
    )
