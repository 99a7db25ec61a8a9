"""Time navish's Claude Code hook per call, as Claude Code runs it: a new process, event JSON on stdin.

    python bench/hook_bench.py [-n RUNS] [--python PYTHON] [--flags "-I -S"]

The defaults are what `install-hooks` writes: this host's absolute `python3` with `-I -S`.

Each run is timed twice: inside a pane of a private tmux server (the hook asks tmux for the session
name) and outside tmux. Prints the median and p95 in ms, Python start included.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import tempfile
import time

from navish.hook_install import HOOK_SOURCE

EVENT = json.dumps({"hook_event_name": "PostToolUse", "session_id": "b", "cwd": "/tmp", "tool_name": "Read"}).encode()


def system_python() -> str:
    """The absolute python3 that install-hooks would write (no pyenv shim in front of it)."""
    probe = ["python3", "-I", "-S", "-c", "import sys; print(sys.executable)"]
    return subprocess.run(probe, capture_output=True, text=True, check=True).stdout.strip()


def time_calls(argv: list[str], env: dict, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, input=EVENT, env=env, check=True, stdout=subprocess.DEVNULL)
        times.append((time.perf_counter() - start) * 1000)
    return times


def report(label: str, times: list[float]) -> None:
    p95 = statistics.quantiles(times, n=20)[-1]
    print(f"{label:<14} median {statistics.median(times):6.1f} ms   p95 {p95:6.1f} ms   ({len(times)} runs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=100)
    parser.add_argument("--python", default=system_python())
    parser.add_argument("--flags", default="-I -S", help='interpreter flags ("" for none)')
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="nvb") as tmp:
        env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
        env.update(TMUX_TMPDIR=tmp, NAVISH_SESSION_DIR=os.path.join(tmp, "sessions"))
        argv = [args.python, *shlex.split(args.flags), str(HOOK_SOURCE), "working"]
        print(" ".join(argv))
        report("outside tmux", time_calls(argv, env, args.runs))
        if not shutil.which("tmux"):
            print("inside tmux    skipped: tmux is not installed")
            return
        subprocess.run(["tmux", "new-session", "-d", "-s", "bench", "sleep 600"], env=env, check=True)
        try:
            fmt = "#{socket_path},#{pid},0\t#{pane_id}"
            out = subprocess.run(["tmux", "display-message", "-p", "-t", "bench", fmt], env=env, check=True,
                                 capture_output=True, text=True).stdout
            tmux_var, pane = out.strip().split("\t")
            report("inside tmux", time_calls(argv, {**env, "TMUX": tmux_var, "TMUX_PANE": pane}, args.runs))
        finally:
            subprocess.run(["tmux", "kill-server"], env=env, capture_output=True)


if __name__ == "__main__":
    main()
