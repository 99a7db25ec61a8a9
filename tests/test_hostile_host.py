"""A broken or hostile host cannot make navish lose data, hit the wrong session or take unbounded
work: each test runs the real scripts on this machine and over a real sshd (issue 7)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import threading
from pathlib import Path

import pytest

from navish import actions, poll_script, status_files
from navish.errors import ActionFailed
from navish.hosts.local import LocalHost
from navish.merge import host_sessions
from tests.conftest import navish, run, wait_until, write_config, write_status

HOOK = Path(__file__).resolve().parent.parent / "navish" / "hook.py"


@pytest.fixture(params=["local", "ssh"])
def host(request, session_dir: Path):  # type: ignore[no-untyped-def]
    if request.param == "local":
        return LocalHost(str(session_dir))
    return request.getfixturevalue("ssh_host_for")(str(session_dir))


def _sessions(host):  # type: ignore[no-untyped-def]
    found = host_sessions(host.name, run(poll_script.poll(host, 20)))
    return {s.name: s for s in found.sessions}, found.warnings


# -- names a tmux session cannot have never reach a tmux target ------------------------------
IMPOSSIBLE_NAMES = ["victim:0", "victim.0", "victim:", "victim.", "$0", "$1", "=victim"]


@pytest.mark.parametrize("name", IMPOSSIBLE_NAMES)
def test_a_status_file_cannot_aim_kill_preview_or_rename_at_another_session(tmux, session_dir, host, name):
    tmux.new("victim")
    write_status(session_dir, "forged", "permission", tmux_session=name)
    sessions, _ = _sessions(host)
    forged = sessions[name]
    assert not forged.live and sessions["victim"].status_file is None

    with pytest.raises(ActionFailed, match="no live tmux session"):
        run(actions.preview(host, name, 5, 10))
    with pytest.raises(ActionFailed, match="no live tmux session"):
        run(actions.rename(host, name, forged.status_file, "renamed", True, 10))
    with pytest.raises(ActionFailed, match="no live tmux session"):
        run(actions.attach_target(host, name, 10))
    done = run(actions.kill(host, name, forged.status_file, 10))
    assert (done.tmux_session, done.status_file) == (False, True)
    assert tmux.sessions() == ["victim"]


def test_a_session_named_like_an_id_is_reachable(tmux, session_dir, host):
    tmux.new("victim")
    tmux.new("$0")
    name = next(n for n in tmux.sessions() if n != "victim")  # tmux keeps it as `\$0`
    write_status(session_dir, name, "waiting")
    sessions, _ = _sessions(host)
    assert sessions[name].live
    tmux("send-keys", "-t", run(actions.attach_target(host, name, 10)).session_id, "-l", "marker-text")
    assert "marker-text" in run(actions.preview(host, name, 5, 10)).text
    done = run(actions.kill(host, name, f"{name}.json", 10))
    assert (done.tmux_session, done.status_file) == (True, True)
    assert tmux.sessions() == ["victim"]


def test_kill_says_what_it_did(tmux, session_dir, host):
    tmux.new("a")
    assert run(actions.kill(host, "a", None, 10)) == actions.Killed(True, False)
    assert run(actions.kill(host, "a", "a.json", 10)) == actions.Killed(False, False)


# -- rewrites take the hook's lock -----------------------------------------------------------
def _hook_events(session_dir: Path, count: int) -> None:
    """`count` PostToolUse events through the real hook, each adding one to the tool's count,
    one every 20-100 ms (a busy session)."""
    event = json.dumps({"hook_event_name": "PostToolUse", "session_id": "s1", "tool_name": "Bash", "cwd": "/tmp"})
    env = {**os.environ, "TMUX": ""}
    env.pop("TMUX", None)
    for _ in range(count):
        subprocess.run(
            [sys.executable, str(HOOK), "working", "--session-dir", str(session_dir)],
            input=event.encode(),
            env={**env, "NAVISH_SESSION_DIR": str(session_dir)},
            check=True,
        )
        time.sleep(random.uniform(0.02, 0.1))


def test_dismiss_loses_no_concurrent_hook_update(session_dir, host):
    name = "claude-s1"  # the hook's name for session s1 outside tmux
    write_status(session_dir, name, "permission", session_id="s1")
    events = 40
    writer = threading.Thread(target=_hook_events, args=(session_dir, events))
    writer.start()
    dismissed = 0
    while writer.is_alive():
        run(status_files.dismiss(host, f"{name}.json", 1, 10))
        dismissed += 1
    writer.join()
    data = json.loads((session_dir / f"{name}.json").read_text())
    assert dismissed > 3
    assert data["metrics"]["tools"]["counts"]["Bash"] == events


# -- bounded, linear, and one bad file never takes the host down ------------------------------
def test_a_huge_pretty_printed_file_is_read_whole(session_dir, host):
    big = {"tmux_session": "big", "status": "waiting", "items": [{"k": i} for i in range(30_000)]}
    (session_dir / "big.json").write_text(json.dumps(big, indent=2))  # ~900 KiB, 150,000 lines
    write_status(session_dir, "small", "error")
    sessions, warnings = _sessions(host)
    assert sessions["big"].status == "waiting" and sessions["small"].status == "error"
    assert warnings == ()


def test_oversized_files_are_skipped_by_name(session_dir, host):
    (session_dir / "huge.json").write_text('{"pad": "' + "x" * (2 << 20) + '"}')
    write_status(session_dir, "ok", "error")
    sessions, warnings = _sessions(host)
    assert sessions["ok"].status == "error" and "huge" not in sessions
    assert any("huge.json" in w and "larger than 1 MiB" in w for w in warnings)


def test_many_files_are_bounded_with_a_warning(session_dir, host):
    for i in range(poll_script.MAX_FILES + 500):
        (session_dir / f"s{i:05}.json").write_text(json.dumps({"tmux_session": f"s{i:05}", "status": "idle"}))
    sessions, warnings = _sessions(host)
    assert len(sessions) == poll_script.MAX_FILES
    assert any(f"{poll_script.MAX_FILES + 500} status files; only {poll_script.MAX_FILES} were read" in w for w in warnings)


def test_a_file_that_cannot_be_read_is_skipped_by_name():
    """Run as a user who cannot read one file (root reads everything, so root tests as nobody)."""
    session_dir = Path(tempfile.mkdtemp(prefix="navish-unreadable-"))
    session_dir.chmod(0o755)
    try:
        write_status(session_dir, "ok", "waiting")
        secret = write_status(session_dir, "secret", "waiting")
        secret.chmod(0)
        (session_dir / "link.json").symlink_to(secret)
        sessions, warnings = _sessions(_UnprivilegedHost(str(session_dir)))
    finally:
        shutil.rmtree(session_dir)
    assert sessions["ok"].status == "waiting"
    assert {"secret.json", "link.json"} <= {w.split("skipped ")[1].split(":")[0] for w in warnings if "cannot be read" in w}


class _UnprivilegedHost(LocalHost):
    """This machine, as `nobody` when the tests run as root."""

    async def run(self, script, *, stdin=None, timeout, limit=poll_script.POLL_OUTPUT_LIMIT):  # type: ignore[no-untyped-def]
        if os.geteuid() != 0:
            return await super().run(script, stdin=stdin, timeout=timeout, limit=limit)
        return await super().run(
            f"exec setpriv --reuid=65534 --regid=65534 --clear-groups /bin/sh -c {shlex.quote(script)}",
            stdin=stdin,
            timeout=timeout,
            limit=limit,
        )


def test_files_vanishing_mid_poll_never_fail_the_poll(session_dir, host):
    write_status(session_dir, "steady", "permission")
    stop = threading.Event()

    def churn() -> None:
        i = 0
        while not stop.is_set():
            path = write_status(session_dir, f"churn{i % 20}", "working")
            path.unlink()
            i += 1

    thread = threading.Thread(target=churn)
    thread.start()
    try:
        for _ in range(30):
            sessions, _ = _sessions(host)
            assert sessions["steady"].status == "permission"
    finally:
        stop.set()
        thread.join()


def test_a_poll_answer_is_cut_at_the_cap(session_dir, host, monkeypatch):
    monkeypatch.setattr(poll_script, "POLL_OUTPUT_LIMIT", 64 * 1024)
    for i in range(200):
        (session_dir / f"p{i:03}.json").write_text(json.dumps({"tmux_session": f"p{i:03}", "status": "idle", "pad": "x" * 900}))
    sessions, warnings = _sessions(host)
    assert 0 < len(sessions) < 200
    assert any("poll output cut at 64 KiB" in w for w in warnings)


def test_a_huge_preview_is_cut_and_says_so(tmux, host, monkeypatch):
    monkeypatch.setattr(actions, "PREVIEW_LIMIT", 1024)
    tmux.new("noisy", "seq 1 100000; exec cat")
    wait_until(lambda: "100000" in tmux("capture-pane", "-p", "-t", "=noisy:"), what="the pane output")
    got = run(actions.preview(host, "noisy", 5000, 10))
    assert got.note == "output cut at 1 KiB" and len(got.text) <= 1024
    assert got.text.endswith("100000")  # the latest lines are the ones kept


def test_ctrl_c_during_a_flood_stops_the_script_at_once(tmp_path, host):
    """Cancelling a run (Ctrl-C) while the host streams output stops reading at once, and the
    script stops at its next write (sshd will not signal a root login's processes)."""
    flag = tmp_path / "still-running"

    async def scenario() -> None:
        flood = f"while :; do touch {shlex.quote(str(flag))}; cat /dev/zero | head -c 1000000 || exit; done"
        task = asyncio.ensure_future(host.run(flood, timeout=60, limit=1 << 40))
        await asyncio.sleep(0)
        while not flag.exists():
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(scenario())
    flag.unlink()
    wait_until(lambda: not _recreated(flag), what="the script to stop")


def _recreated(flag: Path) -> bool:
    """Whether something still touches `flag` (checked over a short span)."""
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:
        if flag.exists():
            flag.unlink()
            return True
        time.sleep(0.02)
    return False


def test_a_slow_host_never_holds_a_listing_of_the_others(world, tmux, session_dir, sshd_factory, client_key):
    """A host that takes 6 s to answer anything: `ls` answers with what arrived by the bound,
    names the slow host, and the other hosts' sessions are all there."""
    slow = sshd_factory(extra_config=('ForceCommand sleep 6; exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"',))
    spec = slow.spec(client_key, name="slow")
    write_config(world, f'[remotes.slow]\nhost = "{spec.host}"\nport = {spec.port}\nuser = "{spec.user}"\n'
                 f'key = "{spec.key}"\nknown_hosts = "{spec.known_hosts}"\n')
    tmux.new("api")
    write_status(session_dir, "api", "permission")
    started = time.monotonic()
    result = navish(world, "--timeout", "1", "-c", "ls --json")
    assert time.monotonic() - started < 5
    assert [s["name"] for s in json.loads(result.stdout)] == ["api"]
    assert "slow: still answering; sessions unknown yet" in result.stderr
