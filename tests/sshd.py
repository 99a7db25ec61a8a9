"""Real OpenSSH servers on 127.0.0.1 for tests: one `sshd` per simulated host.

Each instance has its own port, host key, authorized_keys, log file and `SetEnv HOME=... TMUX_TMPDIR=...`,
so one Unix user stands in for many hosts (see /work/shared/TESTING.md). Use the fixtures
(`sshd_factory`, `client_key`) by importing them into a test module or conftest:

    from tests.sshd import client_key, sshd_factory  # noqa: F401  (pytest fixtures)

    def test_x(sshd_factory, client_key):
        server = sshd_factory()
        spec = server.spec(client_key, name="dev")

`test_user(label, shell)` makes a real account `navish-t-LABEL` (root only; all removed when the
test run ends) for tests that need another login shell or a non-root login (sshd will not signal
a root session's processes). `make_pool` gives a pool that never reads the developer's ~/.ssh.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from navish.config import RemoteConfig
from navish.hosts.ssh import SshPool
from tests.waiting import wait_until

SSHD = "/usr/sbin/sshd"
USER = getpass.getuser()
"""Who the tests log in as over SSH: whoever runs them."""
NON_POSIX_SHELLS = {"fish": "fish", "tcsh": "tcsh", "csh": "csh"}
"""Login shells that are not POSIX sh, and the Debian package that provides each."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (bound, then closed: also a "connection refused" port)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def keygen(path: Path | str, comment: str = "navish-test") -> Path:
    """An ed25519 key pair at `path` and `path`.pub, made with ssh-keygen."""
    path = Path(path)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return path


