"""Add navish's hook to a Claude Code settings.json, and take it out again.

The core is text in, text out (`plan_install`, `plan_uninstall`); `setup_actions` reads and writes
the file on any host (this machine or a remote over SSH) with the same scripts.
navish's entries are recognised by `MARKER`, a shell comment ending their command: uninstall removes
exactly them, and every other setting and hook is kept.
"""

from __future__ import annotations

import copy
import difflib
import json
import shlex
from pathlib import Path
from typing import Any
from collections.abc import Callable

from .errors import NavishError

HOOK_SOURCE = Path(__file__).with_name("hook.py")
"""The self-contained hook script, to run in place or copy to a host."""

MARKER = "# navish-hook"

HOOK_EVENTS: tuple[tuple[str, str], ...] = (
    ("SessionStart", "idle"),  # the file exists from the start; a compaction keeps the status
    ("UserPromptSubmit", "working"),
    ("PreToolUse", "working"),  # clears a `permission` left by an approved prompt
    ("PermissionRequest", "permission"),  # `waiting` with the question for AskUserQuestion
    ("Notification", "waiting"),  # `permission` for permission_prompt; idle_prompt leaves a finished turn alone
    ("PostToolUse", "working"),  # the hook also counts the tool
    ("PostToolUseFailure", "working"),  # message: the tool and its error's first line
    ("Stop", "done"),  # message: the last line of Claude's answer; counts the transcript's tokens
    ("StopFailure", "error"),  # message: the API error's first line; counts tokens
    ("SessionEnd", "offline"),  # finds the session's file even when its pane is gone; counts tokens
    ("SubagentStart", "working"),
    ("SubagentStop", "stopped"),
    ("TeammateIdle", "idle"),
    ("TaskCompleted", "done"),
)
"""Claude Code hook event → the STATUS argument given to the hook (navi's map, plus the events
Claude Code 2.1 added); the hook refines the status from the payload (see navish/hook.py)."""

HOOK_TIMEOUT = 10
"""Seconds Claude Code waits for one hook call (its default is 60)."""

class SettingsError(NavishError, ValueError):
    """The settings file cannot be changed safely (invalid JSON, unexpected shape); it is left untouched."""


def hook_command(hook_path: str, status: str, *, python: str = "python3", session_dir: str | None = None) -> str:
    """The shell command Claude Code runs for `status`; a leading `~/` in paths is left to the shell.

    `-I -S` keeps the interpreter from reading site-packages or PYTHON* variables: faster, and
    immune to the user's Python environment (the hook needs only the standard library).
    """
    words = [_shell_path(python), "-I", "-S", _shell_path(hook_path), shlex.quote(status)]
    if session_dir:
        words += ["--session-dir", _shell_path(session_dir)]
    return " ".join(words) + "  " + MARKER


def is_navish_hook(hook: Any) -> bool:
    """Whether one `{"type": "command", "command": ...}` entry is navish's."""
    return isinstance(hook, dict) and isinstance(hook.get("command"), str) and MARKER in hook["command"]


def merge_hooks(settings: dict, command_for: Callable[[str], str]) -> dict:
    """Return `settings` with navish's hook on every event of HOOK_EVENTS (a copy; idempotent).

    An event whose navish entry is already the wanted one is left alone; otherwise its navish
    entries are replaced by one new group appended after the user's own.
    """
    wanted = {
        event: {"type": "command", "command": command_for(status), "timeout": HOOK_TIMEOUT}
        for event, status in HOOK_EVENTS
    }
    return _set_navish_hooks(settings, wanted)


def remove_hooks(settings: dict) -> dict:
    """Return `settings` without any navish entry (a copy); emptied groups, events and `hooks` go too."""
    return _set_navish_hooks(settings, {})


def _set_navish_hooks(settings: dict, wanted: dict[str, dict]) -> dict:
    new = copy.deepcopy(settings)
    hooks = new.get("hooks")
    if hooks is None:
        if not wanted:
            return new
        hooks = new["hooks"] = {}
    if not isinstance(hooks, dict):
        raise SettingsError('"hooks" is not an object')
    changed = False
    for event in [*hooks, *(e for e in wanted if e not in hooks)]:
        groups = hooks.get(event, [])
        if not isinstance(groups, list):
            raise SettingsError(f'"hooks.{event}" is not a list')
        want = [wanted[event]] if event in wanted else []
        if _navish_entries(groups) == want:
            continue
        changed = True
        groups = _without_navish(groups)
        if want:
            groups.append({"hooks": want})
        if groups:
            hooks[event] = groups
        else:
            del hooks[event]
    if changed and not hooks:
        del new["hooks"]
    return new


def _navish_entries(groups: list) -> list:
    entries = [h for g in groups if isinstance(g, dict) and isinstance(g.get("hooks"), list) for h in g["hooks"]]
    return [h for h in entries if is_navish_hook(h)]


def _without_navish(groups: list) -> list:
    """`groups` minus navish's entries; a group left with no entry is dropped."""
    kept = []
    for group in groups:
        if isinstance(group, dict) and isinstance(group.get("hooks"), list):
            entries = [h for h in group["hooks"] if not is_navish_hook(h)]
            if not entries and group["hooks"]:
                continue
            group = {**group, "hooks": entries}
        kept.append(group)
    return kept


# -- text in, text out ---------------------------------------------------------------------


def parse_settings(text: str, label: str = "settings.json") -> dict:
    """Decode a settings file; empty text is `{}`. Raises SettingsError naming `label`."""
    if not text.strip():
        return {}
    try:
        settings = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SettingsError(
            f"{label}: invalid JSON at line {exc.lineno} column {exc.colno} ({exc.msg}); left unchanged"
        ) from None
    if not isinstance(settings, dict):
        raise SettingsError(f"{label}: expected a JSON object, got {type(settings).__name__}; left unchanged")
    return settings


def plan_install(old_text: str, command_for: Callable[[str], str], *, label: str = "settings.json") -> tuple[str, str]:
    """Return `(new_text, diff)` adding navish's hooks; `diff` is "" (and the text unchanged) if already there."""
    return _plan(old_text, lambda settings: merge_hooks(settings, command_for), label)


def plan_uninstall(old_text: str, *, label: str = "settings.json") -> tuple[str, str]:
    """Return `(new_text, diff)` removing navish's hooks; `diff` is "" if there were none."""
    return _plan(old_text, remove_hooks, label)


def _plan(old_text: str, transform: Callable[[dict], dict], label: str) -> tuple[str, str]:
    settings = parse_settings(old_text, label)
    try:
        new = transform(settings)
    except SettingsError as exc:
        raise SettingsError(f"{label}: {exc}; left unchanged") from None
    if new == settings:
        return old_text, ""
    new_text = json.dumps(new, indent=2, ensure_ascii=False) + "\n"
    diff = difflib.unified_diff(
        old_text.splitlines(keepends=True), new_text.splitlines(keepends=True), label, label
    )
    return new_text, "".join(line if line.endswith("\n") else line + "\n" for line in diff)


def _shell_path(path: str) -> str:
    if path.startswith("~/"):
        return "~/" + shlex.quote(path[2:])
    return shlex.quote(path)
