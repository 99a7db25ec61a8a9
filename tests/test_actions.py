"""Every action's script against the real thing: tmux on a private socket, real files, real git.

Each test runs twice: through the local host and through a real sshd (the same world reached
over SSH), which is what "remote parity" means: the same scripts, the same results.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from navish import actions, git_action, poll_script, status_files
from navish.errors import ActionFailed, HostUnreachable
from navish.hosts.local import LocalHost
from navish.merge import host_sessions
from tests.conftest import run, wait_until, write_status

HOSTILE_NAMES = [
    "with space",
    "quote'single",
    'quote"double',
    "subst$(touch PWNED)",
    "tick`touch PWNED`",
    "semi;touch PWNED",
    "unicodé-日本-🚀",
    "x" * 210,
]


@pytest.fixture(params=["local", "ssh"])
def host(request, session_dir: Path):  # type: ignore[no-untyped-def]
    if request.param == "local":
        return LocalHost(str(session_dir))
    return request.getfixturevalue("ssh_host_for")(str(session_dir))


def _poll(host):  # type: ignore[no-untyped-def]
    return host_sessions(host.name, run(poll_script.poll(host, 10)))


def test_poll_matches_status_files_with_live_tmux_sessions(tmux, session_dir, host):
    tmux.new("api")
    tmux.new("scratch")
    write_status(session_dir, "api", "permission", team={"agents": [{"name": "t", "status": "working"}]}, extra={"k": 1})
    write_status(session_dir, "old", "done")
    found = {s.name: s for s in _poll(host).sessions}
    assert found["api"].display_status == "permission"
    assert found["api"].fields["extra"] == {"k": 1}  # unknown fields kept
    assert found["old"].display_status == "gone"
    assert found["scratch"].display_status == "untracked"


def test_malformed_files_are_skipped_with_a_warning_and_hide_nothing(tmux, session_dir, host):
    tmux.new("good")
    write_status(session_dir, "good", "waiting")
    (session_dir / "half.json").write_text('{"tmux_session": "half", "stat')
    (session_dir / "empty.json").write_text("")
    (session_dir / "list.json").write_text("[1, 2]")
    (session_dir / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    (session_dir / ".tmp.abc123").write_text("{}")  # a hook's temp file is not a status file
    (session_dir / "dir.json").mkdir()
    result = _poll(host)
    assert [s.name for s in result.sessions if s.status_file] == ["good"]
    text = "\n".join(result.warnings)
    for name in ("half.json", "empty.json", "list.json", "binary.json"):
        assert name in text
    assert ".tmp.abc123" not in text and "dir.json" not in text


def test_missing_session_dir_means_no_sessions(tmux, tmp_path, host):
    tmux.new("lonely")
    host.session_dir = str(tmp_path / "nowhere")
    result = _poll(host)
    assert [(s.name, s.display_status) for s in result.sessions] == [("lonely", "untracked")]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_survive_every_action_and_run_nothing(tmux, session_dir, host, name, tmp_path):
    os.chdir(tmp_path)
    tmux.new(name, cwd=str(tmp_path))
    write_status(session_dir, name, "waiting", message="$(touch PWNED) `touch PWNED` \x1b]0;title\x07")
    (tmux_name,) = tmux.sessions()
    assert tmux_name == name
    session = next(s for s in _poll(host).sessions if s.name == name)
    assert session.live and session.status == "waiting"

    tmux("send-keys", "-t", f"={name}:", "-l", "hello from the pane")
    tmux("send-keys", "-t", f"={name}:", "Enter")
    wait_until(lambda: "hello from the pane" in run(actions.preview(host, name, 10, 10)).text, what="the typed text")

    run(status_files.dismiss(host, session.status_file, 1234, 10))
    data = json.loads((session_dir / session.status_file).read_text())
    assert (data["status"], data["message"], data["timestamp"]) == ("working", "", 1234)

    run(actions.rename(host, name, session.status_file, "renamed", True, 10))
    assert tmux.sessions() == ["renamed"]
    assert json.loads((session_dir / "renamed.json").read_text())["tmux_session"] == "renamed"
    assert not (session_dir / session.status_file).exists()

    run(actions.kill(host, "renamed", "renamed.json", 10))
    assert tmux.sessions() == []
    assert not (session_dir / "renamed.json").exists()
    assert not list(tmp_path.rglob("PWNED")), "a hostile name ran a command"


def test_rename_keeps_every_other_field_and_the_file_mode(tmux, session_dir, host):
    tmux.new("a")
    path = write_status(session_dir, "a", "idle", metrics={"time": {"started": 1}}, team={"name": "t", "agents": []})
    path.chmod(0o640)
    before = json.loads(path.read_text())
    run(actions.rename(host, "a", "a.json", "b", True, 10))
    after = json.loads((session_dir / "b.json").read_text())
    assert after == {**before, "tmux_session": "b"}
    assert stat.S_IMODE((session_dir / "b.json").stat().st_mode) == 0o640


def test_rename_refuses_existing_and_invalid_names(tmux, session_dir, host):
    tmux.new("a")
    tmux.new("b")
    write_status(session_dir, "a")
    with pytest.raises(ActionFailed, match="already exists"):
        run(actions.rename(host, "a", "a.json", "b", True, 10))
    write_status(session_dir, "c")
    with pytest.raises(ActionFailed, match="already exists"):
        run(actions.rename(host, "a", "a.json", "c", True, 10))
    for bad in ("x:y", "x.y", "", "a/b", "#{host}", "new\nline"):
        with pytest.raises(ActionFailed):
            run(actions.rename(host, "a", "a.json", bad, True, 10))
    assert sorted(tmux.sessions()) == ["a", "b"]
    assert json.loads((session_dir / "a.json").read_text())["tmux_session"] == "a"


def test_rewrite_retries_when_a_hook_writes_meanwhile(tmux, session_dir, host, monkeypatch):
    write_status(session_dir, "a", "waiting", message="first")
    real_run = host.run
    calls = {"n": 0}

    async def racing_run(script, *, stdin=None, timeout):
        if stdin is not None and calls["n"] == 0:  # a hook rewrites the file between read and write
            calls["n"] += 1
            write_status(session_dir, "a", "permission", message="second", extra="kept")
        return await real_run(script, stdin=stdin, timeout=timeout)

    monkeypatch.setattr(host, "run", racing_run)
    run(status_files.dismiss(host, "a.json", 99, 10))
    data = json.loads((session_dir / "a.json").read_text())
    assert data["status"] == "working" and data["extra"] == "kept"  # nothing the hook wrote was lost


def test_prune_removes_only_files_whose_session_is_still_gone(tmux, session_dir, host):
    write_status(session_dir, "dead")
    write_status(session_dir, "back")
    tmux.new("back")  # came back after the poll saw it gone
    pruned = run(actions.prune(host, [("dead", "dead.json"), ("back", "back.json")], 10))
    assert pruned == ["dead"]
    assert not (session_dir / "dead.json").exists() and (session_dir / "back.json").exists()


def test_preview_keeps_colour_and_returns_the_last_lines(tmux, host):
    tmux.new("c", "printf 'one\\ntwo\\n\\033[31mred\\033[0m\\n'; exec cat")
    text = wait_until(lambda: (t := run(actions.preview(host, "c", 2, 10)).text) and "red" in t and t, what="pane output")
    first, last = text.splitlines()
    assert first == "two" and last.startswith("\x1b[31mred")


def test_git_info_of_a_real_repository(tmp_path, host, world):
    origin = tmp_path / "origin.git"
    repo = tmp_path / "repo"
    env = {**world, "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@x"}

    def git(*args: str, cwd: Path = repo) -> None:
        subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)

    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True, env=env)
    repo.mkdir()
    git("init", "-q", "-b", "main")
    git("remote", "add", "origin", str(origin))
    (repo / "f").write_text("1")
    git("add", "f")
    git("commit", "-q", "-m", "first: it's $(here)")
    git("push", "-q", "-u", "origin", "main")
    (repo / "f").write_text("2")
    git("commit", "-q", "-am", "second")
    (repo / "untracked").write_text("x")

    info = run(git_action.git_info(host, str(repo), 10))
    assert isinstance(info, git_action.GitInfo)
    assert (info.branch, info.dirty, info.changes, info.ahead, info.behind) == ("main", True, 1, 1, 0)
    assert info.upstream == "origin/main" and info.remote == str(origin)
    assert info.last_commit is not None and info.last_commit["subject"] == "second"

    assert run(git_action.git_info(host, str(tmp_path), 10)) == "not a git repository"
    assert run(git_action.git_info(host, str(tmp_path / "missing dir"), 10)) == "no such directory"


def test_a_script_that_outlives_its_timeout_is_killed(host):
    with pytest.raises(HostUnreachable, match="no answer within 0.3s"):
        run(host.run("sleep 30 & wait", timeout=0.3))
    assert run(host.run("echo still usable", timeout=10)).out == "still usable\n"