class Sshd:
    """One `sshd -D` instance: start, stop (by pid, with its session processes), restart."""

    def __init__(
        self,
        directory: Path,
        *,
        port: int | None = None,
        address: str = "127.0.0.1",
        log_level: str = "VERBOSE",
        owner: str | None = None,
        extra_config: tuple[str, ...] = (),
    ):
        self.dir = directory
        self.address = address
        self.port = port or free_port(address)
        self.log_level = log_level
        self.extra_config = extra_config
        self.host_key = directory / "host_ed25519"
        self.authorized_keys = directory / "authorized_keys"
        self.config = directory / "sshd_config"
        self.log = directory / "sshd.log"
        self.home = directory / "home"
        self.tmux_dir = directory / "tmux"
        self.proc: subprocess.Popen | None = None
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, 0o755)  # another user (login-shell tests) must reach authorized_keys
        for d in (self.home, self.tmux_dir):
            d.mkdir(exist_ok=True)
            os.chmod(d, 0o700)
            if owner:
                entry = pwd.getpwnam(owner)
                os.chown(d, entry.pw_uid, entry.pw_gid)
        if not self.host_key.exists():
            keygen(self.host_key, comment=f"host-{self.port}")
        self.authorized_keys.touch()
        os.chmod(self.authorized_keys, 0o644)

    def authorize(self, public_key: Path | str) -> None:
        with open(self.authorized_keys, "a") as f:
            f.write(Path(public_key).read_text().strip() + "\n")

    def write_config(self) -> None:
        lines = [
            f"ListenAddress {self.address}",
            f"Port {self.port}",
            f"HostKey {self.host_key}",
            f"AuthorizedKeysFile {self.authorized_keys}",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "PermitRootLogin yes",
            "MaxStartups 100:30:200",
            f"PidFile {self.dir / 'sshd.pid'}",
            f"LogLevel {self.log_level}",
            f"SetEnv HOME={self.home} TMUX_TMPDIR={self.tmux_dir}",
            *self.extra_config,
        ]
        self.config.write_text("\n".join(lines) + "\n")

    def start(self, timeout: float = 10.0) -> Sshd:
        os.makedirs("/run/sshd", exist_ok=True)
        self.write_config()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        self.proc = subprocess.Popen(
            [SSHD, "-D", "-E", str(self.log), "-f", str(self.config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
        wait_until(self._ready, timeout, f"sshd on port {self.port}")
        return self

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            err = self.proc.stderr.read().decode() if self.proc.stderr else ""
            raise RuntimeError(f"sshd exited with {self.proc.returncode}: {err}{self.log_text()}")
        try:
            with socket.create_connection((self.address, self.port), timeout=1) as s:
                return s.recv(8).startswith(b"SSH-")
        except OSError:
            return False

    def stop(self) -> None:
        """Kill the listener and every process below it (the per-connection sshd children)."""
        if self.proc is None:
            return
        pids = _descendants(self.proc.pid)
        for pid in [*pids, self.proc.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None
        for pid in pids:
            wait_until(lambda: not pid_alive(pid), 5, f"pid {pid} to exit")

    def restart(self) -> Sshd:
        self.stop()
        return self.start()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def accepted_logins(self) -> int:
        """How many connections authenticated so far (one per TCP connection)."""
        return self.log_text().count("Accepted publickey")

    def public_host_key(self) -> str:
        """`TYPE BASE64` of the host key."""
        return " ".join(Path(f"{self.host_key}.pub").read_text().split()[:2])

    def known_hosts_line(self) -> str:
        return f"[{self.address}]:{self.port} {self.public_host_key()}"

    def spec(self, key: Path | str, *, name: str = "dev", known_hosts: Path | str | None = None,
             user: str | None = None, **kw) -> RemoteConfig:
        """A `RemoteConfig` for this server; `known_hosts` defaults to a file trusting it alone."""
        if known_hosts is None:
            known_hosts = self.dir / "known_hosts"
            write_known_hosts(known_hosts, self)
        return RemoteConfig(
            name=name,
            host=self.address,
            port=self.port,
            user=user or getpass.getuser(),
            key=str(key),
            known_hosts=str(known_hosts),
            **kw,
        )


def make_pool(**kw) -> SshPool:
    """A pool that never reads the developer's ~/.ssh or agent, with a short connect timeout."""
    return SshPool(**{"config": None, "agent_path": None, "connect_timeout": 2.0, **kw})


async def eventually(condition: Callable[[], object], timeout: float = 5.0, what: str = "condition") -> None:
    """`wait_until` for a coroutine: poll `condition` without blocking the event loop."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.01)


def sign_host_key(server: Sshd, ca: Path, principal: str = "127.0.0.1") -> Path:
    """A host certificate for `server`'s key, signed by CA key `ca`; serve it with
    `server.extra_config += (f"HostCertificate {cert}",)` before `start()`."""
    subprocess.run(
        ["ssh-keygen", "-q", "-s", str(ca), "-I", "navish-test", "-h", "-n", principal, f"{server.host_key}.pub"],
        check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    return Path(f"{server.host_key}-cert.pub")


def write_known_hosts(path: Path | str, *servers: Sshd) -> Path:
    path = Path(path)
    path.write_text("".join(s.known_hosts_line() + "\n" for s in servers))
    return path


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@contextlib.contextmanager
def silent_listener(host: str = "127.0.0.1") -> Iterator[int]:
    """A port that accepts TCP connections (kernel backlog) and never says a word."""
    with socket.socket() as s:
        s.bind((host, 0))
        s.listen(16)
        yield s.getsockname()[1]


def non_posix_shell() -> tuple[str, str] | None:
    """(path, package) of an installed login shell that is not POSIX sh, or None."""
    for name, package in NON_POSIX_SHELLS.items():
        path = shutil.which(name)
        if path:
            return path, package
    return None


TEST_USER_PREFIX = "navish-t-"
"""Every account the tests create is named `navish-t-LABEL`, and removed when the tests end."""


def _ensure_user(name: str, shell: str) -> str:
    """A real account `name` with login shell `shell`, no home directory and a usable (`*`)
    password field (sshd with `UsePAM no` refuses a locked one even for key logins). Needs root."""
    try:
        pwd.getpwnam(name)
        subprocess.run(["usermod", "-s", shell, "-p", "*", name], check=True)
    except KeyError:
        subprocess.run(["useradd", "-M", "-s", shell, "-p", "*", name], check=True)
    return name


def _remove_user(name: str) -> None:
    """Kill what the tests left running as `name` (by pid: a tmux server, say), then delete it."""
    try:
        uid = pwd.getpwnam(name).pw_uid
    except KeyError:
        return
    pids = [pid for pid in _all_pids() if _owner(pid) == uid]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for pid in pids:  # reaped too: userdel refuses while even a zombie has the uid
        wait_until(lambda pid=pid: _owner(pid) != uid, 10, f"pid {pid} of {name} to be gone")
    subprocess.run(["userdel", name], check=True, stdout=subprocess.DEVNULL)


def _all_pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def _owner(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


@pytest.fixture(scope="session")
def test_user() -> Iterator[Callable[[str, str], str]]:
    """`make(label, shell) -> name`: a real account `navish-t-LABEL` with login shell `shell`
    (skips the test unless root). Every account made is removed at the end of the test run."""
    made: list[str] = []

    def make(label: str, shell: str) -> str:
        if os.geteuid() != 0:
            pytest.skip("needs root to create a test account")
        name = _ensure_user(TEST_USER_PREFIX + label, shell)
        if name not in made:
            made.append(name)
        return name

    yield make
    for name in made:
        _remove_user(name)


@pytest.fixture(scope="session")
def ssh_dir() -> Iterator[Path]:
    """A world-traversable scratch dir (pytest's tmp dirs are 0700, closed to other users)."""
    d = Path(tempfile.mkdtemp(prefix="navish-sshd-"))
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def client_key(ssh_dir: Path) -> Path:
    """The client identity every `sshd_factory` server accepts."""
    key = keygen(ssh_dir / "client_ed25519", comment="navish-client")
    os.chmod(key, 0o600)
    return key


@pytest.fixture
def sshd_factory(ssh_dir: Path, client_key: Path) -> Iterator[Callable[..., Sshd]]:
    """`make(**Sshd kwargs) -> Sshd`: started servers authorizing `client_key`, all stopped at teardown."""
    started: list[Sshd] = []
    base = Path(tempfile.mkdtemp(prefix="t-", dir=ssh_dir))
    os.chmod(base, 0o755)

    def make(*, authorize: bool = True, start: bool = True, **kw) -> Sshd:
        server = Sshd(base / f"sshd{len(started)}", **kw)
        if authorize:
            server.authorize(f"{client_key}.pub")
        started.append(server)
        return server.start() if start else server

    yield make
    for server in started:
        server.stop()
    shutil.rmtree(base, ignore_errors=True)
