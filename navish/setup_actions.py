"""Setting hosts up: install navish's Claude Code hook, take it out again, start new sessions.

Like `actions`, each is a script builder plus a parser, run on any `Host`, so installing on this
machine and on a remote over SSH is the same code. The settings file is changed with a
compare-and-swap: if Claude Code rewrote it between our read and our write, nothing is written.
"""

from __future__ import annotations

import json
import posixpath
import shlex
from dataclasses import dataclass
from collections.abc import Callable

from . import hook_install
from .actions import check_new_name
from .sh import EXIT_NO_COMMAND, EXIT_CHANGED, EXIT_EXISTS, EXIT_NO_DIR, EXIT_TMUX_FAILED, EXIT_WRITE_FAILED, LOCK_REASONS, session_id_fn, tmux_arg
from .status_files import replace_file_script
from .errors import ActionFailed
from .hosts.base import Host, sh_path
from .sanitize import one_line

q = shlex.quote
DEFAULT_SETTINGS = "~/.claude/settings.json"
_MISSING = 20


@dataclass(frozen=True)
class HostFacts:
    """What installing needs to know about a host, read in one script run."""

    home: str
    python: str | None
    """The absolute path of python3 there (a pyenv shim costs ~75 ms per hook call), if any."""
    settings_path: str
    """The settings file with symlinks resolved, so a write replaces the target, not the link."""
    settings_text: str | None
    """None when the settings file does not exist."""


def _absolute(path: str, home: str) -> str:
    return home + path[1:] if path == "~" or path.startswith("~/") else path


async def read_facts(host: Host, settings_path: str, timeout: float) -> HostFacts:
    script = f"""printf 'H %s\\n' "$HOME"
printf 'P %s\\n' "$(python3 -I -S -c 'import sys; print(sys.executable)' 2>/dev/null)"
p={sh_path(settings_path)}
printf 'R %s\\n' "$(readlink -f -- "$p" 2>/dev/null || echo "$p")"
[ -e "$p" ] || exit {_MISSING}
echo '@settings'
cat -- "$p" || exit 1
"""
    result = await host.run(script, timeout=timeout)
    if result.returncode not in (0, _MISSING):
        raise ActionFailed(f"{host.name}: cannot read {settings_path}: {one_line(result.err, 200)}")
    head, _, body = result.stdout.partition(b"\n@settings\n")
    values = dict(line.split(" ", 1) for line in head.decode("utf-8", "replace").splitlines() if " " in line)
    try:
        text = body.decode("utf-8") if result.returncode == 0 else None
    except UnicodeDecodeError:
        raise ActionFailed(f"{host.name}: {settings_path} is not UTF-8 text; left unchanged") from None
    home = values.get("H", "").strip() or "~"
    resolved = values.get("R", "").strip() or _absolute(settings_path, home)
    return HostFacts(home, values.get("P", "").strip() or None, resolved, text)


async def _update_settings(
    host: Host,
    settings_path: str,
    plan: Callable[[HostFacts, str], tuple[str, str]],
    *,
    dry_run: bool,
    timeout: float,
    before_write: Callable[[HostFacts], str],
    nothing_to_merge: str,
) -> str:
    """Read, plan, and (unless dry run) run `before_write`'s script, back up and replace the
    settings file; returns a report."""
    facts = await read_facts(host, settings_path, timeout)
    label = f"{host.name}:{settings_path}"
    new_text, diff = plan(facts, label)
    if dry_run:
        return diff or f"{label}: no change"
    extra = before_write(facts)
    directory, name = posixpath.split(facts.settings_path)
    backup = ""
    if facts.settings_text is not None and diff:
        backup = f"cp -p -- {q(name)} {q(name + '.bak')} || exit {EXIT_WRITE_FAILED}"
    prepare = f"mkdir -p -- {q(directory)} || exit {EXIT_NO_DIR}\n"
    script = prepare + (
        replace_file_script(q(directory), name, name, facts.settings_text, f"{extra}\n{backup}")
        if diff
        else extra
    )
    result = await host.run(script, stdin=new_text if diff else None, timeout=timeout)
    if result.returncode == EXIT_CHANGED:
        raise ActionFailed(f"{label} changed while navish was editing it; nothing was written, try again")
    if result.returncode != 0:
        raise ActionFailed(f"{label}: could not write: {one_line(result.err, 200) or result.returncode}")
    if not diff:
        return f"{label}: {nothing_to_merge}"
    saved = f" (previous version in {settings_path}.bak)" if backup else ""
    return f"{label}: updated{saved}"


def _hook_path(session_dir: str, home: str) -> str:
    return posixpath.join(_absolute(session_dir, home), "hooks", "hook.py")


