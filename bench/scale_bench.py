"""500 hosts in one process: time until every session is listed, peak memory, and how fast the
real shell echoes keys while all of it connects.

    .venv/bin/python bench/scale_bench.py [--hosts 500] [--sessions 20] [--watch]

Real sshd instances on 127.0.0.1 (16 ports each: every port is a separate host and pooled
connection to navish) share one HOME with S tmux sessions and status files. Figures:

- `navish -c 'events --json'`: seconds until H × S sessions were added, and its peak RSS (target
  ≤ 150 MB);
- the real shell in a tmux pane, started on the same config: while its hosts connect, one key
  typed every 100 ms, timed until it is on screen (p50, p99; target p99 < 50 ms). Measured twice
  in the same run: with the 500 servers on the same cores as the shell, and with the servers on a
  core of their own (as hosts are other machines: their CPU is not the client's);
- `navish -c ls` with no remotes: wall time (target ≤ 150 ms) and whether asyncssh was imported.

Hosts are polled (`watch = false`) unless --watch: a watcher per host is one python3 process each on
the servers, which this 2-core machine cannot give 500 of without measuring itself.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import queue
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.poll_bench import make_world
from tests.sshd import Sshd, free_port

NAVISH = str(Path(sys.executable).parent / "navish")


def config_env(root: Path, ports: list[int], key: Path, known: Path, watch: bool) -> dict[str, str]:
    home = root / "client"
    (home / ".config" / "navish").mkdir(parents=True, exist_ok=True)
    text = f"[settings]\nwatch = {'true' if watch else 'false'}\ncommand_timeout = 60\nconnect_timeout = 60\n"
    for i, port in enumerate(ports):
        text += f'\n[remotes.h{i}]\nhost = "127.0.0.1"\nport = {port}\nuser = "root"\nkey = "{key}"\nknown_hosts = "{known}"\n'
    (home / ".config" / "navish" / "config.toml").write_text(text)
    return {"PATH": os.environ["PATH"], "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_STATE_HOME": str(home / "state"), "TMUX_TMPDIR": str(root / "client-tmux"), "LANG": "C.UTF-8",
            "TERM": "xterm-256color"}


def time_to_list(env: dict[str, str], total: int) -> tuple[float, int]:
    started = time.monotonic()
    proc = subprocess.Popen([NAVISH, "-c", "events --json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    added = 0
    while added < total:
        event = json.loads(proc.stdout.readline())
        added += event["kind"] == "added" and event["session"] is not None
    elapsed = time.monotonic() - started
    peak = int(Path(f"/proc/{proc.pid}/status").read_text().split("VmHWM:")[1].split()[0])
    proc.terminate()
    proc.wait()
    return elapsed, peak


class Driver:
    """The shell's pane, driven through one tmux control-mode client: keys in, the screen out, and
    a wake-up each time the pane writes. No process is started per key (a new tmux client may
    wait long for its binary to be paged in), and nothing spins (a spinning probe would take a
    core of this 2-core machine from the shell it measures)."""

    def __init__(self, tmux: list[str]):
        self.proc = subprocess.Popen([*tmux, "-C", "attach", "-t", "d"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.writes = 0
        self.changed = threading.Condition()
        self.replies: queue.Queue[list[str]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.replies.get(timeout=30)  # the attach command's own reply

    def _read(self) -> None:
        assert self.proc.stdout is not None
        reply: list[str] | None = None
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            if reply is not None:
                if line.startswith(("%end ", "%error ")):
                    self.replies.put(reply)
                    reply = None
                else:
                    reply.append(line)
            elif line.startswith("%begin "):
                reply = []
            elif line.startswith("%output "):
                with self.changed:
                    self.writes += 1
                    self.changed.notify_all()

    def command(self, *words: str) -> list[str]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(" ".join(shlex.quote(w) for w in words).encode() + b"\n")
        self.proc.stdin.flush()
        return self.replies.get(timeout=30)

    def screen(self) -> str:
        return "\n".join(self.command("capture-pane", "-p", "-t", "d"))

    def wait_for(self, shown: Callable[[list[str]], bool], timeout: float = 30) -> list[str]:
        """Until the screen's lines are `shown`, looking again each time the pane writes (and
        every 10 ms besides, in case a write is told before it is drawn)."""
        deadline = time.monotonic() + timeout
        while True:
            seen = self.writes
            lines = self.screen().splitlines()
            if shown(lines):
                return lines
            if time.monotonic() > deadline:
                raise TimeoutError("the screen did not show what was waited for:\n" + "\n".join(lines))
            with self.changed:
                self.changed.wait_for(functools.partial(self._written_since, seen), timeout=0.01)

    def _written_since(self, seen: int) -> bool:
        return self.writes != seen

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait()


def prompt_shows(typed: str, lines: list[str]) -> bool:
    """The prompt line ends with `typed`."""
    return any(line.rstrip().endswith("> " + typed) for line in lines)


def toolbar(lines: list[str]) -> str:
    return next((line.strip() for line in lines if "filter: " in line), "")


def echo_latencies(env: dict[str, str], root: Path, keys: int) -> tuple[list[float], float, str, str]:
    """Seconds from each key sent to the shell until it shows, one key every 100 ms: `keys` of
    them, and on until no host is still connecting (at most 60 s more). Also how long that took,
    the toolbar at the end, and how long the shell ran and waited for a CPU meanwhile."""
    tmux = ["tmux", "-S", str(root / f"driver-{time.monotonic_ns()}.sock")]
    subprocess.run([*tmux, "new-session", "-d", "-s", "d", "-x", "200", "-y", "40", f"exec env -u TMUX {NAVISH}"], env=env, check=True)
    shell = int(subprocess.run([*tmux, "display", "-p", "-t", "d", "#{pane_pid}"], capture_output=True, text=True, check=True).stdout)
    try:
        driver = Driver(tmux)
        lines = driver.wait_for(lambda lines: bool(toolbar(lines)))  # the prompt is up
        result: list[float] = []
        typed = ""
        started = time.monotonic()
        until = time.monotonic() + keys / 10 + 60
        while len(result) < keys or ("…" in toolbar(lines) and time.monotonic() < until):
            if len(typed) == 100:  # a fresh line: the prompt line stays on the screen
                driver.command("send-keys", "-t", "d", "C-u")
                lines = driver.wait_for(lambda lines: any(line.rstrip().endswith(">") for line in lines))
                typed = ""
            typed += "abcdefghij"[len(result) % 10]
            t0 = time.monotonic()
            driver.command("send-keys", "-t", "d", "-l", typed[-1])
            lines = driver.wait_for(functools.partial(prompt_shows, typed))
            result.append(time.monotonic() - t0)
            time.sleep(max(0.1 - (time.monotonic() - t0), 0))
        ran, waited = (int(n) / 1e9 for n in Path(f"/proc/{shell}/schedstat").read_text().split()[:2])
        driver.close()
        return result, time.monotonic() - started, toolbar(lines), f"the shell ran {ran:.1f} s and waited {waited:.1f} s for a CPU"
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
        while Path(f"/proc/{shell}").exists():  # gone, with its connections, before what comes next
            time.sleep(0.05)


@contextlib.contextmanager
def hosts_on_their_own_core(servers: list[Sshd], world_tmux: int) -> Iterator[None]:
    """The servers (and all they start) on the last core, this process and the shell it starts
    on the others: the hosts stand in for other machines, whose CPU is not the client's."""
    cpus = os.sched_getaffinity(0)
    last = {max(cpus)}
    pids = [server.proc.pid for server in servers if server.proc is not None] + [world_tmux]
    for pid in pids:
        os.sched_setaffinity(pid, last)
    os.sched_setaffinity(0, cpus - last)
    try:
        yield
    finally:
        os.sched_setaffinity(0, cpus)
        for pid in pids:
            os.sched_setaffinity(pid, cpus)


