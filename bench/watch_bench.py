"""Push, not poll: change latency and idle cost of navish's watch feed against its poll mode and a
navi-style OpenSSH ControlMaster `cat` loop, measured in the same run on real sshd hosts.

    .venv/bin/python bench/watch_bench.py [--hosts 1,10,50] [--delays 0,10] [--changes 50] [--idle 60]

Each simulated host is its own `sshd` on 127.0.0.1 with its own HOME (one tmux session and status
file), reached through a userspace TCP proxy adding D ms each way. Figures:

- change latency: a status file written on a host at t0 → the `navish -c 'events --json'` line
  read at t1; p50 and p99 over --changes changes spread over the hosts; for watch mode, poll mode
  (every 2 s) and a ControlMaster loop that `cat`s every host's status files every 500 ms (what
  navi does). Target: watch p50 ≤ D + 20 ms, p99 ≤ D + 100 ms.
- idle cost over --idle seconds with the largest host count, nothing changing: client CPU seconds
  (navish's process), server CPU seconds (every sshd tree: sshd, watchers and what they run), bytes
  through the proxies; against the ControlMaster loop polling every 2 s over the same time. Target:
  ≤ 5 % of the loop's on both ends.

Needs root (sshd), tmux, OpenSSH and python3.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.sshd import Sshd, free_port, keygen

NAVISH = str(Path(sys.executable).parent / "navish")
TICKS = os.sysconf("SC_CLK_TCK")


class Proxy:
    """A TCP proxy adding `delay` seconds each way and counting bytes, in its own thread."""

    def __init__(self, target: int, delay: float):
        self.target, self.delay, self.port, self.bytes = target, delay, free_port(), 0
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait()

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", self.port))
        ready.set()
        self.loop.run_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def forward() -> None:
            while True:
                due, data = await queue.get()
                if not data:
                    writer.close()
                    return
                await asyncio.sleep(max(due - time.monotonic(), 0))
                writer.write(data)
                await writer.drain()

        task = asyncio.ensure_future(forward())
        while data := await reader.read(65536):
            self.bytes += len(data)
            queue.put_nowait((time.monotonic() + self.delay, data))
        queue.put_nowait((0, b""))
        await task


def make_hosts(root: Path, n: int) -> tuple[list[Sshd], Path, Path]:
    key = keygen(root / "client_ed25519")
    known = root / "known_hosts"
    servers, lines = [], []
    for i in range(n):
        server = Sshd(root / f"h{i}", log_level="ERROR")
        server.authorize(f"{key}.pub")
        env = {"PATH": os.environ["PATH"], "HOME": str(server.home), "TMUX_TMPDIR": str(server.tmux_dir)}
        subprocess.run(["tmux", "new-session", "-d", "-s", "work", "sleep 100000"], env=env, check=True)
        write_status(server, "working")
        servers.append(server.start())
        lines.append(f"[127.0.0.1]:{server.port} {server.public_host_key()}\n")
    known.write_text("".join(lines))
    return servers, key, known


def write_status(server: Sshd, status: str) -> None:
    d = server.home / ".claude-sessions"
    d.mkdir(exist_ok=True)
    tmp = d / ".tmp"
    tmp.write_text(json.dumps({"tmux_session": "work", "status": status, "message": "", "timestamp": int(time.time())}))
    os.replace(tmp, d / "work.json")


def tree_cpu(root_pids: list[int]) -> float:
    """CPU seconds of every live process under `root_pids` (each thread's run time from
    schedstat, to the nanosecond: a 10 ms tick per process would be noise with 150 processes),
    and of the children they reaped (in ticks)."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry)] = fields
            children.setdefault(int(fields[1]), []).append(int(entry))
    total, todo = 0.0, list(root_pids)
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += run_time(pid) + sum(int(x) for x in stats[pid][13:15]) / TICKS
        todo += children.get(pid, [])
    return total


def run_time(pid: int) -> float:
    """Seconds the threads of a live process have run."""
    total = 0
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            total += int(Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()[0])
    except OSError:  # gone meanwhile
        pass
    return total / 1e9


