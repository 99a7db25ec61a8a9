"""Acting on many sessions at once: globs over HOST:SESSION, --host, --status (issue 10 §3)."""

from __future__ import annotations

import json

from tests.conftest import navish, write_config, write_status


def _world(tmux, session_dir, sessions):  # type: ignore[no-untyped-def]
    for name, status in sessions:
        tmux.new(name)
        write_status(session_dir, name, status)


def test_bulk_kill_lists_asks_once_and_reports_each(world, tmux, session_dir):
    write_config(world, "")
    _world(tmux, session_dir, [("exp-1", "working"), ("exp-2", "done"), ("keep", "waiting")])
    refused = navish(world, "-c", "kill 'local:exp-*'")
    assert refused.returncode == 2 and "kill: add -y to confirm" in refused.stderr
    assert sorted(tmux.sessions()) == ["exp-1", "exp-2", "keep"]
    done = navish(world, "-c", "kill 'local:exp-*' -y")
    assert done.returncode == 0, done.stderr
    assert sorted(done.stdout.splitlines()) == [
        "killed local:exp-1 and removed its status file",
        "killed local:exp-2 and removed its status file",
    ]
    assert tmux.sessions() == ["keep"]


def test_dismiss_by_status(world, tmux, session_dir):
    write_config(world, "")
    _world(tmux, session_dir, [("a", "waiting"), ("b", "waiting"), ("c", "permission")])
    result = navish(world, "-c", "dismiss --status waiting -y")
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.splitlines()) == ["dismissed local:a: waiting → working", "dismissed local:b: waiting → working"]
    statuses = {s["name"]: s["status"] for s in json.loads(navish(world, "-c", "ls --json").stdout)}
    assert statuses == {"a": "working", "b": "working", "c": "permission"}


def test_selection_errors_are_one_line(world, tmux, session_dir):
    write_config(world, "")
    _world(tmux, session_dir, [("a", "waiting")])
    cases = [
        ("kill", 2, "kill: name a SESSION (globs like 'dev:*' allowed), or give --host or --status"),
        ("kill 'x*' -y", 1, "kill: no session matches 'x*'"),
        ("dismiss --host nope", 1, "no host named 'nope'"),
        ("dismiss --status bogus", 2, "dismiss: unknown status 'bogus'"),
        ("filter nope", 2, "filter: expected all, local, remote or a host name (local), not 'nope'"),
    ]
    for line, code, message in cases:
        result = navish(world, "-c", line)
        assert (result.returncode, result.stderr.count("\n")) == (code, 1), (line, result.stderr)
        assert message in result.stderr, (line, result.stderr)


def test_ls_by_host_and_by_glob(world, tmux, session_dir):
    write_config(world, "")
    _world(tmux, session_dir, [("api", "waiting"), ("web", "done")])
    assert [s["name"] for s in json.loads(navish(world, "-c", "ls --host local --json").stdout)] == ["api", "web"]
    assert [s["name"] for s in json.loads(navish(world, "-c", "ls 'local:w*' --json").stdout)] == ["web"]
    assert json.loads(navish(world, "-c", "ls '*:nothing*' --json").stdout) == []
