"""Poll-cycle benchmark: navish's pooled asyncssh polling against an OpenSSH ControlMaster loop.

    .venv/bin/python bench/poll_bench.py [--hosts 1,10,50] [--sessions 5] [--cycles 20]

Starts real sshd instances on 127.0.0.1 listening on one port per simulated host (so every host
is a separate SSH endpoint and a separate pooled connection), with K tmux sessions and status
files behind them. For each host count it measures, in the same run:

- navish: the median `refresh` cycle (all hosts polled concurrently over the pool) and the
  client CPU per cycle (this process);
- OpenSSH: the same poll script sent by one `ssh -S <ControlMaster socket>` per host, all in
  parallel, with one master per host; client CPU = the `ssh` clients plus their masters.

Targets (issue 3): navish's cycle no slower than the ControlMaster loop at 1 and 50 hosts, and its
client CPU per cycle at most a quarter of the loop's. Needs root (sshd), tmux and OpenSSH.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from navish import poll_script
from navish.app import App
from navish.config import RemoteConfig
from navish.hosts.base import build_program
from navish.hosts.ssh import SshPool
from tests.sshd import Sshd, free_port, keygen

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


PORTS_PER_SSHD = 16  # sshd's MAX_LISTEN_SOCKS


def make_world(root: Path, ports: list[int], sessions: int, known_hosts: Path) -> tuple[list[Sshd], Path]:
    """sshd instances listening on every port, sharing one HOME and tmux server with K sessions
    and status files; a client key they accept; a known_hosts file trusting each port."""
    key = keygen(root / "client_ed25519")
    home, tmux_dir = root / "home", root / "tmux"
    status_dir = home / ".claude-sessions"
    status_dir.mkdir(parents=True)
    tmux_dir.mkdir(mode=0o700)
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "TMUX_TMPDIR": str(tmux_dir)}
    for i in range(sessions):
        name = f"session-{i}"
        subprocess.run(["tmux", "new-session", "-d", "-s", name, "sleep 100000"], env=env, check=True)
        status = {"tmux_session": name, "status": "working", "message": "", "cwd": "/tmp", "timestamp": int(time.time())}
        (status_dir / f"{name}.json").write_text(json.dumps(status))
    servers = []
    lines = []
    for n in range(0, len(ports), PORTS_PER_SSHD):
        chunk = ports[n : n + PORTS_PER_SSHD]
        server = Sshd(root / f"sshd{n}", port=chunk[0], log_level="ERROR", extra_config=tuple(f"Port {p}" for p in chunk[1:]))
        server.home, server.tmux_dir = home, tmux_dir
        server.authorize(f"{key}.pub")
        servers.append(server.start())
        lines += [f"[127.0.0.1]:{port} {server.public_host_key()}\n" for port in chunk]
    known_hosts.write_text("".join(lines))
    return servers, key


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a live process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def bench_navish(specs: list[RemoteConfig], cycles: int) -> tuple[float, float, int]:
    pool = SshPool(config=None, agent_path=None)
    app = App(poll_interval=60, command_timeout=30)
    for spec in specs:
        app.add_host(pool.host(spec), spec.cache_ttl)
    _, outcomes = await app.refresh()  # connect every host first
    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    times, cpu = [], []
    for _ in range(cycles):
        cpu0, t0 = time.process_time(), time.perf_counter()
        _, outcomes = await app.refresh()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - cpu0)
    sessions = sum(o.sessions for o in outcomes)
    await app.close()
    await pool.close_all()
    return statistics.median(times), statistics.median(cpu), sessions


def ssh_base(spec: RemoteConfig, socket: Path) -> list[str]:
    return [
        "ssh", "-F", "/dev/null", "-S", str(socket), "-p", str(spec.port), "-i", str(spec.key),
        "-o", f"UserKnownHostsFile={spec.known_hosts}", "-o", "StrictHostKeyChecking=yes",
        "-o", "BatchMode=yes", f"{spec.user}@{spec.host}",
    ]


async def bench_controlmaster(specs: list[RemoteConfig], cycles: int, tmp: Path) -> tuple[float, float]:
    masters: list[int] = []
    sockets = [tmp / f"cm-{spec.port}" for spec in specs]
    for spec, socket in zip(specs, sockets, strict=True):
        base = ssh_base(spec, socket)
        subprocess.run([*base[:1], "-fNM", "-o", "ControlPersist=600", *base[1:]], check=True)
        check = subprocess.run([*base, "-O", "check"], capture_output=True, text=True)
        masters.append(int(check.stderr.split("pid=")[1].split(")")[0]))
    program = build_program(poll_script.poll_script(_Probe())).text

    async def poll_one(spec: RemoteConfig, socket: Path) -> None:
        proc = await asyncio.create_subprocess_exec(
            *ssh_base(spec, socket), "/bin/sh -s", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await proc.communicate(program)
        assert proc.returncode == 0 and b"\nT 0\n" in out

    await asyncio.gather(*(poll_one(s, k) for s, k in zip(specs, sockets, strict=True)))  # warm up
    times, cpu = [], []
    try:
        for _ in range(cycles):
            cpu0 = children_cpu() + sum(proc_cpu(pid) for pid in masters)
            t0 = time.perf_counter()
            await asyncio.gather(*(poll_one(s, k) for s, k in zip(specs, sockets, strict=True)))
            times.append(time.perf_counter() - t0)
            cpu.append(children_cpu() + sum(proc_cpu(pid) for pid in masters) - cpu0)
    finally:
        for spec, socket in zip(specs, sockets, strict=True):
            subprocess.run([*ssh_base(spec, socket), "-O", "exit"], capture_output=True)
    return statistics.median(times), statistics.median(cpu)


class _Probe:
    """The host attributes `poll_script` reads, as an SSH host has them."""

    name = "bench"
    session_dir = "~/.claude-sessions"
    tmux = "tmux -u"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default="1,10,50", help="comma-separated host counts")
    parser.add_argument("--sessions", type=int, default=5, help="sessions per host")
    parser.add_argument("--cycles", type=int, default=20)
    args = parser.parse_args()
    counts = [int(n) for n in args.hosts.split(",")]
    root = Path(tempfile.mkdtemp(prefix="navish-bench-"))
    os.chmod(root, 0o755)
    ports = [free_port() for _ in range(max(counts))]
    known_hosts = root / "known_hosts"
    servers, key = make_world(root, ports, args.sessions, known_hosts)
    user = os.environ.get("USER") or "root"
    print(f"{args.sessions} sessions per host, {args.cycles} cycles, median per cycle; CPU = client side")
    print(f"{'hosts':>5}  {'navish ms':>10}  {'navish CPU s':>12}  {'ssh-CM ms':>10}  {'ssh-CM CPU s':>12}  {'CPU ratio':>9}")
    try:
        for n in counts:
            specs = [
                RemoteConfig(name=f"h{i}", host="127.0.0.1", port=port, user=user, key=str(key), known_hosts=str(known_hosts))
                for i, port in enumerate(ports[:n])
            ]
            nav_ms, nav_cpu, found = asyncio.run(bench_navish(specs, args.cycles))
            assert found == n * args.sessions, found
            cm_ms, cm_cpu = asyncio.run(bench_controlmaster(specs, args.cycles, root))
            print(f"{n:>5}  {nav_ms * 1000:>10.1f}  {nav_cpu:>12.4f}  {cm_ms * 1000:>10.1f}  {cm_cpu:>12.4f}  {nav_cpu / cm_cpu:>9.2f}")
    finally:
        for server in servers:
            server.stop()
        env = {"PATH": os.environ["PATH"], "TMUX_TMPDIR": str(root / "tmux")}
        subprocess.run(["tmux", "kill-server"], env=env, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
