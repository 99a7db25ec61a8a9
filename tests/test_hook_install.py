"""install-hooks / uninstall-hooks: the pure settings.json transform (the host side is in test_install_hooks)."""

from __future__ import annotations

import json

import pytest

from navish.errors import NavishError
from navish.hook_install import (
    HOOK_EVENTS,
    MARKER,
    SettingsError,
    hook_command,
    is_navish_hook,
    merge_hooks,
    plan_install,
    plan_uninstall,
    remove_hooks,
)

HOOK = "/opt/hooks/hook.py"


def command_for(status: str) -> str:
    return hook_command(HOOK, status)


USER_STOP = {"hooks": [{"type": "command", "command": "notify-send done"}]}
USER_PRE = {"matcher": "Bash", "hooks": [{"type": "command", "command": "guard.sh", "timeout": 5}]}
SETTINGS = {
    "model": "opus",
    "permissions": {"allow": ["Bash(ls:*)"], "deny": []},
    "env": {"FOO": "1"},
    "hooks": {"Stop": [USER_STOP], "PreToolUse": [USER_PRE]},
    "statusLine": {"type": "command", "command": "status.sh"},
}


def navish_commands(settings: dict) -> dict[str, list[str]]:
    return {
        event: [h["command"] for g in groups for h in g["hooks"] if is_navish_hook(h)]
        for event, groups in settings.get("hooks", {}).items()
    }


# -- the pure transform --------------------------------------------------------------------


def test_merge_adds_one_entry_per_event_and_keeps_everything_else():
    merged = merge_hooks(SETTINGS, command_for)
    assert {k: v for k, v in merged.items() if k != "hooks"} == {k: v for k, v in SETTINGS.items() if k != "hooks"}
    assert merged["hooks"]["Stop"][0] == USER_STOP and merged["hooks"]["PreToolUse"][0] == USER_PRE
    expected = {event: [command_for(status)] for event, status in HOOK_EVENTS}
    assert navish_commands(merged) == expected
    assert merged["hooks"]["Stop"][1] == {"hooks": [{"type": "command", "command": command_for("done"), "timeout": 10}]}
    assert merged["hooks"]["PreToolUse"][0] == USER_PRE  # the user's own entry first, then navish's
    assert SETTINGS["hooks"]["Stop"] == [USER_STOP]  # the input is not modified


def test_the_event_map():
    assert dict(HOOK_EVENTS) == {
        "SessionStart": "idle", "UserPromptSubmit": "working", "PreToolUse": "working",
        "PermissionRequest": "permission", "Notification": "waiting", "PostToolUse": "working",
        "PostToolUseFailure": "working", "Stop": "done", "StopFailure": "error", "SessionEnd": "offline",
        "SubagentStart": "working", "SubagentStop": "stopped", "TeammateIdle": "idle", "TaskCompleted": "done",
    }
    assert len(HOOK_EVENTS) == len(dict(HOOK_EVENTS))


OLD_EVENTS = (
    ("UserPromptSubmit", "working"), ("PermissionRequest", "permission"), ("Notification", "waiting"),
    ("Stop", "done"), ("SessionEnd", "offline"), ("PostToolUse", "working"), ("SubagentStart", "working"),
    ("SubagentStop", "stopped"), ("TeammateIdle", "idle"), ("TaskCompleted", "done"),
)
"""What install-hooks wrote before Claude Code 2.1's events were added."""


def old_install(settings: dict) -> dict:
    """`settings` as the previous navish left it: one group per event of OLD_EVENTS, after the user's."""
    new = json.loads(json.dumps(settings))
    hooks = new.setdefault("hooks", {})
    for event, status in OLD_EVENTS:
        entry = {"type": "command", "command": command_for(status), "timeout": 10}
        hooks.setdefault(event, []).append({"hooks": [entry]})
    return new


