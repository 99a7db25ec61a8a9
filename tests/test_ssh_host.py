"""SshHost and SshPool against real OpenSSH servers on 127.0.0.1 (tests/sshd.py)."""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import time
import warnings
from pathlib import Path

import pytest

from navish.config import RemoteConfig, parse_jump_host
from navish.errors import HostUnreachable, NavishError
from navish.hosts.base import Host
from navish.hosts.ssh import SshHost, SshPool, append_known_host
from navish.model import HostState
from tests.sshd import (
    USER,
    free_port,
    keygen,
    non_posix_shell,
    pid_alive,
    silent_listener,
    write_known_hosts,
)

# the fixtures (sshd_factory, client_key) come from tests.sshd, registered in conftest.py

T = 10.0  # generous per-run timeout: a failing test should fail on its assertion, not hang


def arun(coro):
    return asyncio.run(coro)


def make_pool(**kw) -> SshPool:
    """A pool that never reads the developer's ~/.ssh or agent, with short timeouts."""
    kw = {"config": None, "agent_path": None, "connect_timeout": 2.0, "backoff_initial": 0.05,
          "backoff_max": 0.2, **kw}
    return SshPool(**kw)


async def eventually(condition, timeout: float = 5.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def test_run_returns_output_and_status(sshd_factory, client_key):
    server = sshd_factory()

    async def main():
        pool = make_pool()
        seen = []
        host = pool.host(server.spec(client_key), on_state_change=lambda h: seen.append(h.state))
        _typed: Host = host  # SshHost satisfies the Host protocol (checked by type checkers)
        try:
            result = await host.run('echo "out $HOME"; echo err >&2; exit 3', timeout=T)
            assert (result.returncode, result.out, result.err) == (3, f"out {server.home}\n", "err")
            assert isinstance(result.stdout, bytes) and result.elapsed > 0
            assert seen == [HostState.CONNECTING, HostState.CONNECTED]
            assert host.state is HostState.CONNECTED and host.last_error is None
            # The script runs under /bin/sh -s with stdin from /dev/null, and a non-UTF-8 byte survives.
            result = await host.run("cat; printf '\\377'; echo \"$0\"", timeout=T)
            assert result.stdout == b"\xff/bin/sh\n"
        finally:
            await pool.close_all()

    arun(main())


def test_stdin_round_trip(sshd_factory, client_key):
    server = sshd_factory()
    payload = "it's \"quoted\" \\back\\slash\n$(touch /tmp/pwned) `id` $HOME\n\tünïcødé ✓ 🚀\n\nlast line, no newline"

    async def main():
        pool = make_pool()
        host = pool.host(server.spec(client_key))
        try:
            result = await host.run("cat", stdin=payload, timeout=T)
            assert result.out == payload
            result = await host.run("wc -c", stdin="", timeout=T)
            assert result.out.strip() == "0"
        finally:
            await pool.close_all()

    arun(main())


def test_non_posix_login_shell(sshd_factory, client_key, test_user):
    found = non_posix_shell()
    if found is None:
        pytest.skip("needs a non-POSIX login shell: apt-get install fish")
    shell, _package = found
    user = test_user(os.path.basename(shell), shell)
    server = sshd_factory(owner=user)

    async def main():
        pool = make_pool()
        host = pool.host(server.spec(client_key, user=user))
        try:
            result = await host.run('echo "user=$(id -un) sh=$0 $((6 * 7))"; [ -n "$HOME" ] && echo ok', timeout=T)
            assert result.returncode == 0, result.err
            assert result.out == f"user={user} sh=/bin/sh 42\nok\n"
            # The login shell really is the non-POSIX one.
            shell_line = subprocess.run(["getent", "passwd", user], capture_output=True, text=True).stdout
            assert shell_line.strip().endswith(shell)
        finally:
            await pool.close_all()

    arun(main())


def test_concurrent_runs_share_one_connection(sshd_factory, client_key):
    server = sshd_factory()  # MaxSessions default (10) < 20 concurrent runs

    async def main():
        pool = make_pool()
        host = pool.host(server.spec(client_key))
        try:
            results = await asyncio.gather(
                *(host.run(f"sleep 0.05; echo {i}", timeout=T) for i in range(20))
            )
            assert [r.out for r in results] == [f"{i}\n" for i in range(20)]
            assert all(r.returncode == 0 for r in results)
            assert pool.open_connections() == 1
            assert server.accepted_logins() == 1
        finally:
            await pool.close_all()

    arun(main())


def test_connection_refused_is_fast_and_offline(tmp_path, client_key):
    port = free_port()
    spec = RemoteConfig("dev", "127.0.0.1", port=port, user=USER, key=str(client_key),
                      known_hosts=str(tmp_path / "kh"))

    async def main():
        pool = make_pool()
        host = pool.host(spec)
        started = time.monotonic()
        with pytest.raises(HostUnreachable) as err:
            await host.run("true", timeout=T)
        assert time.monotonic() - started < 1.0
        assert str(err.value) == f"dev: connection refused (127.0.0.1:{port})"
        assert host.state is HostState.OFFLINE and host.last_error == str(err.value)
        await pool.close_all()

    arun(main())


def test_silent_server_times_out_within_connect_timeout(tmp_path, client_key):
    with silent_listener() as port:
        spec = RemoteConfig("dev", "127.0.0.1", port=port, user=USER, key=str(client_key),
                          known_hosts=str(tmp_path / "kh"))

        async def main():
            pool = make_pool(connect_timeout=0.3)
            host = pool.host(spec)
            started = time.monotonic()
            with pytest.raises(HostUnreachable) as err:
                await host.run("true", timeout=T)
            assert 0.3 <= time.monotonic() - started < 1.5
            assert str(err.value) == f"dev: no answer within 0.3s (127.0.0.1:{port})"
            assert host.state is HostState.OFFLINE
            await pool.close_all()

        arun(main())


def test_backoff_fails_fast_without_reconnecting(tmp_path, client_key):
    """While a host is down, runs fail at once with the last error; `connect(force=True)` retries now."""

    async def main():
        accepted = []

        async def drop(reader, writer):
            accepted.append(1)
            writer.close()

        server = await asyncio.start_server(drop, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pool = make_pool(backoff_initial=30, backoff_max=60)
        host = pool.host(RemoteConfig("dev", "127.0.0.1", port=port, user=USER, key=str(client_key),
                                    known_hosts=str(tmp_path / "kh")))
        try:
            with pytest.raises(HostUnreachable) as first:
                await host.run("true", timeout=T)
            assert len(accepted) == 1 and host.state is HostState.OFFLINE
            for _ in range(5):
                with pytest.raises(HostUnreachable) as again:
                    await host.run("true", timeout=T)
                assert str(again.value) == str(first.value)
            assert len(accepted) == 1
            with pytest.raises(HostUnreachable):
                await host.connect(force=True)
            assert len(accepted) == 2
        finally:
            await pool.close_all()
            server.close()
            await server.wait_closed()

    arun(main())


def test_sshd_killed_and_restarted_reconnects(sshd_factory, client_key):
    server = sshd_factory()

    async def main():
        pool = make_pool()
        host = pool.host(server.spec(client_key))
        try:
            assert (await host.run("echo one", timeout=T)).out == "one\n"
            await asyncio.to_thread(server.stop)
            # The dropped connection is noticed without waiting for the next run.
            await eventually(lambda: host.state is HostState.OFFLINE, what="OFFLINE after sshd died")
            assert "connection lost" in host.last_error
            with pytest.raises(HostUnreachable, match="connection refused"):
                await host.run("echo two", timeout=T)
            await asyncio.to_thread(server.start)
            deadline = time.monotonic() + 5
            while True:  # retried once the (50 ms) backoff has passed
                try:
                    result = await host.run("echo three", timeout=T)
                    break
                except HostUnreachable:
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.02)
            assert result.out == "three\n" and host.state is HostState.CONNECTED
            assert pool.open_connections() == 1
        finally:
            await pool.close_all()

    arun(main())


def test_run_timeout_kills_script_and_host_recovers(sshd_factory, client_key, test_user):
    """A script that outlives its timeout is killed (sshd signals its process group; sshd refuses
    that for root logins, hence a plain user) and its channel slot comes back."""
    user = test_user("sh", "/bin/sh")
    server = sshd_factory(owner=user)
    pid_file = server.home / "sleep.pid"

    async def main():
        pool = make_pool()
        host = pool.host(server.spec(client_key, user=user))
        try:
            started = time.monotonic()
            with pytest.raises(HostUnreachable, match=r"^dev: no answer within 0.3s"):
                await host.run(f"sleep 30 & echo $! > {pid_file}; wait", timeout=0.3)
            assert time.monotonic() - started < 1.0
            assert host.state is HostState.OFFLINE
            sleep_pid = int(pid_file.read_text())
            await eventually(lambda: not pid_alive(sleep_pid), what="the remote sleep to be killed")
            # Ten more: abandoned channels that lingered would exhaust MaxSessions=10.
            for _ in range(10):
                with pytest.raises(HostUnreachable):
                    await host.run("sleep 30", timeout=0.1)
            assert (await host.run("echo back", timeout=T)).out == "back\n"
            assert host.state is HostState.CONNECTED
            assert server.accepted_logins() == 1
        finally:
            await pool.close_all()

    arun(main())


def test_wrong_client_key_is_auth_failed(sshd_factory, client_key, tmp_path):
    server = sshd_factory()
    other = keygen(tmp_path / "other_key")

    async def main():
        pool = make_pool()
        host = pool.host(server.spec(other))
        try:
            with pytest.raises(HostUnreachable) as err:
                await host.run("true", timeout=T)
            assert host.state is HostState.AUTH_FAILED
            user = host.spec.user
            assert str(err.value) == f"dev: authentication failed as {user}@127.0.0.1"
        finally:
            await pool.close_all()

    arun(main())


def test_unknown_host_key_then_trust(sshd_factory, client_key, tmp_path):
    server = sshd_factory()
    known_hosts = tmp_path / "ssh" / "known_hosts"  # neither the dir nor the file exists yet

    async def main():
        pool = make_pool(backoff_initial=30)
        host = pool.host(server.spec(client_key, known_hosts=known_hosts))
        try:
            with pytest.raises(HostUnreachable) as err:
                await host.run("true", timeout=T)
            assert host.state is HostState.HOST_KEY_UNKNOWN
            assert str(err.value) == f"dev: host key unknown (127.0.0.1:{server.port}) — run `remote trust dev`"
            key = await host.fetch_host_key()
            key_type, fingerprint, line = key.key_type, key.fingerprint, key.line
            assert key_type == "ssh-ed25519" and fingerprint.startswith("SHA256:") and key.other_types == ()
            assert line == server.known_hosts_line()
            assert server.accepted_logins() == 0
            assert await host.trust(line) is True
            assert await host.trust(line) is False  # already there: not appended twice
            assert known_hosts.read_text() == line + "\n"
            assert (known_hosts.stat().st_mode & 0o777, known_hosts.parent.stat().st_mode & 0o777) == (0o600, 0o700)
            # Trusting clears the backoff: the next run connects at once.
            assert (await host.run("echo ok", timeout=T)).out == "ok\n"
            assert host.state is HostState.CONNECTED
        finally:
            await pool.close_all()

    arun(main())


def test_changed_host_key_is_refused(sshd_factory, client_key, tmp_path):
    server = sshd_factory()
    impostor_key = keygen(tmp_path / "impostor")
    known_hosts = tmp_path / "known_hosts"
    # The file trusts another key for this host and port: the server's key has "changed".
    known_hosts.write_text(f"[127.0.0.1]:{server.port} {' '.join(Path(f'{impostor_key}.pub').read_text().split()[:2])}\n")
    before = known_hosts.read_text()

    async def main():
        pool = make_pool(backoff_initial=0)
        host = pool.host(server.spec(client_key, known_hosts=known_hosts))
        try:
            for _ in range(2):
                with pytest.raises(HostUnreachable) as err:
                    await host.run("true", timeout=T)
                assert host.state is HostState.HOST_KEY_CHANGED
                assert str(err.value) == (
                    f"dev: HOST KEY CHANGED for 127.0.0.1:{server.port} — refusing to connect "
                    "(possible man-in-the-middle)"
                )
            line = (await host.fetch_host_key()).line
            with pytest.raises(NavishError, match="different host key"):
                await host.trust(line)
            assert known_hosts.read_text() == before
            assert server.accepted_logins() == 0  # never authenticated, never ran anything
        finally:
            await pool.close_all()

    arun(main())


def test_jump_host_reuses_one_bastion_connection(sshd_factory, client_key, tmp_path):
    bastion = sshd_factory(log_level="DEBUG1")  # DEBUG1 logs each direct-tcpip forward
    targets = [sshd_factory(), sshd_factory()]
    known_hosts = write_known_hosts(tmp_path / "known_hosts", bastion, *targets)
    jump = f"{USER}@127.0.0.1:{bastion.port}"

    async def main():
        pool = make_pool()
        hosts = [
            pool.host(t.spec(client_key, name=f"t{i}", known_hosts=known_hosts, jump_host=jump))
            for i, t in enumerate(targets)
        ]
        try:
            results = await asyncio.gather(*(h.run("echo $HOME", timeout=T) for h in hosts for _ in range(3)))
            assert [r.out for r in results] == [f"{t.home}\n" for t in targets for _ in range(3)]
            assert pool.open_connections() == 3  # one bastion + two targets
        finally:
            await pool.close_all()

    arun(main())
    assert bastion.accepted_logins() == 1
    log = bastion.log_text()
    for t in targets:
        assert t.accepted_logins() == 1
        assert f"target 127.0.0.1 port {t.port}" in log  # the target was reached through the bastion


def test_jump_host_failures_name_the_jump_host(sshd_factory, client_key, tmp_path):
    target = sshd_factory()
    bastion = sshd_factory()
    known_hosts = write_known_hosts(tmp_path / "known_hosts", target)  # bastion not trusted yet

    async def main():
        pool = make_pool(backoff_initial=30)
        host = pool.host(target.spec(client_key, known_hosts=known_hosts,
                                     jump_host=f"127.0.0.1:{bastion.port}", user=USER))
        try:
            with pytest.raises(HostUnreachable) as err:
                await host.run("true", timeout=T)
            assert str(err.value) == (
                f"dev: host key unknown (jump host 127.0.0.1:{bastion.port}) — run `remote trust dev`"
            )
            assert host.state is HostState.HOST_KEY_UNKNOWN
            key = await host.fetch_host_key()  # the jump host's key comes first
            assert key.line == bastion.known_hosts_line()
            assert await host.trust(key.line)
            assert (await host.run("echo through", timeout=T)).out == "through\n"
        finally:
            await pool.close_all()

    arun(main())


def test_close_all_leaves_nothing_behind(sshd_factory, client_key, tmp_path):
    bastion = sshd_factory()
    direct, behind = sshd_factory(), sshd_factory()
    known_hosts = write_known_hosts(tmp_path / "known_hosts", bastion, direct, behind)

    async def main():
        pool = make_pool()
        a = pool.host(direct.spec(client_key, name="a", known_hosts=known_hosts))
        b = pool.host(behind.spec(client_key, name="b", known_hosts=known_hosts,
                                  jump_host=f"{USER}@127.0.0.1:{bastion.port}"))
        await asyncio.gather(a.run("true", timeout=T), b.run("true", timeout=T))
        with pytest.raises(HostUnreachable):
            await a.run("sleep 5", timeout=0.05)  # an abandoned channel too
        assert pool.open_connections() == 3
        await pool.close_all()
        assert pool.open_connections() == 0
        await asyncio.sleep(0)
        assert asyncio.all_tasks() == {asyncio.current_task()}

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        arun(main())
        gc.collect()
    assert [str(w.message) for w in caught] == []


def test_attach_command_through_jump_host_really_connects(sshd_factory, client_key, tmp_path):
    bastion = sshd_factory(log_level="DEBUG1")
    target = sshd_factory()
    odd_dir = tmp_path / "dir with space"
    odd_dir.mkdir()
    known_hosts = write_known_hosts(odd_dir / "known hosts", bastion, target)
    spec = target.spec(client_key, known_hosts=known_hosts, jump_host=f"{USER}@127.0.0.1:{bastion.port}")
    host = SshHost(spec, make_pool())

    argv = host.attach_command("$12").argv
    assert argv[:4] == ["ssh", "-F", "/dev/null", "-t"]
    assert argv[-2:] == ["--", "tmux -u attach-session -t '$12'"]
    assert f"{USER}@127.0.0.1" in argv and "-i" in argv
    proxy = next(a for a in argv if a.startswith("ProxyCommand="))
    assert proxy.endswith(f"{USER}@127.0.0.1 -W %h:%p") and f"-p {bastion.port}" in proxy
    # Run the same command line with a harmless remote command instead of tmux.
    probe = [a for a in argv[:-1] if a != "-t"] + ["echo attached $HOME"]
    out = subprocess.run(["env", "-i", "PATH=/usr/bin:/bin", *probe], capture_output=True, text=True,
                         timeout=20, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"attached {target.home}\n"
    assert f"target 127.0.0.1 port {target.port}" in bastion.log_text()  # went through the bastion
    assert bastion.accepted_logins() == 1


def test_attach_command_minimal():
    host = SshHost(RemoteConfig("dev", "devbox"), SshPool())
    assert host.attach_command("$0").argv == ["ssh", "-t", "devbox", "--", "tmux -u attach-session -t '$0'"]
    host = SshHost(RemoteConfig("dev", "devbox", port=2200, user="me", key="/k%1"), SshPool(config="/cfg"))
    assert host.attach_command("$7").argv == [
        "ssh", "-F", "/cfg", "-t", "-p", "2200", "-i", "/k%%1", "me@devbox", "--", "tmux -u attach-session -t '$7'",
    ]
    # Only a tmux session id is ever a target: a name (tmux splits `=a:b` at the colon) never is.
    for not_an_id in ("main", "=main", "$1:0", "$1.0", "$", "$1; id", "%3"):
        with pytest.raises(ValueError):
            host.attach_command(not_an_id)


def test_parse_jump_host():
    assert parse_jump_host("bastion") == (None, "bastion", None)
    assert parse_jump_host("me@bastion:2222") == ("me", "bastion", 2222)
    assert parse_jump_host("me@[::1]:22") == ("me", "::1", 22)
    with pytest.raises(ValueError):
        parse_jump_host("me@host:port")


def test_append_known_host(tmp_path):
    path = tmp_path / "kh"
    key, other = (" ".join(Path(f"{keygen(tmp_path / n)}.pub").read_text().split()[:2]) for n in ("k1", "k2"))
    path.write_text(f"other.example {other}")  # no final newline
    assert append_known_host(str(path), f"[h]:2200 {key}")
    assert path.read_text() == f"other.example {other}\n[h]:2200 {key}\n"
    assert append_known_host(str(path), f"h {key}")  # port 22 is a different entry
    assert not append_known_host(str(path), f"[h]:2200 {key}")
    with pytest.raises(NavishError, match=r"already has a different host key for \[h\]:2200"):
        append_known_host(str(path), f"[h]:2200 {other}")
    assert path.read_text().count("\n") == 3
    # A portless entry does not cover another port: a second sshd on that host is just unknown.
    assert append_known_host(str(path), f"[other.example]:2222 {key}")
