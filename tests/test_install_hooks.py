"""install-hooks / uninstall-hooks / new on a real host: files, modes, backups, and the hook run
by a shell exactly as Claude Code runs it. The same code serves remotes (see test_remote_e2e)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest

from navish import setup_actions
from navish.hook_install import HOOK_EVENTS, SettingsError, is_navish_hook
from navish.hosts.local import LocalHost
from tests.conftest import navish, run, wait_until

SETTINGS = {
    "model": "opus",
    "permissions": {"allow": ["Bash(ls:*)"], "deny": []},
    "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}]},
}


def navish_commands(settings: dict) -> dict[str, list[str]]:
    return {
        event: [h["command"] for g in groups for h in g["hooks"] if is_navish_hook(h)]
        for event, groups in settings.get("hooks", {}).items()
    }


@pytest.fixture
def home(world) -> Path:
    return Path(world["HOME"])


@pytest.fixture
def settings_file(home: Path) -> Path:
    path = home / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_text(json.dumps(SETTINGS, indent=4))
    path.chmod(0o600)
    return path


@pytest.fixture(params=["local", "ssh"])
def host(request, home: Path):  # type: ignore[no-untyped-def]
    """This machine, and the same world reached over a real sshd: one installer serves both."""
    if request.param == "local":
        return LocalHost("~/.claude-sessions")
    return request.getfixturevalue("ssh_host_for")("~/.claude-sessions")


def install(host, **kwargs) -> str:  # type: ignore[no-untyped-def]
    return run(setup_actions.install_hooks(host, dry_run=kwargs.pop("dry_run", False), timeout=10, **kwargs))


def uninstall(host, **kwargs) -> str:  # type: ignore[no-untyped-def]
    return run(setup_actions.uninstall_hooks(host, dry_run=kwargs.pop("dry_run", False), timeout=10, **kwargs))


def test_install_copies_the_hook_keeps_settings_and_writes_a_backup(settings_file, host, home):
    original = settings_file.read_text()
    report = install(host)
    assert report == f"{host.name}:~/.claude/settings.json: updated (previous version in ~/.claude/settings.json.bak)"
    settings = json.loads(settings_file.read_text())
    assert settings["model"] == "opus" and settings["permissions"] == SETTINGS["permissions"]
    assert settings["hooks"]["Stop"][0] == SETTINGS["hooks"]["Stop"][0]  # the user's own hook is kept
    assert set(navish_commands(settings)) == {event for event, _ in HOOK_EVENTS}
    assert settings_file.with_name("settings.json.bak").read_text() == original
    assert settings_file.stat().st_mode & 0o777 == 0o600
    hook = home / ".claude-sessions" / "hooks" / "hook.py"
    assert hook.read_text().startswith('"""navish\'s Claude Code hook')
    python = shlex.split(navish_commands(settings)["Stop"][0])[0]
    assert os.path.isabs(python) and os.access(python, os.X_OK)


def test_a_second_install_changes_no_setting(settings_file, host):
    install(host)
    before = settings_file.read_bytes(), settings_file.with_name("settings.json.bak").read_bytes()
    assert install(host) == f"{host.name}:~/.claude/settings.json: hooks already installed; hook script refreshed"
    assert (settings_file.read_bytes(), settings_file.with_name("settings.json.bak").read_bytes()) == before


def test_dry_run_prints_the_diff_and_writes_nothing(settings_file, host, home):
    before = settings_file.read_bytes()
    diff = install(host, dry_run=True)
    label = f"{host.name}:~/.claude/settings.json"
    assert diff.startswith(f"--- {label}\n+++ {label}\n@@")
    assert settings_file.read_bytes() == before
    assert sorted(p.name for p in settings_file.parent.iterdir()) == ["settings.json"]
    assert not (home / ".claude-sessions").exists()


def test_invalid_json_is_reported_and_left_untouched(settings_file, host):
    settings_file.write_text('{"model": "opus",}')
    with pytest.raises(SettingsError, match=r"invalid JSON at line 1 column 18 .*; left unchanged$"):
        install(host)
    assert settings_file.read_text() == '{"model": "opus",}'
    assert sorted(p.name for p in settings_file.parent.iterdir()) == ["settings.json"]


def test_a_missing_settings_file_is_created(host, home):
    assert install(host) == f"{host.name}:~/.claude/settings.json: updated"
    settings = json.loads((home / ".claude" / "settings.json").read_text())
    assert len(navish_commands(settings)["PostToolUse"]) == 1