def test_installing_over_the_old_set_upgrades_it_in_place():
    old = old_install(SETTINGS)
    upgraded = merge_hooks(old, command_for)
    assert upgraded == merge_hooks(SETTINGS, command_for)  # the same as a fresh install: no duplicates
    assert navish_commands(upgraded) == {event: [command_for(status)] for event, status in HOOK_EVENTS}
    assert upgraded["hooks"]["Stop"] == old["hooks"]["Stop"]  # an unchanged entry is not moved
    assert upgraded["hooks"]["PreToolUse"] == [USER_PRE, {"hooks": [
        {"type": "command", "command": command_for("working"), "timeout": 10}]}]
    text, diff = plan_install(json.dumps(old, indent=2) + "\n", command_for)
    added = [line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    removed = [line for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    assert sum(MARKER in line for line in added) == 4 and not any(MARKER in line for line in removed)
    assert plan_install(text, command_for) == (text, "")
    assert remove_hooks(upgraded) == SETTINGS
    assert remove_hooks(old) == SETTINGS  # uninstall also takes an old install out, exactly


def test_a_second_merge_changes_nothing():
    once = merge_hooks(SETTINGS, command_for)
    assert merge_hooks(once, command_for) == once
    text, diff = plan_install(json.dumps(SETTINGS), command_for)
    assert plan_install(text, command_for) == (text, "")


@pytest.mark.parametrize("original", [{}, {"model": "x"}, SETTINGS, {"hooks": {"Stop": [USER_STOP]}}])
def test_remove_gives_back_the_original(original):
    assert remove_hooks(merge_hooks(original, command_for)) == original
    assert remove_hooks(original) == original


def test_remove_takes_only_navish_entries_from_a_shared_group():
    ours = {"type": "command", "command": command_for("done")}
    settings = {"hooks": {"Stop": [{"matcher": "", "hooks": [USER_STOP["hooks"][0], ours]}, {"hooks": [ours]}]}}
    assert remove_hooks(settings) == {"hooks": {"Stop": [{"matcher": "", "hooks": USER_STOP["hooks"]}]}}


def test_a_new_hook_path_replaces_the_old_entries_and_stale_events_go():
    stale = {"hooks": {"PreCompact": [{"hooks": [{"type": "command", "command": f"old.py x  {MARKER}"}]}]}}
    first = merge_hooks(stale, command_for)
    moved = merge_hooks(first, lambda status: hook_command("/new/hook.py", status))
    assert navish_commands(moved) == {event: [hook_command("/new/hook.py", s)] for event, s in HOOK_EVENTS}
    assert remove_hooks(moved) == {}


def test_hook_command_quotes_paths_and_keeps_the_tilde():
    assert hook_command("~/.claude-sessions/hooks/navish hook.py", "done", session_dir="/a b") == (
        f"python3 -I -S ~/'.claude-sessions/hooks/navish hook.py' done --session-dir '/a b'  {MARKER}"
    )


@pytest.mark.parametrize(
    "text, reason",
    [
        ('{"hooks": ', "invalid JSON at line 1 column 11"),
        ("[1]", "expected a JSON object, got list"),
        ('{"hooks": []}', '"hooks" is not an object'),
        ('{"hooks": {"Stop": {}}}', '"hooks.Stop" is not a list'),
    ],
)
def test_a_bad_file_is_reported_in_one_line(text, reason):
    label = "/x/settings.json"
    for plan in (lambda: plan_install(text, command_for, label=label), lambda: plan_uninstall(text, label=label)):
        with pytest.raises(SettingsError) as info:
            plan()
        message = str(info.value)
        assert message.startswith(f"{label}: ") and reason in message and message.endswith("; left unchanged")
        assert "\n" not in message
        assert isinstance(info.value, ValueError) and isinstance(info.value, NavishError)


def test_an_empty_file_is_an_empty_object():
    text, diff = plan_install("", command_for)
    assert navish_commands(json.loads(text))["Stop"] == [command_for("done")]
    assert plan_uninstall("") == ("", "")