def print_echo(where: str, echo: list[float], elapsed: float, toolbar: str, cpu: str) -> None:
    echo = sorted(echo)
    p99 = echo[min(len(echo) - 1, round(0.99 * (len(echo) - 1)))]
    print(f"key echo in the shell while they connect, {where}: p50 {statistics.median(echo) * 1000:.0f} ms, "
          f"p99 {p99 * 1000:.0f} ms, max {echo[-1] * 1000:.0f} ms ({len(echo)} keys)\n"
          f"    after {elapsed:.0f} s, {cpu}; toolbar: {toolbar}", flush=True)


def no_remotes_ls(root: Path) -> tuple[float, bool]:
    home = root / "bare"
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_STATE_HOME": str(home / "state"), "TMUX_TMPDIR": str(root / "bare-tmux")}
    subprocess.run([NAVISH, "-c", "ls"], env=env, capture_output=True)  # first run: config, bytecode
    times = []
    for _ in range(10):
        t0 = time.monotonic()
        subprocess.run([NAVISH, "-c", "ls"], env=env, capture_output=True)
        times.append(time.monotonic() - t0)
    imports = subprocess.run([sys.executable, "-X", "importtime", "-m", "navish", "-c", "ls"], env=env, capture_output=True, text=True)
    return statistics.median(times), "asyncssh" in imports.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--keys", type=int, default=100, help="keys typed while connecting")
    parser.add_argument("--watch", action="store_true")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="navish-scale-bench-"))
    os.chmod(root, 0o755)
    wall, ssh_loaded = no_remotes_ls(root)  # before any server runs: this machine to itself
    print(f"navish -c ls, no remotes: {wall * 1000:.0f} ms median wall, asyncssh imported: {ssh_loaded}", flush=True)
    ports = [free_port() for _ in range(args.hosts)]
    known = root / "known_hosts"
    servers, key = make_world(root, ports, args.sessions, known)
    world_env = {"PATH": os.environ["PATH"], "TMUX_TMPDIR": str(root / "tmux")}
    try:
        env = config_env(root, ports, key, known, args.watch)
        elapsed, peak_kb = time_to_list(env, args.hosts * args.sessions)
        print(f"{args.hosts} hosts × {args.sessions} sessions ({'watched' if args.watch else 'polled'}): "
              f"all listed in {elapsed:.1f} s, peak RSS {peak_kb / 1024:.0f} MB", flush=True)
        print_echo(f"all on the same {len(os.sched_getaffinity(0))} cores", *echo_latencies(env, root, args.keys))
        if len(os.sched_getaffinity(0)) > 1:
            world_tmux = int(subprocess.run(["tmux", "display", "-p", "#{pid}"], env=world_env, capture_output=True, text=True, check=True).stdout)
            with hosts_on_their_own_core(servers, world_tmux):
                print_echo("the hosts on a core of their own", *echo_latencies(env, root, args.keys))
    finally:
        for server in servers:
            server.stop()
        subprocess.run(["tmux", "kill-server"], env=world_env, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
