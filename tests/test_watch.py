"""The watch feed: changes pushed from each host the moment they happen (issue 9 §2)."""

from __future__ import annotations

import json
import signal
import subprocess

import pytest

from navish.errors import NavishError
from navish.watch import Frame, FrameReader
from tests.conftest import NAVISH, wait_until, write_config, write_status


def test_frames_are_cut_by_their_length_whatever_they_contain():
    inner = b"M 1 2 ./x.json\n|@beat 1\n|@snapshot 3\n"
    stream = b"@beat 1.5\n@snapshot %d\n" % len(inner) + inner + b"@beat 2\n"
    reader = FrameReader()
    frames = [f for i in range(len(stream)) for f in reader.feed(stream[i : i + 1])]  # one byte at a time
    assert frames == [Frame("beat"), Frame("snapshot", inner), Frame("beat")]


@pytest.mark.parametrize("bad", [b"@snapshot 99999999999\n", b"hello\n", b"x" * 100])
def test_a_garbled_or_oversized_frame_ends_the_watch(bad):
    with pytest.raises(NavishError):
        FrameReader(limit=1 << 20).feed(bad)


def _events(world):  # type: ignore[no-untyped-def]
    return subprocess.Popen([NAVISH, "-c", "events --json"], env=world, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)


def _next_status(proc, name, status, timeout=20.0):  # type: ignore[no-untyped-def]
    def seen() -> bool:
        event = json.loads(proc.stdout.readline())
        return event["session"] == name and event["status"] == status

    wait_until(seen, timeout=timeout, what=f"{name} {status}")


def _changes_arrive(world, tmux, session_dir, statuses=("permission",)):  # type: ignore[no-untyped-def]
    """Start `events`, then each status written to api.json must come out as an event."""
    tmux.new("api")
    write_status(session_dir, "api", "working")
    proc = _events(world)
    try:
        _next_status(proc, "api", "working")
        for status in statuses:
            write_status(session_dir, "api", status)
            _next_status(proc, "api", status)
        return proc
    except BaseException:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
        raise


def _stop(proc) -> str:  # type: ignore[no-untyped-def]
    proc.send_signal(signal.SIGINT)
    return proc.communicate(timeout=10)[1]


def test_changes_arrive_without_polling(world, tmux, session_dir):
    """Polling every hour: only the watcher can bring the change, and it does at once."""
    write_config(world, "[settings]\npoll_interval = 3600\n")
    proc = _changes_arrive(world, tmux, session_dir, ("permission", "working", "waiting"))
    try:
        tmux.new("fresh")  # a tmux session without Claude Code: the watcher's tmux check sees it
        _next_status(proc, "fresh", "untracked")  # the tmux check sees it within seconds
    finally:
        _stop(proc)


def test_without_python3_on_the_host_it_is_polled(world, tmux, session_dir, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "tmux", "awk", "find", "stat", "cat", "tail", "head", "mktemp", "rm", "mv", "cp", "chmod", "cmp"):
        path = subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True, text=True).stdout.strip()
        if path:
            (bin_dir / tool).symlink_to(path)
    world = {**world, "PATH": str(bin_dir)}
    write_config(world, "[settings]\npoll_interval = 0.2\n")
    assert "Traceback" not in _stop(_changes_arrive(world, tmux, session_dir))


def test_watch_can_be_turned_off(world, tmux, session_dir):
    """`settings.watch = false`: nothing runs on the hosts between polls, and changes come by polling."""
    write_config(world, "[settings]\nwatch = false\npoll_interval = 0.2\n")
    proc = _changes_arrive(world, tmux, session_dir)
    try:
        assert subprocess.run(["pgrep", "-f", f"navish's watcher.*{session_dir}"], capture_output=True).returncode == 1
    finally:
        _stop(proc)


def test_a_remote_is_watched_over_its_pooled_connection(world, tmux, sshd_factory, client_key):
    server = sshd_factory()
    spec = server.spec(client_key, name="dev")
    write_config(world, "[settings]\npoll_interval = 3600\n"
                 f'[remotes.dev]\nhost = "{spec.host}"\nport = {spec.port}\nuser = "{spec.user}"\n'
                 f'key = "{spec.key}"\nknown_hosts = "{spec.known_hosts}"\n')
    remote_env = {**world, "HOME": str(server.home), "TMUX_TMPDIR": str(server.tmux_dir)}
    subprocess.run(["tmux", "new-session", "-d", "-s", "api", "exec cat"], env=remote_env, check=True)
    sessions = server.home / ".claude-sessions"
    sessions.mkdir()
    write_status(sessions, "api", "working")
    proc = _events(world)
    try:
        _next_status(proc, "api", "working")
        write_status(sessions, "api", "permission")
        _next_status(proc, "api", "permission")
    finally:
        _stop(proc)
        subprocess.run(["tmux", "kill-server"], env=remote_env)


def test_the_watcher_sees_a_rename_and_leaves_an_idle_tmux_server_unasked(world, tmux, monkeypatch):
    """A rename changes no process: only `tmux list-panes` can tell. The watcher asks at most every
    FULL_EVERY seconds (0 here), and only once the server did something since it last asked."""
    from navish import watcher

    monkeypatch.setattr(watcher, "FULL_EVERY", 0.0)
    tmux.new("api")
    state = watcher._Tmux("tmux")
    listings = []
    listed = state._list
    monkeypatch.setattr(state, "_list", lambda: listings.append(1) or listed())
    assert state.changed() and b" api\n" in state.panes  # the first look lists the panes
    assert not state.changed() and not state.changed()
    assert len(listings) == 1  # nothing happened in tmux: it was not asked again
    tmux("rename-session", "-t", "api", "web")
    assert state.changed() and b" web\n" in state.panes and len(listings) == 2
    assert not state.changed() and len(listings) == 2
