"""Time navish's Claude Code hook per call, as Claude Code runs it: a new process, event JSON on stdin.

    python bench/hook_bench.py [-n RUNS] [--python PYTHON] [--flags "-I -S"] [--hook PATH]

The defaults are what `install-hooks` writes: this host's absolute `python3` with `-I -S`, and
navish's own hook (`--hook` times another copy, e.g. an older version, on the same events).

Two events are timed, each inside a pane of a private tmux server (the hook asks tmux for the
session name) and outside tmux: `PostToolUse` (the most frequent event) and `Stop`, which also
reads the turn the transcript gained (one assistant message, a tool result and an API request
record of about 20 KB, appended before each call). Prints the median and p95 in ms, Python start
included.
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

SESSION = "b2e88542-394c-45ed-9039-926f253dcf3e"


def event(name: str, transcript: str, **fields: object) -> bytes:
    payload = {"hook_event_name": name, "session_id": SESSION, "transcript_path": transcript, "cwd": "/tmp", **fields}
    return json.dumps(payload).encode()


def turn(i: int) -> str:
    """What one turn adds to a transcript (Claude Code 2.1's line format, trimmed)."""
    line = lambda obj: json.dumps(obj, separators=(",", ":")) + "\n"
    usage = {"input_tokens": 120, "cache_creation_input_tokens": 200, "cache_read_input_tokens": 1000,
             "output_tokens": 30, "service_tier": "standard"}
    return (
        line({"type": "user", "message": {"role": "user", "content": f"prompt {i}"}, "sessionId": SESSION,
              "timestamp": "2026-01-01T00:00:00.000Z"})
        + line({"type": "api-request", "sessionId": SESSION, "params": {"messages": ["x" * 20_000]}})
        + line({"type": "assistant", "message": {"id": f"msg_{i}", "type": "message", "role": "assistant",
                "model": "claude-opus-5-5", "content": [{"type": "text", "text": f"Answer {i}."}],
                "stop_reason": "end_turn", "usage": usage}, "requestId": f"req_{i}", "uuid": f"u{i}",
                "timestamp": "2026-01-01T00:00:01.000Z", "sessionId": SESSION})
        + line({"type": "system", "subtype": "turn_duration", "durationMs": 1200, "sessionId": SESSION})
    )


def system_python() -> str:
    """The absolute python3 that install-hooks would write (no pyenv shim in front of it)."""
    probe = ["python3", "-I", "-S", "-c", "import sys; print(sys.executable)"]
    return subprocess.run(probe, capture_output=True, text=True, check=True).stdout.strip()


def time_calls(argv: list[str], env: dict, runs: int, name: str, transcript: str) -> list[float]:
    times = []
    for i in range(runs):
        data = event(name, transcript, tool_name="Read", last_assistant_message=f"Answer {i}.")
        if name == "Stop":
            with open(transcript, "a") as f:
                f.write(turn(i))
        start = time.perf_counter()
        subprocess.run([*argv, "done" if name == "Stop" else "working"], input=data, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        times.append((time.perf_counter() - start) * 1000)
    return times


def report(label: str, times: list[float]) -> None:
    p95 = statistics.quantiles(times, n=20)[-1]
    print(f"{label:<26} median {statistics.median(times):6.1f} ms   p95 {p95:6.1f} ms   ({len(times)} runs)")


def bench(label: str, argv: list[str], env: dict, runs: int, tmp: str) -> None:
    for name in ("PostToolUse", "Stop"):
        transcript = os.path.join(tmp, f"{label}-{name}.jsonl")
        open(transcript, "w").close()
        report(f"{name} {label}", time_calls(argv, env, runs, name, transcript))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=100)
    parser.add_argument("--python", default=system_python())
    parser.add_argument("--flags", default="-I -S", help='interpreter flags ("" for none)')
    parser.add_argument("--hook", default=str(HOOK_SOURCE), help="the hook script to time")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="nvb") as tmp:
        env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
        env.update(TMUX_TMPDIR=tmp, NAVISH_SESSION_DIR=os.path.join(tmp, "sessions"), CLAUDE_PID=str(os.getpid()))
        argv = [args.python, *shlex.split(args.flags), args.hook]
        print(" ".join(argv), "STATUS")
        bench("outside tmux", argv, env, args.runs, tmp)
        if not shutil.which("tmux"):
            print("inside tmux: skipped, tmux is not installed")
            return
        subprocess.run(["tmux", "new-session", "-d", "-s", "bench", "sleep 600"], env=env, check=True)
        try:
            fmt = "#{socket_path},#{pid},0\t#{pane_id}"
            out = subprocess.run(["tmux", "display-message", "-p", "-t", "bench", fmt], env=env, check=True,
                                 capture_output=True, text=True).stdout
            tmux_var, pane = out.strip().split("\t")
            bench("inside tmux", argv, {**env, "TMUX": tmux_var, "TMUX_PANE": pane}, args.runs, tmp)
        finally:
            subprocess.run(["tmux", "kill-server"], env=env, capture_output=True)


if __name__ == "__main__":
    main()