async def install_hooks(host: Host, *, settings_path: str = DEFAULT_SETTINGS, dry_run: bool, timeout: float) -> str:
    """Copy the hook to `<session_dir>/hooks/hook.py` on `host` and merge its entries into settings."""
    source = hook_install.HOOK_SOURCE.read_text(encoding="utf-8")

    def plan(facts: HostFacts, label: str) -> tuple[str, str]:
        if facts.python is None:
            raise ActionFailed(f"{host.name}: python3 is not installed there; the hook needs it")
        hook = _hook_path(host.session_dir, facts.home)
        session_dir = _absolute(host.session_dir, facts.home)

        def command_for(status: str) -> str:
            return hook_install.hook_command(hook, status, python=facts.python or "python3", session_dir=session_dir)

        return hook_install.plan_install(facts.settings_text or "", command_for, label=label)

    def copy_hook(facts: HostFacts) -> str:
        hook = _hook_path(host.session_dir, facts.home)
        return (
            f"mkdir -p -- {q(posixpath.dirname(hook))} || exit {EXIT_WRITE_FAILED}\n"
            f"printf '%s' {q(source)} > {q(hook + '.tmp')} && mv -f -- {q(hook + '.tmp')} {q(hook)} || exit {EXIT_WRITE_FAILED}"
        )

    return await _update_settings(
        host, settings_path, plan, dry_run=dry_run, timeout=timeout, before_write=copy_hook,
        nothing_to_merge="hooks already installed; hook script refreshed",
    )


async def uninstall_hooks(host: Host, *, settings_path: str = DEFAULT_SETTINGS, dry_run: bool, timeout: float) -> str:
    """Remove exactly navish's entries from the settings file (the copied hook file is removed too)."""

    def plan(facts: HostFacts, label: str) -> tuple[str, str]:
        return hook_install.plan_uninstall(facts.settings_text or "", label=label)

    def remove_hook(facts: HostFacts) -> str:
        return f"rm -f -- {q(_hook_path(host.session_dir, facts.home))}"

    return await _update_settings(
        host, settings_path, plan, dry_run=dry_run, timeout=timeout, before_write=remove_hook,
        nothing_to_merge="no navish hooks were installed",
    )


@dataclass(frozen=True)
class NewSession:
    cwd: str
    """The session's working directory as the host resolved it."""
    session_id: str
    """Its tmux id (`$N`), to attach to."""


async def new_session(host: Host, name: str, directory: str, command: str, now: float, timeout: float) -> NewSession:
    """Start a detached tmux session running `command` in `directory`; write its first status file."""
    check_new_name(name)
    status_file = f"{name}.json"
    program = (shlex.split(command) or [""])[0]
    script = f"""{session_id_fn(host)}
[ -n "$(sid {q(name)})" ] && exit {EXIT_EXISTS}
[ -e {sh_path(host.session_dir)}/{q(status_file)} ] && exit {EXIT_EXISTS}
cd {sh_path(directory)} 2>/dev/null || exit {EXIT_NO_DIR}
command -v {q(program)} >/dev/null 2>&1 || exit {EXIT_NO_COMMAND}
{host.tmux} new-session -d -P -F {q('#{session_id}')} -s {tmux_arg(name)} -c "$PWD" {tmux_arg(command)} || exit {EXIT_TMUX_FAILED}
pwd
"""
    result = await host.run(script, timeout=timeout)
    reasons = {
        EXIT_EXISTS: f"a session or status file named {name!r} exists already on {host.name}",
        EXIT_NO_DIR: f"no directory {directory!r} on {host.name}",
        EXIT_NO_COMMAND: f"{program!r} is not installed on {host.name} (not found on its PATH); nothing was started",
        EXIT_TMUX_FAILED: f"tmux could not start the session: {one_line(result.err, 200)}",
    }
    if result.returncode != 0:
        raise ActionFailed(reasons.get(result.returncode) or f"new failed on {host.name}: {one_line(result.err, 200)}")
    session_id, _, cwd = result.out.strip().partition("\n")
    status = {"tmux_session": name, "status": "idle", "message": "started by navish", "cwd": cwd, "timestamp": int(now)}
    write = f"mkdir -p -- {sh_path(host.session_dir)} || exit {EXIT_NO_DIR}\n" + replace_file_script(
        sh_path(host.session_dir), status_file, status_file, None, locked=True
    )
    written = await host.run(write, stdin=json.dumps(status) + "\n", timeout=timeout)
    if written.returncode not in (0, EXIT_CHANGED):  # EXIT_CHANGED: the hook wrote it first, which is fine
        why = LOCK_REASONS.get(written.returncode) or one_line(written.err, 200)
        raise ActionFailed(f"started {name} on {host.name}, but could not write its status file: {why}")
    return NewSession(cwd, session_id)
