"""`remote add`, `remote mute`/`unmute` and `remote list`'s mode column, driven as a user would:
the real shell in a tmux pane answering its questions (Ctrl-C and Ctrl-D included), and
`navish -c`."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.conftest import NAVISH, Pane, Tmux, navish, wait_until, write_config, write_status
from tests.sshd import USER, keygen, write_known_hosts

FAST = "# mine\n[settings]\npoll_interval = 0.2\nconnect_timeout = 1\n\n# remotes below\n"
QUESTION = re.compile(r"^(host name|port|user|private key file|known_hosts file|jump host|status-file directory|seconds)\b.*\):")


@pytest.fixture
def shell_in(world, tmp_path):  # type: ignore[no-untyped-def]
    """`start(cwd, *args) -> Pane`: the real shell in a tmux pane, started in directory `cwd`."""
    panes: list[Pane] = []

    def start(cwd: Path, *args: str) -> Pane:
        command = f"cd {shlex.quote(str(cwd))} && exec {shlex.join([NAVISH, *args])}"
        pane = Pane(world, str(tmp_path / "driver.sock"), ["sh", "-c", command])
        panes.append(pane)
        pane.wait_for_prompt()
        return pane

    yield start
    for pane in panes:
        pane.close()


def _config(world) -> str:  # type: ignore[no-untyped-def]
    return (Path(world["XDG_CONFIG_HOME"]) / "navish" / "config.toml").read_text()


def _answer(pane: Pane, question: str, text: str) -> None:
    """Wait for the last line to be `question`, then type `text` and Enter."""
    wait_until(lambda: _last_line(pane).startswith(question), what=f"the question {question!r}:\n{pane.screen()}")
    if text:
        pane.type(text)
    pane.keys("Enter")


def _last_line(pane: Pane) -> str:
    lines = [line for line in pane.screen().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _questions(pane: Pane) -> list[str]:
    """Each question asked (with the answer typed after it)."""
    return [line.strip() for line in pane.history().splitlines() if QUESTION.match(line.strip())]


def test_ctrl_c_and_ctrl_d_cancel_the_whole_remote_add_and_save_nothing(world, tmp_path, shell_in):
    write_config(world, FAST)
    before = _config(world)
    pane = shell_in(tmp_path)

    pane.type("remote add lab")
    pane.keys("Enter")
    _answer(pane, "host name", "127.0.0.1")
    wait_until(lambda: _last_line(pane).startswith("port"), what="the port question")
    pane.keys("C-c")  # used to accept the default and go on
    pane.wait_for("remote add: cancelled, nothing saved")
    pane.wait_for_prompt()

    pane.type("remote add lab")
    pane.keys("Enter")
    _answer(pane, "host name", "127.0.0.1")
    _answer(pane, "port", "")
    wait_until(lambda: _last_line(pane).startswith("user"), what="the user question")
    pane.keys("C-d")
    wait_until(lambda: pane.screen().count("remote add: cancelled, nothing saved") == 2, what="the second cancel")

    pane.type("remote add lab")
    pane.keys("Enter")
    wait_until(lambda: _last_line(pane).startswith("host name"), what="the host question")
    pane.keys("C-c")  # at the first question too
    wait_until(lambda: pane.screen().count("remote add: cancelled, nothing saved") == 3, what="the third cancel")
    assert _config(world) == before
    assert "lab" not in pane.screen().split("cancelled")[-1]  # no toolbar entry for it

    pane.type("remote list")
    pane.keys("Enter")
    pane.wait_for("no remotes configured")


def test_ctrl_c_at_a_yes_no_question_means_no(world, tmux, session_dir, tmp_path, shell_in):
    tmux.new("doomed")
    write_config(world, FAST)
    pane = shell_in(tmp_path)
    pane.type("kill doomed")
    pane.keys("Enter")
    pane.wait_for("[y/N]")
    pane.keys("C-c")
    pane.wait_for("nothing done")
    assert tmux.sessions() == ["doomed"]


def test_each_answer_is_checked_as_it_is_given(world, tmp_path, shell_in):
    write_config(world, FAST)
    work = tmp_path / "work"
    work.mkdir()
    keygen(work / "id_test")
    (work / "not_a_key").write_text("hello\n")
    pane = shell_in(work)

    pane.type("remote add lab")
    pane.keys("Enter")
    pane.wait_for("Ctrl-C cancels")
    _answer(pane, "host name", "")  # required
    pane.wait_for("a host is required")
    _answer(pane, "host name", "exa mple")
    pane.wait_for("not a host: 'exa mple' (a host name has no spaces)")
    _answer(pane, "host name", "127.0.0.1")
    _answer(pane, "port", "99999")
    pane.wait_for("not a port from 1 to 65535: '99999'")
    _answer(pane, "port", "1")
    _answer(pane, "user", "bad user")
    pane.wait_for("not a user name: 'bad user' (a user name has no spaces)")
    _answer(pane, "user", USER)
    _answer(pane, "private key file", "id_missing")
    pane.wait_for("cannot read the key file id_missing: No such file or directory")
    _answer(pane, "private key file", "not_a_key")
    pane.wait_for("not_a_key is not a private key")
    _answer(pane, "private key file", "id_test")  # relative to where navish runs
    _answer(pane, "known_hosts file", "")
    _answer(pane, "jump host", "bad host:x")
    pane.wait_for("not a jump host [USER@]HOST[:PORT]: 'bad host:x'")
    _answer(pane, "jump host", "")
    _answer(pane, "status-file directory", "")
    _answer(pane, "seconds", "")
    pane.wait_for("saved remote lab")
    pane.wait_for("not reachable now: lab: connection refused")

    text = _config(world)
    assert f'[remotes.lab]\nhost = "127.0.0.1"\nport = 1\nuser = "{USER}"\nkey = "{work / "id_test"}"\n' in text
    history = pane.history()
    assert "--" not in history.split("remote add lab", 1)[1]  # no flag the user did not type
    asked = _questions(pane)
    assert all("(empty:" in q or "(required)" in q for q in asked), asked
    # every earlier answer was kept: each question was asked once per bad answer, no more
    assert [q.split(" ")[0] for q in asked] == [
        "host", "host", "host", "port", "port", "user", "user", "private", "private", "private", "known_hosts",
        "jump", "jump", "status-file", "seconds",
    ]


def test_the_demo_refuses_before_asking_anything(world, tmp_path, shell_in):
    pane = shell_in(tmp_path, "--demo")
    pane.type("remote add lab")
    pane.keys("Enter")
    pane.wait_for("error: the demo has no config file to change; run navish without --demo")
    assert "host name" not in pane.history()


def test_options_are_checked_and_paths_saved_absolute(world, tmp_path):
    write_config(world, FAST)
    work = tmp_path / "work"
    work.mkdir()
    keygen(work / "id_test")

    def add(line: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([NAVISH, "-c", line], check=False, env=world, cwd=work, capture_output=True, text=True, timeout=30)

    for line, code, said in [
        ("remote add a --host 'exa mple'", 2, "remote add: --host: not a host: 'exa mple' (a host name has no spaces)"),
        ("remote add a --host h --user 'bad user'", 2, "remote add: --user: not a user name: 'bad user'"),
        ("remote add a --host h --jump-host 'x y'", 2, "remote add: --jump-host: not a jump host"),
        ("remote add a --host h --key id_nope", 1, "remote add: --key: cannot read the key file id_nope"),
        ("remote add a --host h --known-hosts .", 1, "remote add: --known-hosts: cannot read the known_hosts file ."),
    ]:
        result = add(line)
        assert (result.returncode, said in result.stderr) == (code, True), (line, result.stderr)
    assert "[remotes" not in _config(world)

    saved = add("remote add lab --host 127.0.0.1 --port 1 --key id_test --known-hosts kh")
    assert saved.returncode == 0, saved.stderr
    text = _config(world)
    assert f'key = "{work / "id_test"}"' in text and f'known_hosts = "{work / "kh"}"' in text
    (host,) = json.loads(navish(world, "-c", "remote list --json").stdout)  # read from elsewhere: the same files
    assert (host["key"], host["known_hosts"]) == (str(work / "id_test"), str(work / "kh"))


def test_mute_and_unmute_keep_the_rest_of_the_config(world):
    config = FAST + '\n[remotes.dev]  # the lab box\nhost = "127.0.0.1"\nport = 1\nkey = "~/.ssh/id_dev"  # mine\n'
    write_config(world, config)
    muted = navish(world, "-c", "remote mute dev")
    assert muted.returncode == 0 and muted.stdout.startswith("muted dev"), muted.stderr
    assert _config(world) == config + "mute = true\n"
    (host,) = json.loads(navish(world, "-c", "remote list --json").stdout)
    assert host["mute"] is True
    assert "muted" in navish(world, "-c", "remote list").stdout
    again = navish(world, "-c", "remote mute dev")
    assert again.returncode == 0 and "already" in again.stdout
    assert navish(world, "-c", "remote unmute dev").returncode == 0
    assert _config(world) == config + "mute = false\n"
    assert json.loads(navish(world, "-c", "remote list --json").stdout)[0]["mute"] is False
    unknown = navish(world, "-c", "remote mute nope")
    assert unknown.returncode == 1 and "no remote named 'nope'" in unknown.stderr


def test_a_key_that_cannot_be_loaded_is_not_reported_as_auth_failed(world, tmp_path):
    """The config names a key file that is not a key (edited by hand, or replaced since): the
    host's state says so, instead of "auth failed"."""
    bad = tmp_path / "id_bad"
    bad.write_text("not a key\n")
    write_config(world, FAST + f'\n[remotes.dev]\nhost = "127.0.0.1"\nport = 1\nkey = "{bad}"\n')
    (host,) = json.loads(navish(world, "-c", "remote list --json").stdout)
    assert host["state"] != "auth failed", host
    assert f"cannot load the key {bad}" in host["error"], host


