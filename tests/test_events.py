"""`events`: the change stream for people and scripts (issue 9 §3)."""

from __future__ import annotations

import json
import signal
import subprocess
import time

from tests.conftest import NAVISH, wait_until, write_config, write_status


def _reader(world, *args):  # type: ignore[no-untyped-def]
    return subprocess.Popen([NAVISH, "-c", " ".join(["events", *args])], env=world, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)


def _session_events(proc, count):  # type: ignore[no-untyped-def]
    """The next `count` JSON events about sessions (host state events skipped)."""
    got: list[dict] = []

    def more() -> bool:
        event = json.loads(proc.stdout.readline())
        if event["session"] is not None:
            got.append(event)
        return len(got) >= count

    wait_until(more, timeout=20, what=f"{count} session events")
    return got


def test_events_json_lines_follow_every_change_and_ctrl_c_ends_with_0(world, tmux, session_dir):
    write_config(world, "settings.poll_interval = 0.2\n".replace("settings.", "[settings]\n"))
    tmux.new("api")
    write_status(session_dir, "api", "working")
    proc = _reader(world, "--json")
    try:
        (added,) = _session_events(proc, 1)
        assert (added["host"], added["session"], added["kind"], added["status"]) == ("local", "api", "added", "working")
        assert set(added) == {"at", "host", "session", "kind", "status", "previous_status", "message"}
        started = time.time()
        write_status(session_dir, "api", "permission", message="Bash: rm -rf build")
        (change,) = _session_events(proc, 1)
        assert (change["kind"], change["status"], change["previous_status"], change["message"]) == (
            "status", "permission", "working", "Bash: rm -rf build"
        )
        assert started - 1 <= change["at"] <= time.time()
        (session_dir / "api.json").unlink()
        tmux("kill-session", "-t", "=api")
        (removed,) = _session_events(proc, 1)
        assert removed["kind"] == "removed"
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0 and "Traceback" not in err


def test_events_text_filtered_and_a_closed_pipe_ends_quietly(world, tmux, session_dir):
    write_config(world, "[settings]\npoll_interval = 0.2\n")
    tmux.new("a")
    tmux.new("b")
    write_status(session_dir, "a", "working")
    write_status(session_dir, "b", "working")
    pipeline = subprocess.Popen(f"{NAVISH} -c 'events --status permission' | head -1", shell=True, env=world,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: subprocess.run(["pgrep", "-f", "events --status permission"], capture_output=True).returncode == 0,
               what="the events reader to start")
    write_status(session_dir, "b", "permission", message="Bash: make")
    out, err = pipeline.communicate(timeout=30)  # head exits after one line, and so must navish
    assert out.startswith("local:b  ") and "permission  Bash: make" in out
    assert err == ""
