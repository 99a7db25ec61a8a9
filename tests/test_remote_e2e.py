"""Remote hosts end to end: the real `navish` executable against real OpenSSH sshd instances
(each with its own HOME and tmux), added with `remote add`, merged with local sessions, acted on
with every command, and shown offline when unreachable."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Tmux, navish, wait_until, write_config, write_status
from tests.sshd import USER, Sshd, free_port, keygen, silent_listener, write_known_hosts

USER_CONFIG = """# my navish settings
[settings]
poll_interval = 0.3   # fast, for the tests
connect_timeout = 1

# remotes below
"""


class Remote:
    """One 'machine' behind an sshd: its tmux server and session dir, set up from the test."""

    def __init__(self, server: Sshd, world: dict[str, str]):
        self.server = server
        self.tmux = Tmux({**world, "HOME": str(server.home), "TMUX_TMPDIR": str(server.tmux_dir)})
        self.sessions = server.home / ".claude-sessions"
        self.sessions.mkdir(exist_ok=True)

    def add_args(self, name: str, client_key: Path, known_hosts: Path) -> str:
        return (
            f"remote add {name} --host 127.0.0.1 --port {self.server.port} --user {USER} "
            f"--key {client_key} --known-hosts {known_hosts}"
        )

    def close(self) -> None:
        self.tmux.kill_server()


@pytest.fixture
def remote_factory(world, sshd_factory):  # type: ignore[no-untyped-def]
    made: list[Remote] = []

    def make() -> Remote:
        remote = Remote(sshd_factory(), world)
        made.append(remote)
        return remote

    yield make
    for remote in made:
        remote.close()


@pytest.fixture
def known_hosts(world) -> Path:
    return Path(world["HOME"]) / "known_hosts"


def _ls(world) -> list[dict]:  # type: ignore[type-arg]
    result = navish(world, "-c", "ls --json --all")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_remote_add_list_test_remove_keep_the_users_config(world, remote_factory, client_key, known_hosts):
    dev = remote_factory()
    write_known_hosts(known_hosts, dev.server)
    dev.tmux.new("api")
    write_status(dev.sessions, "api", "waiting", message="which approach?")
    path = write_config(world, USER_CONFIG)

    added = navish(world, "-c", dev.add_args("dev", client_key, known_hosts))
    assert added.returncode == 0, added.stderr
    assert "saved remote dev" in added.stdout and "dev: connected, 1 sessions" in added.stdout
    text = path.read_text()
    assert text.startswith(USER_CONFIG) and "[remotes.dev]" in text and f"port = {dev.server.port}" in text

    strict = {**world, "PYTHONDEVMODE": "1", "PYTHONWARNINGS": "always"}
    listed = navish(strict, "-c", "remote list --json")
    assert listed.stderr == ""  # closed cleanly: no destroyed tasks, no unclosed transports
    (host,) = json.loads(listed.stdout)
    assert (host["name"], host["state"], host["sessions"], host["error"]) == ("dev", "connected", 1, None)
    tested = navish(world, "-c", "remote test dev")
    assert tested.returncode == 0 and "dev: command" in tested.stdout and "dev: poll" in tested.stdout

    again = navish(world, "-c", dev.add_args("dev", client_key, known_hosts))
    assert again.returncode == 1 and "exists already" in again.stderr
    assert navish(world, "-c", "remote add bad --host h --port 70000").returncode == 2
    assert navish(world, "-c", "remote add bad --host h --key /no/such/key").returncode == 1

    assert navish(world, "-c", "remote remove dev").returncode == 0
    assert path.read_text() == USER_CONFIG  # comments and layout survive the round trip
    assert navish(world, "-c", "remote remove dev").returncode == 1


def test_every_command_works_on_a_remote_session(world, tmux, session_dir, remote_factory, client_key, known_hosts):
    dev = remote_factory()
    write_known_hosts(known_hosts, dev.server)
    write_config(world, USER_CONFIG)
    assert navish(world, "-c", dev.add_args("dev", client_key, known_hosts)).returncode == 0
    repo = dev.server.home / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "trunk", str(repo)], check=True)
    dev.tmux.new("api", "echo remote-pane-text; exec cat", cwd=str(repo))
    write_status(dev.sessions, "api", "permission", cwd=str(repo), message="Claude needs your permission")
    write_status(dev.sessions, "ghost", "done")  # its tmux session is gone
    tmux.new("api")
    write_status(session_dir, "api", "working")

    merged = {(s["host"], s["name"]): s for s in _ls(world)}
    assert set(merged) == {("local", "api"), ("dev", "api"), ("dev", "ghost")}
    assert merged[("dev", "api")]["status"] == "permission" and merged[("dev", "ghost")]["status"] == "gone"
    assert next(s["host"] for s in _ls(world)) == "dev"  # the session that needs you comes first

    ambiguous = navish(world, "-c", "preview api")
    assert ambiguous.returncode == 1 and "local:api, dev:api" in ambiguous.stderr

    assert "remote-pane-text" in navish(world, "-c", "preview dev:api").stdout
    git = json.loads(navish(world, "-c", "git dev:api --json").stdout)
    assert (git["branch"], git["repo"], git["host"]) == ("trunk", True, "dev")
    assert navish(world, "-c", "dismiss dev:api").returncode == 0
    assert json.loads((dev.sessions / "api.json").read_text())["status"] == "working"
    assert navish(world, "-c", "rename dev:api 'api two'").returncode == 0
    assert dev.tmux.sessions() == ["api two"] and (dev.sessions / "api two.json").exists()
    assert navish(world, "-c", "kill 'dev:api two' -y").returncode == 0
    assert dev.tmux.sessions() == [] and not (dev.sessions / "api two.json").exists()
    pruned = navish(world, "-c", "prune -y")
    assert pruned.returncode == 0 and "dev:ghost" in pruned.stdout and not (dev.sessions / "ghost.json").exists()

    started = navish(world, "-c", "new fresh --host dev --cmd 'exec cat'")
    assert started.returncode == 0, started.stderr
    assert dev.tmux.sessions() == ["fresh"]
    assert ("dev", "fresh") in {(s["host"], s["name"]) for s in _ls(world)}

    installed = navish(world, "-c", "install-hooks --remote dev")
    assert installed.returncode == 0 and installed.stdout.startswith("dev:~/.claude/settings.json: updated")
    assert (dev.server.home / ".claude-sessions" / "hooks" / "hook.py").exists()
    assert "PermissionRequest" in json.loads((dev.server.home / ".claude" / "settings.json").read_text())["hooks"]
    assert tmux.sessions() == ["api"]  # nothing happened on this machine


def test_unreachable_hosts_are_marked_offline_and_hide_nothing(world, remote_factory, client_key, known_hosts):
    dev = remote_factory()
    write_known_hosts(known_hosts, dev.server)
    dev.tmux.new("alive")
    write_status(dev.sessions, "alive", "working")
    closed_port = free_port()  # nothing listens there: connection refused
    with silent_listener() as silent_port:  # accepts TCP, never speaks: a connect timeout
        config = USER_CONFIG + "".join(
            f'\n[remotes.{name}]\nhost = "127.0.0.1"\nport = {port}\nuser = "{USER}"\nkey = "{client_key}"\nknown_hosts = "{known_hosts}"\n'
            for name, port in (("dev", dev.server.port), ("down", closed_port), ("silent", silent_port))
        )
        write_config(world, config)
        result = navish(world, "-c", "ls --json")
        assert result.returncode == 0
        assert [(s["host"], s["name"]) for s in json.loads(result.stdout)] == [("dev", "alive")]
        assert "down: offline, sessions unknown" in result.stderr
        assert "silent: offline, sessions unknown" in result.stderr and "no answer within 1s" in result.stderr

        hosts = {h["name"]: h for h in json.loads(navish(world, "-c", "remote list --json").stdout)}
        assert hosts["dev"]["state"] == "connected"
        assert hosts["down"]["state"] == "offline" and hosts["down"]["sessions"] is None
        failed = navish(world, "-c", "preview down:anything")
        assert failed.returncode == 1 and "host not reached yet" in failed.stderr


def test_unknown_then_trusted_then_changed_host_key(world, remote_factory, client_key, known_hosts):
    dev = remote_factory()
    dev.tmux.new("s")
    write_status(dev.sessions, "s")
    write_config(world, USER_CONFIG)
    added = navish(world, "-c", dev.add_args("dev", client_key, known_hosts))
    assert added.returncode == 0  # saved even though it cannot connect yet
    assert "host key unknown" in added.stdout and "remote trust dev" in added.stdout
    assert navish(world, "-c", "remote trust dev").returncode == 2  # -y needed without a terminal

    trusted = navish(world, "-c", "remote trust dev -y")
    fingerprint = subprocess.run(["ssh-keygen", "-lf", f"{dev.server.host_key}.pub"], check=True, capture_output=True, text=True).stdout.split()[1]
    assert trusted.returncode == 0 and fingerprint in trusted.stdout and "dev: connected, 1 sessions" in trusted.stdout
    assert [s["host"] for s in _ls(world)] == ["dev"]

    dev.server.stop()  # the same address comes back with another key: a man in the middle?
    dev.server.host_key.unlink()
    Path(f"{dev.server.host_key}.pub").unlink()
    keygen(dev.server.host_key)
    dev.server.start()
    result = navish(world, "-c", "ls --json")
    assert json.loads(result.stdout) == [] and "HOST KEY CHANGED" in result.stderr
    refused = navish(world, "-c", "remote trust dev -y")
    assert refused.returncode == 1 and "refusing to replace it" in refused.stderr
    assert known_hosts.read_text().count("[127.0.0.1]") == 1


def test_the_shell_shows_remote_state_live_and_attaches_over_ssh(world, remote_factory, client_key, known_hosts, pane_factory):
    dev = remote_factory()
    write_known_hosts(known_hosts, dev.server)
    dev.tmux.new("api", "echo INSIDE-REMOTE-SESSION; exec cat")
    write_status(dev.sessions, "api", "waiting")
    config = USER_CONFIG + (
        f'\n[remotes.dev]\nhost = "127.0.0.1"\nport = {dev.server.port}\nuser = "{USER}"\n'
        f'key = "{client_key}"\nknown_hosts = "{known_hosts}"\n'
        f'\n[remotes.down]\nhost = "127.0.0.1"\nport = 1\n'
    )
    write_config(world, config)
    pane = pane_factory()
    screen = pane.wait_for("dev ●")
    assert "down ✗ offline" in pane.wait_for("down ✗")
    assert "1 need" in screen or "1 need" in pane.wait_for("1 need")

    pane.type("ls")
    pane.keys("Enter")
    wait_until(lambda: re.search(r"^dev +api +waiting", pane.screen(), re.MULTILINE), what="dev:api listed")

    dev.server.stop()  # the machine goes away: its sessions stay listed, marked offline
    pane.wait_for("dev ✗ offline")
    pane.type("ls")
    pane.keys("Enter")
    pane.wait_for("waiting (offline)")
    pane.type("preview dev:api")
    pane.keys("Enter")
    pane.wait_for("error: dev:api is on an unreachable host")

    dev.server.start()  # and comes back
    pane.wait_for("dev ●", timeout=20)
    if os.geteuid() != 0:
        pytest.skip("ssh -t needs a pty that an sshd run by a normal user cannot hand over (chown of the tty)")
    pane.type("attach dev:api")
    pane.keys("Enter")
    pane.wait_for("INSIDE-REMOTE-SESSION", timeout=20)
    pane.keys("C-b", "d")
    pane.wait_for("[detached")
    pane.type("help attach")
    pane.keys("Enter")
    pane.wait_for("usage: attach")
    # dev:api was waiting all along: its host coming back is no news
    assert "! dev:api needs you" not in pane.history()


def test_a_remote_can_be_just_an_ssh_config_alias(world, remote_factory, client_key, known_hosts):
    dev = remote_factory()
    write_known_hosts(known_hosts, dev.server)
    dev.tmux.new("api")
    write_status(dev.sessions, "api", "waiting")
    ssh_dir = Path(world["HOME"]) / ".ssh"
    ssh_dir.mkdir(mode=0o700)
    (ssh_dir / "config").write_text(
        f"Host devbox\n  HostName 127.0.0.1\n  Port {dev.server.port}\n  User {USER}\n"
        f"  IdentityFile {client_key}\n  UserKnownHostsFile {known_hosts}\n"
    )
    write_config(world, USER_CONFIG)
    added = navish(world, "-c", "remote add box --host devbox")
    assert added.returncode == 0 and "box: connected, 1 sessions" in added.stdout, added.stdout + added.stderr
    assert [(s["host"], s["name"]) for s in _ls(world)] == [("box", "api")]


def test_a_revoked_host_key_is_shown_and_never_trusted(world, remote_factory, client_key, known_hosts):
    dev = remote_factory()
    known_hosts.write_text(f"@revoked [127.0.0.1]:{dev.server.port} {dev.server.public_host_key()}\n")
    before = known_hosts.read_text()
    write_config(world, USER_CONFIG)
    added = navish(world, "-c", dev.add_args("dev", client_key, known_hosts))
    assert added.returncode == 0 and "host key REVOKED" in added.stdout and "remote trust" not in added.stdout
    (host,) = json.loads(navish(world, "-c", "remote list --json").stdout)
    assert host["state"] == "host key REVOKED" and "@revoked" in host["error"]
    refused = navish(world, "-c", "remote trust dev -y")
    assert refused.returncode == 1 and "host key REVOKED" in refused.stderr
    assert known_hosts.read_text() == before
    assert dev.server.accepted_logins() == 0


def test_remote_list_says_whether_each_host_is_watched_or_polled_and_why(world, remote_factory, client_key, known_hosts, pane_factory):
    dev = remote_factory()
    write_known_hosts(known_hosts, dev.server)
    write_config(world, USER_CONFIG + (
        f'\n[remotes.dev]\nhost = "127.0.0.1"\nport = {dev.server.port}\nuser = "{USER}"\n'
        f'key = "{client_key}"\nknown_hosts = "{known_hosts}"\n'
        f'\n[remotes.down]\nhost = "127.0.0.1"\nport = {free_port()}\n'
    ))
    pane = pane_factory()
    pane.wait_for("dev ●")
    pane.wait_for("down ✗")

    def listed() -> dict[str, str]:
        pane.type("remote list")
        pane.keys("Enter")
        screen = pane.wait_for("MODE")
        header = next(line for line in screen.splitlines() if line.startswith("NAME"))
        start, end = header.index("MODE"), header.index("SESSIONS")
        return {line.split()[0]: line[start:end].strip() for line in screen.splitlines() if line.startswith(("dev ", "down "))}

    modes = wait_until(lambda: (m := listed()).get("dev") == "watch" and m, timeout=15, what="dev watched")
    assert modes["down"].startswith("poll ("), modes  # and why

    settings = USER_CONFIG.replace("connect_timeout = 1", "connect_timeout = 1\nwatch = false")
    write_config(world, settings + f'\n[remotes.dev]\nhost = "127.0.0.1"\nport = {dev.server.port}\nuser = "{USER}"\n'
                 f'key = "{client_key}"\nknown_hosts = "{known_hosts}"\n')
    (host,) = json.loads(navish(world, "-c", "remote list --json").stdout)
    assert (host["state"], host["mode"]) == ("connected", "poll (settings.watch is off)")
