"""Rewriting status files on a host without losing what a hook writes at the same moment.

A rewrite reads the file, changes it in Python, and writes it back in a second run that holds the
hook's lock and first checks the file still holds what was read (else it is read again).
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any
from collections.abc import Callable

from .errors import ActionFailed
from .hosts.base import Host, sh_path
from .model import AGENT_NEEDS_ATTENTION
from .parsing import parse_status_object
from .sh import (
    EXIT_CHANGED,
    EXIT_NO_DIR,
    EXIT_NO_FILE,
    EXIT_WRITE_FAILED,
    LOCK_FN,
    LOCK_REASONS,
    check_result,
    q,
    session_dir,
)


async def read_status(host: Host, status_file: str, timeout: float) -> str:
    script = f'{session_dir(host)}\ncat -- "$d"/{q(status_file)} 2>/dev/null || exit {EXIT_NO_FILE}'
    result = check_result(await host.run(script, timeout=timeout), host, "read", {EXIT_NO_FILE: f"{status_file} is gone"})
    try:
        return result.stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise ActionFailed(f"{host.name}: {status_file} is not UTF-8 text") from None


def replace_file_script(
    directory: str, source: str, target: str, expected: str | None, before_write: str = "", *, locked: bool = False
) -> str:
    """Replace `target` in `directory` (an sh expression) with stdin, atomically, if `source`
    still holds `expected` (None: if `source` still does not exist).

    With `locked`, all of it runs under the hook's lock on `directory`. Runs `before_write` after
    the check; `source` is removed when it differs from `target`. The new file keeps the old one's
    mode (`cp -p`, then overwritten in place), made writable for its owner.
    """
    if expected is None:
        check = f"[ -e {q(source)} ] && exit {EXIT_CHANGED}"
        keep_mode = ""
    else:
        check = f"printf '%s' {q(expected)} | cmp -s - {q(source)} || exit {EXIT_CHANGED}"
        keep_mode = f'cp -p -- {q(source)} "$tmp" 2>/dev/null && chmod u+w "$tmp"'
    lock = f"{LOCK_FN}\nlock .\n" if locked else ""
    script = f"""cd {directory} || exit {EXIT_NO_DIR}
{lock}{check}
{before_write}
tmp=$(mktemp .navish.XXXXXX) || exit {EXIT_WRITE_FAILED}
{keep_mode}
cat > "$tmp" && mv -f -- "$tmp" {q(target)} || {{ rm -f -- "$tmp"; exit {EXIT_WRITE_FAILED}; }}
"""
    if source != target:
        script += f"rm -f -- {q(source)}\n"
    return script


async def rewrite_status(
    host: Host,
    status_file: str,
    change: Callable[[dict[str, Any]], dict[str, Any]],
    timeout: float,
    *,
    target: str | None = None,
    before_write: str = "",
    reasons: dict[int, str] | None = None,
    attempts: int = 10,
) -> dict[str, Any]:
    """Read-modify-write a status file under the hook's lock, reading again when a hook rewrote it
    between the read and the write. Every field `change` does not touch is kept as it was."""
    for _ in range(attempts):
        text = await read_status(host, status_file, timeout)
        try:
            obj = parse_status_object(text, status_file)
        except ValueError as exc:
            raise ActionFailed(f"{host.name}: cannot rewrite {status_file}: {exc}") from None
        new = change(dict(obj))
        script = replace_file_script(
            sh_path(host.session_dir), status_file, target or status_file, text, before_write, locked=True
        )
        result = await host.run(script, stdin=json.dumps(new, ensure_ascii=False, indent=2) + "\n", timeout=timeout)
        if result.returncode != EXIT_CHANGED:
            all_reasons = {EXIT_WRITE_FAILED: "could not write the file", **LOCK_REASONS, **(reasons or {})}
            check_result(result, host, f"rewrite of {status_file}", all_reasons)
            return new
        await asyncio.sleep(random.uniform(0, 0.02))  # out of step with a hook writing at a steady rate
    raise ActionFailed(f"{host.name}: {status_file} keeps changing; try again")


async def dismiss(host: Host, status_file: str, now: float, timeout: float) -> dict[str, Any]:
    """Acknowledge a notification as navi does: status working, message cleared, timestamp now;
    team agents that wait for the user are acknowledged too."""

    def change(obj: dict[str, Any]) -> dict[str, Any]:
        team = obj.get("team")
        if isinstance(team, dict) and isinstance(team.get("agents"), list):
            agents = [
                {**agent, "status": "working", "timestamp": int(now)}
                if isinstance(agent, dict) and agent.get("status") in AGENT_NEEDS_ATTENTION
                else agent
                for agent in team["agents"]
            ]
            obj = {**obj, "team": {**team, "agents": agents}}
        return {**obj, "status": "working", "message": "", "timestamp": int(now)}

    return await rewrite_status(host, status_file, change, timeout)
