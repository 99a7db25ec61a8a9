"""install-hooks / uninstall-hooks: the settings.json transform and the local file."""

from __future__ import annotations

import json
import os
import shlex
import subprocess

import pytest

from navish.errors import NavishError
from navish.hook_install import (
    HOOK_EVENTS,
    HOOK_SOURCE,
    MARKER,
    SettingsError,
    hook_command,
    install_local,
    is_navish_hook,
    merge_hooks,
    plan_install,
    plan_uninstall,
    remove_hooks,
    uninstall_local,
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
    assert merged["hooks"]["Stop"][0] == USER_STOP and merged["hooks"]["PreToolUse"] == [USER_PRE]
    expected = {event: [command_for(status)] for event, status in HOOK_EVENTS}
    assert navish_commands(merged) == {"PreToolUse": [], **expected}
    assert merged["hooks"]["Stop"][1] == {"hooks": [{"type": "command", "command": command_for("done"), "timeout": 10}]}
    assert SETTINGS["hooks"]["Stop"] == [USER_STOP]  # the input is not modified


def test_the_event_map():
    assert dict(HOOK_EVENTS) == {
        "UserPromptSubmit": "working", "PermissionRequest": "permission", "Notification": "waiting",
        "Stop": "done", "SessionEnd": "offline", "PostToolUse": "working", "SubagentStart": "working",
        "SubagentStop": "stopped", "TeammateIdle": "idle", "TaskCompleted": "done",
    }


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


# -- the local file ------------------------------------------------------------------------


@pytest.fixture
def settings_file(tmp_path):
    path = tmp_path / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_text(json.dumps(SETTINGS, indent=4))
    path.chmod(0o600)
    return path


def test_install_writes_a_backup_and_keeps_the_mode(settings_file):
    original = settings_file.read_text()
    report = install_local(settings_file, HOOK, python="python3")
    assert report.startswith(f"{settings_file}: updated (previous version in {settings_file}.bak)\n")
    assert f"+            \"command\": {json.dumps(command_for('done'))}," in report
    assert settings_file.with_name("settings.json.bak").read_text() == original
    assert settings_file.stat().st_mode & 0o777 == 0o600
    assert settings_file.with_name("settings.json.bak").stat().st_mode & 0o777 == 0o600
    assert merge_hooks(SETTINGS, command_for) == json.loads(settings_file.read_text())
    assert sorted(p.name for p in settings_file.parent.iterdir()) == ["settings.json", "settings.json.bak"]


def test_a_second_install_touches_nothing(settings_file):
    install_local(settings_file, HOOK, python="python3")
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in settings_file.parent.iterdir()}
    assert install_local(settings_file, HOOK, python="python3") == f"{settings_file}: no change"
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in settings_file.parent.iterdir()} == before


def test_dry_run_returns_the_diff_and_writes_nothing(settings_file):
    before = settings_file.read_bytes()
    diff = install_local(settings_file, HOOK, dry_run=True, python="python3")
    assert diff.startswith(f"--- {settings_file}\n+++ {settings_file}\n@@")
    assert settings_file.read_bytes() == before
    assert [p.name for p in settings_file.parent.iterdir()] == ["settings.json"]


def test_invalid_json_is_reported_and_left_untouched(settings_file):
    settings_file.write_text('{"model": "opus",}')
    with pytest.raises(SettingsError, match=r"settings.json: invalid JSON at line 1 column 18 .*; left unchanged$"):
        install_local(settings_file, HOOK, python="python3")
    assert settings_file.read_text() == '{"model": "opus",}'
    assert [p.name for p in settings_file.parent.iterdir()] == ["settings.json"]


def test_a_missing_file_is_created_without_backup(tmp_path):
    path = tmp_path / "new" / "settings.json"
    install_local(path, HOOK, python="python3")
    assert navish_commands(json.loads(path.read_text()))["PostToolUse"] == [command_for("working")]
    assert [p.name for p in path.parent.iterdir()] == ["settings.json"]
    assert uninstall_local(tmp_path / "absent.json") == f"{tmp_path / 'absent.json'}: no change"


def test_uninstall_restores_the_original_settings(settings_file):
    install_local(settings_file, HOOK, python="python3")
    uninstall_local(settings_file)
    assert json.loads(settings_file.read_text()) == SETTINGS
    assert uninstall_local(settings_file) == f"{settings_file}: no change"


def test_a_symlinked_settings_file_stays_a_symlink(settings_file, tmp_path):
    link = tmp_path / "link.json"
    link.symlink_to(settings_file)
    install_local(link, HOOK, python="python3")
    assert link.is_symlink()
    assert navish_commands(json.loads(settings_file.read_text()))["Stop"] == [command_for("done")]


def test_the_default_interpreter_is_an_absolute_path(tmp_path):
    install_local(tmp_path / "settings.json", HOOK)
    [command] = navish_commands(json.loads((tmp_path / "settings.json").read_text()))["Stop"]
    python = shlex.split(command)[0]
    assert os.path.isabs(python) and os.access(python, os.X_OK)


def test_every_installed_command_runs_the_hook(tmp_path):
    """Each command as written in settings.json, run by a shell, records the status it stands for."""
    settings, sessions = tmp_path / "settings.json", tmp_path / "sessions dir"
    install_local(settings, HOOK_SOURCE, session_dir=str(sessions))
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    for event, status in HOOK_EVENTS:
        [command] = navish_commands(json.loads(settings.read_text()))[event]
        payload = {"hook_event_name": event, "session_id": "abcdefgh-1", "cwd": "/p"}
        if event in ("SubagentStart", "SubagentStop", "TeammateIdle", "TaskCompleted"):
            payload["teammate_name"] = f"mate-{event}"
        result = subprocess.run(["sh", "-c", command], input=json.dumps(payload).encode(), capture_output=True, env=env)
        assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
        doc = json.loads((sessions / "claude-abcdefgh.json").read_text())
        agents = {a["name"]: a["status"] for a in doc.get("team", {}).get("agents", [])}
        recorded = agents[payload["teammate_name"]] if "teammate_name" in payload else doc["status"]
        assert recorded == status, event