def test_uninstall_gives_back_the_original_settings(settings_file, host, home):
    install(host)
    assert uninstall(host).startswith(f"{host.name}:~/.claude/settings.json: updated")
    assert json.loads(settings_file.read_text()) == SETTINGS
    assert not (home / ".claude-sessions" / "hooks" / "hook.py").exists()
    assert uninstall(host) == f"{host.name}:~/.claude/settings.json: no navish hooks were installed"


def test_a_symlinked_settings_file_stays_a_symlink(settings_file, host, home):
    real = home / "dotfiles" / "settings.json"
    real.parent.mkdir()
    settings_file.rename(real)
    settings_file.symlink_to(real)
    install(host)
    assert settings_file.is_symlink()
    assert navish_commands(json.loads(real.read_text()))["Stop"]


def test_every_installed_command_records_its_status(settings_file, host, home, world):
    """Each command as written in settings.json, run by a shell, records the status it stands for."""
    install(host)
    settings = json.loads(settings_file.read_text())
    env = {k: v for k, v in world.items() if k not in ("TMUX", "TMUX_PANE")}
    for event, status in HOOK_EVENTS:
        [command] = navish_commands(settings)[event]
        payload = {"hook_event_name": event, "session_id": "abcdefgh-1", "cwd": "/p"}
        if event in ("SubagentStart", "SubagentStop", "TeammateIdle", "TaskCompleted"):
            payload["teammate_name"] = f"mate-{event}"
        result = subprocess.run(["sh", "-c", command], input=json.dumps(payload).encode(), capture_output=True, env=env)
        assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
        doc = json.loads((home / ".claude-sessions" / "claude-abcdefgh.json").read_text())
        agents = {a["name"]: a["status"] for a in doc.get("team", {}).get("agents", [])}
        recorded = agents[payload["teammate_name"]] if "teammate_name" in payload else doc["status"]
        assert recorded == status, event


def test_new_starts_a_session_that_shows_up_at_once(world, tmux, home):
    (home / "proj").mkdir()
    result = navish(world, "-c", "new job --dir ~/proj --cmd 'echo started-by-test; exec cat'")
    assert result.returncode == 0, result.stderr
    assert "started local:job in" in result.stdout and "attach local:job" in result.stdout
    assert tmux.sessions() == ["job"]
    (item,) = json.loads(navish(world, "-c", "ls --json").stdout)
    assert (item["name"], item["cwd"]) == ("job", str(home / "proj"))
    again = navish(world, "-c", "new job")
    assert again.returncode == 1 and "exists already" in again.stderr
    bad = navish(world, "-c", "new 'a:b'")
    assert bad.returncode == 1 and "cannot contain ':'" in bad.stderr
    nodir = navish(world, "-c", "new other --dir /no/such/dir")
    assert nodir.returncode == 1 and "no directory" in nodir.stderr
    missing = navish(world, "-c", "new other --cmd 'no-such-agent --flag'")
    assert missing.returncode == 1 and missing.stderr == (
        "navish: 'no-such-agent' is not installed on local (not found on its PATH); nothing was started\n"
    )
    assert tmux.sessions() == ["job"]
    assert sorted(p.name for p in (home / ".claude-sessions").glob("*.json")) == ["job.json"]


def test_the_hook_inside_a_new_session_is_what_navish_lists(world, tmux, home, host):
    """install-hooks, then a Claude-like process in a new tmux session fires the hook: navish sees it."""
    install(host)
    settings = json.loads((home / ".claude" / "settings.json").read_text())
    [command] = navish_commands(settings)["PermissionRequest"]
    event = json.dumps({"hook_event_name": "PermissionRequest", "session_id": "s-1", "cwd": str(home), "tool_name": "Bash"})
    (home / "event.json").write_text(event)
    # Claude Code runs the command with sh -c and the event on stdin (the marker is a comment)
    tmux.new("claude-like", f"sh -c {shlex.quote(command)} < {shlex.quote(str(home / 'event.json'))}; exec cat")
    item = wait_until(
        lambda: next((s for s in json.loads(navish(world, "-c", "ls --json").stdout) if s["name"] == "claude-like"), None),
        what="the hook's status file",
    )
    assert item["status"] == "permission" and "Bash" in item["message"]