def test_a_known_hosts_file_that_cannot_be_read_is_said_so(world, tmp_path):
    write_config(world, FAST + f'\n[remotes.dev]\nhost = "127.0.0.1"\nport = 1\nknown_hosts = "{tmp_path}"\n')
    (host,) = json.loads(navish(world, "-c", "remote list --json").stdout)
    assert f"dev: cannot read the known_hosts file {tmp_path}: Is a directory" in host["error"], host
    assert host["state"] != "auth failed", host


def test_a_muted_host_is_not_notified_in_the_running_shell(world, sshd_factory, client_key, pane_factory, tmp_path):
    server = sshd_factory()
    remote_tmux = Tmux({**world, "HOME": str(server.home), "TMUX_TMPDIR": str(server.tmux_dir)})
    sessions = server.home / ".claude-sessions"
    sessions.mkdir()
    known_hosts = write_known_hosts(tmp_path / "known_hosts", server)
    notified = tmp_path / "notified"
    write_config(world, FAST + (
        f'\n[notify]\nbell = false\ndesktop = "off"\ntmux = false\ndwell = 0\ngroup = 0\n'
        f'command = "echo $NAVISH_SESSIONS >> {notified}"\n'
        f'\n[remotes.dev]\nhost = "127.0.0.1"\nport = {server.port}\nuser = "{USER}"\nkey = "{client_key}"\n'
        f'known_hosts = "{known_hosts}"\n'
    ))
    try:
        for name in ("one", "two"):
            remote_tmux.new(name)
            write_status(sessions, name, "working")
        pane = pane_factory()
        pane.wait_for("2 working")
        write_status(sessions, "one", "permission")
        wait_until(lambda: notified.exists() and notified.read_text() == "dev:one\n", what="dev:one notified")

        pane.type("remote mute dev")
        pane.keys("Enter")
        pane.wait_for("muted dev")
        write_status(sessions, "two", "permission")
        pane.wait_for("! dev:two needs you")  # still shown in the shell...
        pane.type("remote unmute dev")
        pane.keys("Enter")
        pane.wait_for("unmuted dev")
        write_status(sessions, "one", "waiting")
        wait_until(lambda: len(notified.read_text().splitlines()) >= 2, what="a second notification")
        assert notified.read_text().splitlines() == ["dev:one", "dev:one"]  # ...but dev:two not, while muted
        assert server.accepted_logins() == 1  # muting kept the connection
    finally:
        remote_tmux.kill_server()
