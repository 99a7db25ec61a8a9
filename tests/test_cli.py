"""`navish -c CMD`: the real executable, its output and exit codes (0 ok, 1 failed action, 2 usage)."""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
from pathlib import Path

from tests.conftest import NAVISH, navish, wait_until, write_config, write_status


def test_version_and_help(world):
    result = navish(world, "--version")
    assert result.returncode == 0 and result.stdout.startswith("navish ")
    result = navish(world, "-c", "help")
    assert result.returncode == 0
    for command in ("ls", "filter", "preview", "git", "kill", "rename", "dismiss", "attach", "refresh", "prune"):
        assert f"\n  {command} " in result.stdout


def test_ls_json_has_the_documented_keys_and_the_file_fields(world, tmux, session_dir):
    tmux.new("api")
    write_status(session_dir, "api", "permission", message="needs you", session_id="s1", metrics={"tools": {}})
    result = navish(world, "-c", "ls --json")
    assert result.returncode == 0, result.stderr
    (item,) = json.loads(result.stdout)
    assert {k: item[k] for k in ("host", "name", "status", "message", "offline", "session_id", "metrics")} == {
        "host": "local",
        "name": "api",
        "status": "permission",
        "message": "needs you",
        "offline": False,
        "session_id": "s1",
        "metrics": {"tools": {}},
    }
    assert isinstance(item["timestamp"], (int, float)) and item["cwd"] == "/tmp"


def test_ls_filters_by_pattern_and_status_and_lists_untracked_with_all(world, tmux, session_dir):
    for name in ("api", "web", "bare"):
        tmux.new(name)
    write_status(session_dir, "api", "waiting", cwd="/srv/api")
    write_status(session_dir, "web", "done", message="deployed")
    names = lambda *args: [s["name"] for s in json.loads(navish(world, "-c", "ls --json " + " ".join(args)).stdout)]  # noqa: E731
    assert names() == ["api", "web"]
    assert names("SRV") == ["api"]
    assert names("deploy*") == ["web"]
    assert names("--status", "done") == ["web"]
    assert names("--all") == ["api", "web", "bare"]
    assert names("--sort", "name", "--all") == ["api", "bare", "web"]


