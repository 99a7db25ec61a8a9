"""Login shells whose startup files print or read standard input, on real sshd with real accounts.

Whatever a remote user's rc file prints (a motd line in ~/.bashrc, config.fish, ~/.tcshrc), every
command still gets the script's own output; an rc file that reads standard input (and so eats
the script) is reported in one line naming the cause, and nothing of the script runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from navish.hosts.base import ScriptNotStarted
from navish.hosts.ssh import SshHost
from tests.conftest import navish, write_config
from tests.sshd import Sshd, make_pool

T = 10.0


@dataclass(frozen=True)
class LoginShell:
    name: str
    rc_file: str
    """The startup file every (even non-interactive) login reads, relative to HOME."""
    noise: str
    """rc text printing a motd on stdout and stderr."""
    eaters: dict[str, str]
    """rc texts that read standard input, by label."""


_SHELLS = (
    LoginShell("bash", ".bashrc", 'echo "Welcome to bash-land (motd)"\necho "bash rc says hi" >&2\n',
               {"read": "read line\n", "cat": "cat >/dev/null\n"}),
    LoginShell("fish", ".config/fish/config.fish", 'echo "Welcome to fish-land (motd)"\necho "fish rc says hi" >&2\n',
               {"read": "read line\n", "cat": "cat >/dev/null\n"}),
    LoginShell("tcsh", ".tcshrc", 'echo "Welcome to tcsh-land (motd)"\n',
               {"read": "set line = $<\n", "cat": "cat >/dev/null\n"}),
)
SHELLS = [s for s in _SHELLS if shutil.which(s.name)]
"""The shells installed here (bash always; fish is installed for the tests; tcsh if present)."""


def _login_host(sshd_factory, test_user, client_key, shell: LoginShell, rc_text: str) -> tuple[Sshd, str]:
    """An sshd whose user logs in with `shell`, its rc file holding `rc_text`."""
    path = shutil.which(shell.name)
    assert path
    user = test_user(shell.name, path)
    server = sshd_factory(owner=user)
    entry = pwd.getpwnam(user)
    rc = server.home / shell.rc_file
    rc.parent.mkdir(parents=True, exist_ok=True)
    rc.write_text(rc_text)
    for p in [rc, *rc.relative_to(server.home).parents]:
        os.chown(server.home / p, entry.pw_uid, entry.pw_gid)
    return server, user


def _ssh(server: Sshd, user: str, client_key: Path, command: str) -> subprocess.CompletedProcess[str]:
    """The same login with the OpenSSH client: shows what the rc file really does."""
    known_hosts = server.dir / "known_hosts"
    known_hosts.write_text(server.known_hosts_line() + "\n")
    return subprocess.run(
        ["ssh", "-F", "/dev/null", "-i", str(client_key), "-o", f"UserKnownHostsFile={known_hosts}",
         "-o", "StrictHostKeyChecking=yes", "-p", str(server.port), f"{user}@127.0.0.1", "--", command],
        check=False, capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL,
        env={"PATH": os.environ["PATH"]},
    )


@pytest.mark.parametrize("shell", SHELLS, ids=lambda s: s.name)
def test_rc_file_noise_never_reaches_results(sshd_factory, test_user, client_key, shell):
    server, user = _login_host(sshd_factory, test_user, client_key, shell, shell.noise)
    assert "(motd)" in _ssh(server, user, client_key, "true").stdout  # the rc file does print

    async def main():
        pool = make_pool()
        host = pool.host(server.spec(client_key, user=user))
        try:
            result = await host.run('echo "$0 $(id -un)"; echo err >&2; exit 3', timeout=T)
            assert (result.returncode, result.out, result.err) == (3, f"/bin/sh {user}\n", "err")
            assert (await host.run("cat", stdin="payload\n", timeout=T)).out == "payload\n"
            assert (await host.run("true", timeout=T)).stdout == b""
        finally:
            await pool.close_all()

    asyncio.run(main())


@pytest.mark.parametrize("eater", ["read", "cat"])
@pytest.mark.parametrize("shell", SHELLS, ids=lambda s: s.name)
def test_rc_file_reading_stdin_is_reported_and_runs_nothing(sshd_factory, test_user, client_key, shell, eater):
    server, user = _login_host(sshd_factory, test_user, client_key, shell, shell.eaters[eater])
    ran = server.home / "ran"

    async def main():
        pool = make_pool()
        host = pool.host(server.spec(client_key, user=user))
        try:
            for stdin in (None, "input\n"):
                with pytest.raises(ScriptNotStarted) as err:
                    await host.run(f"touch {ran}; echo ran", stdin=stdin, timeout=T)
                message = str(err.value)
                assert message.startswith("dev: the script did not run: a startup file of the login shell there")
                assert "\n" not in message
                assert not ran.exists()
        finally:
            await pool.close_all()

    asyncio.run(main())


# -- the real navish executable on a host whose rc file prints --


def _remote_config(server: Sshd, user: str, client_key: Path) -> str:
    known_hosts = server.dir / "known_hosts"
    known_hosts.write_text(server.known_hosts_line() + "\n")
    return (
        "[settings]\nconnect_timeout = 5\n\n[remotes.dev]\n"
        f'host = "127.0.0.1"\nport = {server.port}\nuser = "{user}"\nkey = "{client_key}"\nknown_hosts = "{known_hosts}"\n'
    )


async def _setup_session(host: SshHost, name: str) -> None:
    """A tmux session and its status file, made by the remote user over SSH (the pane runs
    `sh`, not the login shell: what that prints would really be in the pane)."""
    status = {"tmux_session": name, "status": "waiting", "message": "which one?", "cwd": "/tmp",
              "timestamp": int(time.time())}
    script = (
        f"tmux -u new-session -d -s {name} -x 120 -y 30 /bin/sh -c 'echo PANE-TEXT; exec cat' &&"
        f" mkdir -p ~/.claude-sessions && cat > ~/.claude-sessions/{name}.json"
    )
    result = await host.run(script, stdin=json.dumps(status), timeout=T)
    assert result.returncode == 0, result.err


@pytest.mark.parametrize("shell", SHELLS, ids=lambda s: s.name)
def test_every_command_is_clean_through_a_noisy_login(world, sshd_factory, test_user, client_key, shell):
    server, user = _login_host(sshd_factory, test_user, client_key, shell, shell.noise)
    write_config(world, _remote_config(server, user, client_key))
    pool = make_pool()
    host = pool.host(server.spec(client_key, user=user))

    async def remote(script: str) -> str:
        return (await host.run(script, timeout=T)).out

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_setup_session(host, "api"))

        listed = navish(world, "-c", "ls --json")
        assert listed.returncode == 0, listed.stderr
        (session,) = json.loads(listed.stdout)
        assert (session["host"], session["name"], session["status"]) == ("dev", "api", "waiting")

        preview = navish(world, "-c", "preview dev:api")
        assert preview.returncode == 0, preview.stderr
        assert preview.stdout.splitlines()[-1] == "PANE-TEXT" and "motd" not in preview.stdout + preview.stderr

        assert navish(world, "-c", "dismiss dev:api").returncode == 0
        status = json.loads(loop.run_until_complete(remote("cat ~/.claude-sessions/api.json")))
        assert (status["status"], status["message"]) == ("working", "")

        renamed = navish(world, "-c", "rename dev:api api2")
        assert renamed.returncode == 0, renamed.stderr
        assert loop.run_until_complete(remote("tmux -u list-sessions -F '#{session_name}'")) == "api2\n"
        assert json.loads(loop.run_until_complete(remote("cat ~/.claude-sessions/api2.json")))["tmux_session"] == "api2"

        tested = navish(world, "-c", "remote test dev")
        assert tested.returncode == 0, tested.stderr
        assert "dev: poll" in tested.stdout and "motd" not in tested.stdout + tested.stderr

        # `attach` parses its remote command line in this login shell: the session id reaches tmux.
        ids = loop.run_until_complete(remote("tmux -u list-sessions -F '#{session_id}'")).split()
        argv = [a for a in host.attach_command(ids[0]).argv if a != "-t"]
        attached = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=20,
                                  stdin=subprocess.DEVNULL)
        assert "not a terminal" in attached.stderr and "can't find" not in attached.stderr, attached.stderr
    finally:
        loop.run_until_complete(host.run("tmux kill-server; true", timeout=T))
        loop.run_until_complete(pool.close_all())
        loop.close()


@pytest.mark.parametrize("shell", SHELLS[:1], ids=lambda s: s.name)
def test_a_login_that_eats_the_script_is_one_clear_line(world, sshd_factory, test_user, client_key, shell):
    server, user = _login_host(sshd_factory, test_user, client_key, shell, shell.eaters["read"])
    write_config(world, _remote_config(server, user, client_key))
    cause = "the script did not run: a startup file of the login shell there"

    tested = navish(world, "-c", "remote test dev")
    assert tested.returncode == 1 and tested.stdout == ""
    (line,) = tested.stderr.splitlines()
    assert cause in line