def client_env(root: Path, servers: list[Sshd], proxies: list[Proxy], key: Path, known: Path, *, watch: bool) -> dict[str, str]:
    home = root / f"client-{'watch' if watch else 'poll'}-{proxies[0].delay}-{len(proxies)}"
    (home / ".config" / "navish").mkdir(parents=True, exist_ok=True)
    config = f"[settings]\npoll_interval = 2\nwatch = {'true' if watch else 'false'}\n"
    for i, proxy in enumerate(proxies):
        config += (f'\n[remotes.h{i}]\nhost = "127.0.0.1"\nport = {proxy.port}\nuser = "root"\n'
                   f'key = "{key}"\nknown_hosts = "{root / "known_proxied"}"\n')
    (root / "known_proxied").write_text("".join(f"[127.0.0.1]:{p.port} {s.public_host_key()}\n" for p, s in zip(proxies, servers, strict=True)))
    (home / ".config" / "navish" / "config.toml").write_text(config)
    return {"PATH": os.environ["PATH"], "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_STATE_HOME": str(home / "state"), "TMUX_TMPDIR": str(root / "client-tmux"), "LANG": "C.UTF-8"}


def navish_latencies(env: dict[str, str], servers: list[Sshd], changes: int, spread: float) -> list[float]:
    """Latencies of `changes` changes, each after a random pause of up to `spread` seconds (so a
    poll loop is met at every phase)."""
    rng = random.Random(11)
    for server in servers:
        write_status(server, "working")  # every run starts from the same state
    proc = subprocess.Popen([NAVISH, "-c", "events --json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    try:
        seen: set[str] = set()
        while len(seen) < len(servers):
            event = json.loads(proc.stdout.readline())
            if event["session"] == "work":
                seen.add(event["host"])
        time.sleep(4)  # every host watched (or polled) in its steady state
        result = []
        for k in range(changes):
            i = k % len(servers)
            status = ("permission", "working")[(k // len(servers)) % 2]
            time.sleep(rng.uniform(0, spread))
            t0 = time.time()
            write_status(servers[i], status)
            while True:
                event = json.loads(proc.stdout.readline())
                if event["host"] == f"h{i}" and event["session"] == "work" and event["status"] == status:
                    result.append(time.time() - t0)
                    break
        return result
    finally:
        proc.terminate()
        proc.wait()


def controlmaster(servers: list[Sshd], proxies: list[Proxy], key: Path, root: Path) -> list[list[str]]:
    bases = []
    for i, proxy in enumerate(proxies):
        socket = root / f"cm-{proxy.port}-{i}"
        base = ["ssh", "-F", "/dev/null", "-S", str(socket), "-p", str(proxy.port), "-i", str(key), "-o",
                f"UserKnownHostsFile={root / 'known_proxied'}", "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "root@127.0.0.1"]
        subprocess.run([base[0], "-fNM", "-o", "ControlPersist=600", *base[1:]], check=True)
        bases.append(base)
    return bases


def cm_latencies(bases: list[list[str]], servers: list[Sshd], changes: int, interval: float) -> list[float]:
    """navi's way: every `interval`, `cat` each host's status files; a change written at a random
    point of the loop is seen at the next round that reads it."""
    for server in servers:
        write_status(server, "working")
    rng = random.Random(7)
    result = []
    for k in range(changes):
        i = k % len(servers)
        status = ("permission", "working")[(k // len(servers)) % 2]
        t0 = time.time()
        write_status(servers[i], status)
        time.sleep(rng.uniform(0, interval))  # where the loop stood when the file changed
        while True:
            out = subprocess.run([*bases[i], "cat ~/.claude-sessions/*.json"], capture_output=True, text=True).stdout
            if f'"status": "{status}"' in out:
                result.append(time.time() - t0)
                break
            time.sleep(interval)
    return result


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered) * 1000:7.1f} ms  p99 {p99 * 1000:7.1f} ms"


def idle_cost(env: dict[str, str], servers: list[Sshd], proxies: list[Proxy], seconds: float) -> tuple[float, float, int]:
    proc = subprocess.Popen([NAVISH, "-c", "events --json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    seen: set[str] = set()
    while len(seen) < len(servers):
        event = json.loads(proc.stdout.readline())
        if event["session"] == "work":
            seen.add(event["host"])
    time.sleep(5)
    roots = [s.proc.pid for s in servers if s.proc]
    c0, s0, b0 = tree_cpu([proc.pid]), tree_cpu(roots), sum(p.bytes for p in proxies)
    time.sleep(seconds)
    c1, s1, b1 = tree_cpu([proc.pid]), tree_cpu(roots), sum(p.bytes for p in proxies)
    proc.terminate()
    proc.wait()
    return c1 - c0, s1 - s0, b1 - b0


def cm_idle_cost(bases: list[list[str]], servers: list[Sshd], proxies: list[Proxy], seconds: float) -> tuple[float, float, int]:
    roots = [s.proc.pid for s in servers if s.proc]
    masters = [int(subprocess.run([*b, "-O", "check"], capture_output=True, text=True).stderr.split("pid=")[1].split(")")[0]) for b in bases]
    import resource

    def own() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime + tree_cpu(masters)

    c0, s0, b0 = own(), tree_cpu(roots), sum(p.bytes for p in proxies)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        procs = [subprocess.Popen([*b, "cat ~/.claude-sessions/*.json"], stdout=subprocess.DEVNULL) for b in bases]
        for p in procs:
            p.wait()
        time.sleep(max(2 - (time.monotonic() - started), 0))
    return own() - c0, tree_cpu(roots) - s0, sum(p.bytes for p in proxies) - b0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default="1,10,50")
    parser.add_argument("--delays", default="0,10", help="ms added each way by the proxy")
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--idle", type=float, default=60.0, help="seconds of the idle-cost measurement (0: skip)")
    args = parser.parse_args()
    counts = [int(n) for n in args.hosts.split(",")]
    delays = [float(d) / 1000 for d in args.delays.split(",")]
    root = Path(tempfile.mkdtemp(prefix="navish-watch-bench-"))
    os.chmod(root, 0o755)
    servers, key, known = make_hosts(root, max(counts))
    try:
        print(f"change latency, {args.changes} changes per row (t0: status file written; t1: the event read)", flush=True)
        for delay in delays:
            proxies_all = [Proxy(s.port, delay) for s in servers]
            for n in counts:
                hosts, proxies = servers[:n], proxies_all[:n]
                label = f"{n:>3} hosts, D={delay * 1000:.0f} ms"
                watch = navish_latencies(client_env(root, hosts, proxies, key, known, watch=True), hosts, args.changes, 0.1)
                poll = navish_latencies(client_env(root, hosts, proxies, key, known, watch=False), hosts, min(args.changes, 20), 2.0)
                bases = controlmaster(hosts, proxies, key, root)
                cm = cm_latencies(bases, hosts, min(args.changes, 20), 0.5)
                for b in bases:
                    subprocess.run([*b, "-O", "exit"], capture_output=True)
                print(f"{label}  watch {percentiles(watch)}  │ poll 2 s {percentiles(poll)}  │ ControlMaster 500 ms {percentiles(cm)}", flush=True)
        if args.idle:
            n = max(counts)
            proxies = [Proxy(s.port, 0) for s in servers[:n]]
            nav = idle_cost(client_env(root, servers[:n], proxies, key, known, watch=True), servers[:n], proxies, args.idle)
            bases = controlmaster(servers[:n], proxies, key, root)
            cm = cm_idle_cost(bases, servers[:n], proxies, args.idle)
            for b in bases:
                subprocess.run([*b, "-O", "exit"], capture_output=True)
            print(f"idle {n} hosts, {args.idle:.0f} s: client CPU navish {nav[0]:.3f} s vs ControlMaster/2 s {cm[0]:.3f} s "
                  f"({nav[0] / max(cm[0], 1e-9):.1%}); server CPU {nav[1]:.3f} s vs {cm[1]:.3f} s ({nav[1] / max(cm[1], 1e-9):.1%}); "
                  f"bytes {nav[2]} vs {cm[2]} ({nav[2] / max(cm[2], 1):.1%})")
    finally:
        for server in servers:
            server.stop()
            env = {"PATH": os.environ["PATH"], "TMUX_TMPDIR": str(server.tmux_dir)}
            subprocess.run(["tmux", "kill-server"], env=env, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