def test_exit_codes_and_one_line_errors(world, tmux, session_dir):
    tmux.new("a")
    write_status(session_dir, "a")
    cases = [
        ("frobnicate", 2, "unknown command 'frobnicate'"),
        ("ls --bogus", 2, "ls: unknown option '--bogus'"),
        ("preview", 1, "preview: no session needs you right now"),
        ("preview a -n zero", 2, "expects a whole number"),
        ("kill a", 2, "kill: add -y to confirm"),
        ("preview nosuch", 1, "no session named 'nosuch'"),
        ("rename a 'b:c'", 1, "cannot contain ':'"),
        ("ls 'unclosed", 2, "cannot parse the line"),
    ]
    navish(world, "-c", "help")  # the first run says it created the config
    for line, code, message in cases:
        result = navish(world, "-c", line)
        assert result.returncode == code, (line, result.stderr)
        assert message in result.stderr, (line, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert tmux.sessions() == ["a"]


def test_session_actions_from_the_command_line(world, tmux, session_dir):
    tmux.new("job", "echo pane-says-hi; exec cat")
    write_status(session_dir, "job", "waiting", message="question?")
    wait_until(lambda: "pane-says-hi" in navish(world, "-c", "preview job -n 5").stdout, what="preview")

    assert navish(world, "-c", "dismiss local:job").returncode == 0
    assert json.loads((session_dir / "job.json").read_text())["status"] == "working"

    assert navish(world, "-c", "rename job 'new name'").returncode == 0
    assert tmux.sessions() == ["new name"]
    result = navish(world, "-c", "kill 'local:new name' -y")
    assert result.returncode == 0 and "killed local:new name" in result.stdout
    assert tmux.sessions() == [] and list(session_dir.glob("*.json")) == []


def test_prune_asks_for_y_and_removes_gone_files(world, tmux, session_dir):
    tmux.new("alive")
    write_status(session_dir, "alive")
    write_status(session_dir, "dead")
    assert navish(world, "-c", "prune").returncode == 2
    result = navish(world, "-c", "prune -y")
    assert result.returncode == 0 and "local:dead" in result.stdout
    assert sorted(p.name for p in session_dir.glob("*.json")) == ["alive.json"]


def test_refresh_json_reports_cycles(world, tmux, session_dir):
    write_status(session_dir, "a")
    result = navish(world, "-c", "refresh --count 3 --json")
    cycles = json.loads(result.stdout)["cycles"]
    assert len(cycles) == 3 and all(c["hosts"]["local"]["ok"] and c["ms"] > 0 for c in cycles)


def test_config_errors_name_the_file_and_key(world):
    path = write_config(world, "[settings]\npoll_interval = 'fast'\n")
    result = navish(world, "-c", "ls")
    assert result.returncode == 2
    assert str(path.name) in result.stderr and "settings.poll_interval" in result.stderr
    assert path.read_text() == "[settings]\npoll_interval = 'fast'\n"  # never overwritten


def test_first_run_creates_the_commented_config_and_says_so(world):
    first = navish(world, "-c", "ls")
    created = Path(world["XDG_CONFIG_HOME"]) / "navish" / "config.toml"
    assert first.returncode == 0 and f"navish: created {created}" in first.stderr
    assert "# " in created.read_text() and "poll_interval" in created.read_text()
    assert "created" not in navish(world, "-c", "ls").stderr


def test_a_mistyped_config_path_is_reported_not_replaced(world, tmp_path):
    result = navish(world, "--config", str(tmp_path / "conifg.toml"), "-c", "ls")
    assert result.returncode == 2 and f"no config file at {tmp_path / 'conifg.toml'} (given by --config)" in result.stderr
    assert not (tmp_path / "conifg.toml").exists()


def test_no_sessions_says_what_to_do(world, tmux):
    result = navish(world, "-c", "ls")
    assert result.returncode == 0 and "Start `claude` inside tmux" in result.stdout


def test_unknown_status_is_a_usage_error_and_status_sorts_by_attention(world, tmux, session_dir):
    result = navish(world, "-c", "ls --status bogus")
    assert result.returncode == 2 and "unknown status 'bogus' (expected one of: permission, waiting" in result.stderr
    for name, status in (("a", "working"), ("b", "permission"), ("c", "done"), ("d", "error")):
        tmux.new(name)
        write_status(session_dir, name, status)
    listed = json.loads(navish(world, "-c", "ls --sort status --json").stdout)
    assert [s["status"] for s in listed] == ["permission", "error", "working", "done"]


def test_a_reader_that_stops_reading_ends_the_command_quietly(world, tmux, session_dir):
    write_config(world, "")
    for i in range(300):
        write_status(session_dir, f"s{i:03}", "working")
    result = subprocess.run(f"{shlex.quote(NAVISH)} -c 'ls --json' | head -1", shell=True, env=world, capture_output=True, text=True)
    assert result.stdout == "[\n" and result.stderr == ""


def test_host_and_timeout_bound_a_one_shot_command(world, tmux, session_dir, tmp_path):
    """`--host` asks only that host; `--timeout` answers with what arrived by then."""
    from tests.sshd import silent_listener

    with silent_listener() as port:
        config = tmp_path / "navish.toml"
        config.write_text(f'[remotes.wedged]\nhost = "127.0.0.1"\nport = {port}\n')
        tmux.new("a")
        write_status(session_dir, "a", "waiting")
        only_local = navish(world, "--config", str(config), "--host", "local", "-c", "ls --json")
        assert [s["host"] for s in json.loads(only_local.stdout)] == ["local"] and only_local.stderr == ""
        bounded = navish(world, "--config", str(config), "--timeout", "0.5", "-c", "ls --json")
        assert [s["host"] for s in json.loads(bounded.stdout)] == ["local"]
        assert "wedged: still answering; sessions unknown yet" in bounded.stderr
        bad = navish(world, "--config", str(config), "--host", "nope", "-c", "ls")
        assert bad.returncode == 2 and "--host: no host named 'nope' (hosts: local, wedged)" in bad.stderr


def test_missing_tmux_is_one_clear_message(world, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "env", "cat", "stat", "awk", "dirname", "python3"):
        path = subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True, text=True).stdout.strip()
        if path:
            (bin_dir / tool).symlink_to(path)
    env = {**world, "PATH": str(bin_dir)}
    result = subprocess.run([NAVISH, "--demo", "-c", "ls"], env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert "navish needs tmux" in result.stderr and "apt-get install tmux" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_cleans_up_everything_also_on_sigterm(world, tmp_path):
    world = {**world, "TMPDIR": str(tmp_path)}
    result = subprocess.run([NAVISH, "--demo", "-c", "ls --all --json"], env=world, capture_output=True, text=True, timeout=60)
    sessions = json.loads(result.stdout)
    assert {s["status"] for s in sessions} >= {"permission", "waiting", "working", "error", "done", "gone", "untracked"}
    assert not list(tmp_path.glob("navish-demo-*"))
    for line in ("install-hooks", "remote add x --host h"):  # the demo changes nothing outside itself
        refused = subprocess.run([NAVISH, "--demo", "-c", line], env=world, capture_output=True, text=True, timeout=60)
        assert refused.returncode == 1 and "run navish without --demo" in refused.stderr
    assert not (Path(world["HOME"]) / ".claude").exists()

    with subprocess.Popen([NAVISH, "--demo"], env=world, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as proc:
        wait_until(lambda: list(tmp_path.glob("navish-demo-*/tmux.sock")), what="the demo world")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) != 0
    assert not list(tmp_path.glob("navish-demo-*"))


def test_without_remotes_no_ssh_library_is_loaded(world, tmux, tmp_path):
    """`navish -c ls` on a machine without remotes starts without asyncssh (it costs start-up time)."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "asyncssh.py").write_text("raise ImportError('asyncssh must not be imported here')\n")
    result = navish({**world, "PYTHONPATH": str(blocker)}, "-c", "ls")
    assert result.returncode == 0, result.stderr
