"""navish's Claude Code hook: record a session's status in `<session_dir>/<tmux_session>.json`.

    python3 hook.py STATUS [--session-dir DIR] < event.json
    python3 -m navish.hook STATUS [--session-dir DIR] < event.json

One self-contained, stdlib-only file: it is copied as is to hosts without navish. The file format
is navi's (stwalsh4118/navi), and fields this hook does not own are kept.

- Session dir: `--session-dir`, else `$NAVISH_SESSION_DIR`, else `~/.claude-sessions`.
- Session name: inside tmux, the session of the hook's own pane (`$TMUX_PANE`); otherwise, or if
  tmux fails, `claude-` + the first 8 characters of the event's `session_id` (stable for one Claude
  session), or `claude-unknown`. A `/` in the name becomes `_` in the file name only.
- Metrics: each event adds the time since the previous one to `working_seconds` if the previous
  status was `working`, to `waiting_seconds` if it was `waiting` or `permission`; other statuses
  (`done`, `idle`) count in `total_seconds` only. Coming back from `offline` starts a new session.
- Teams: as navi, events with `teammate_name` upsert `team.agents`, and events of a teammate's own
  process (another `session_id` than the stored one) never change the lead's status.
- Safety: updates of one dir are serialised by `flock` on `.navish-hook.lock` and written atomically
  (`.tmp.XXXXXX` + fsync + rename). It always exits 0, never writes to stdout or stderr, and logs
  its own errors to `.navish-hook.log` (kept under 256 KiB by one rotation to `.navish-hook.log.1`).
"""

import json
import os
import sys
import time

RECENT_TOOLS = 10
LOG_LIMIT = 256 * 1024
WAITING = ("waiting", "permission")
TEAMMATE_ONLY_EVENTS = ("SubagentStart", "SubagentStop", "TeammateIdle", "TaskCompleted")
"""Events that only describe team members: without `teammate_name` they never touch the lead."""
FOREIGN_SESSION_EVENTS = ("PostToolUse", "Stop", "SessionEnd")
"""Events that, with another `session_id` than the stored one, come from a teammate's own process."""


# -- the pure part -------------------------------------------------------------------------


def apply_event(previous, status, event, now):
    """Return the new status object after `event` reported as `status`, or None to leave it as is.

    `previous` is the current object (None when there is no file) and is not modified; `now` is
    the time in epoch seconds. `tmux_session` is the caller's business.
    """
    doc = json.loads(json.dumps(previous)) if isinstance(previous, dict) else {}  # a deep copy
    ts = int(now)
    name = _str(event.get("hook_event_name"))
    sid = _str(event.get("session_id"))
    teammate = _str(event.get("teammate_name"))
    if teammate:
        return _teammate_event(doc, teammate, status, event, ts)
    if name in TEAMMATE_ONLY_EVENTS:
        return None
    stored = _str(doc.get("session_id"))
    if sid and stored and sid != stored and name in FOREIGN_SESSION_EVENTS:
        if name != "PostToolUse" and _stop_agents(doc, ts, session_id=sid):
            return doc
        return None
    if name == "UserPromptSubmit":
        _drop_stopped_agents(doc)
    _lead_event(doc, status, event, ts)
    if name == "PostToolUse":
        _track_tool(doc, _str(event.get("tool_name")))
        _infer_agents(doc, event, ts)
    return doc


def _lead_event(doc, status, event, ts):
    prev_status = _str(doc.get("status"))
    prev_ts = _int(doc.get("timestamp"))
    name = event.get("hook_event_name")
    message = _str(event.get("message"))
    if name == "Notification" and event.get("notification_type") == "permission_prompt":
        status = "permission"
    if name == "PermissionRequest" and not message and _str(event.get("tool_name")):
        message = "Claude needs your permission to use " + event["tool_name"]
    doc.update(
        session_id=_str(event.get("session_id")) or _str(doc.get("session_id")),
        status=status,
        message=message,
        cwd=_str(event.get("cwd")) or _str(doc.get("cwd")),
        timestamp=ts,
    )
    metrics = _child(doc, "metrics")
    clock = _child(metrics, "time")
    started = _int(clock.get("started"))
    working = _int(clock.get("working_seconds"))
    waiting = _int(clock.get("waiting_seconds"))
    if not started or prev_status == "offline":
        started, working, waiting = ts, 0, 0
    elif prev_ts and ts > prev_ts:
        if prev_status == "working":
            working += ts - prev_ts
        elif prev_status in WAITING:
            waiting += ts - prev_ts
    clock.update(
        started=started, total_seconds=max(0, ts - started), working_seconds=working, waiting_seconds=waiting
    )
    tools = _child(metrics, "tools")
    if not isinstance(tools.get("recent"), list):
        tools["recent"] = []
    if not isinstance(tools.get("counts"), dict):
        tools["counts"] = {}


def _track_tool(doc, tool):
    if not tool:
        return
    tools = doc["metrics"]["tools"]
    tools["counts"][tool] = _int(tools["counts"].get(tool)) + 1
    tools["recent"] = ([tool] + tools["recent"])[:RECENT_TOOLS]


def _teammate_event(doc, teammate, status, event, ts):
    if "status" not in doc:
        doc.update(status="working", message="", cwd=_str(event.get("cwd")), timestamp=ts)
    team = _child(doc, "team")
    team_name = _str(event.get("team_name"))
    if team_name or "name" not in team:
        team["name"] = team_name
    agent = _agent(team, teammate)
    if agent.get("status") == "stopped" and status != "working":
        return None  # a late event of a stopped agent; only a new spawn revives it
    agent.update(status=status, timestamp=ts)
    if _str(event.get("session_id")):
        agent["session_id"] = event["session_id"]
    return doc


def _infer_agents(doc, event, ts):
    """The lead spawning a teammate or messaging one tells what that teammate is doing."""
    tool_input = event.get("tool_input") if isinstance(event.get("tool_input"), dict) else {}
    response = event.get("tool_response") if isinstance(event.get("tool_response"), dict) else {}
    if response.get("status") == "teammate_spawned" and _str(tool_input.get("name")):
        team = _child(doc, "team")
        if _str(tool_input.get("team_name")) or "name" not in team:
            team["name"] = _str(tool_input.get("team_name"))
        agent = _agent(team, tool_input["name"])
        agent.update(status="working", timestamp=ts)
        if _str(response.get("session_id")):
            agent["session_id"] = response["session_id"]
        return
    if event.get("tool_name") != "SendMessage":
        return
    kind, recipient = tool_input.get("type"), _str(tool_input.get("recipient"))
    if kind == "shutdown_request" and recipient:
        _stop_agents(doc, ts, name=recipient)
    elif kind in ("message", "broadcast"):
        for agent in _agents(doc):
            if agent.get("status") != "stopped" and (kind == "broadcast" or agent.get("name") == recipient):
                agent.update(status="working", timestamp=ts)


def _stop_agents(doc, ts, **match):
    """Mark the agents whose fields equal `match` as stopped; return whether there was one."""
    found = False
    for agent in _agents(doc):
        if all(agent.get(k) == v for k, v in match.items()):
            agent.update(status="stopped", timestamp=ts)
            found = True
    return found


def _drop_stopped_agents(doc):
    team = doc.get("team")
    if not isinstance(team, dict) or not isinstance(team.get("agents"), list):
        return
    team["agents"] = [a for a in team["agents"] if not (isinstance(a, dict) and a.get("status") == "stopped")]
    if not team["agents"]:
        del doc["team"]


def _agents(doc):
    team = doc.get("team")
    agents = team.get("agents") if isinstance(team, dict) else None
    return [a for a in agents if isinstance(a, dict)] if isinstance(agents, list) else []


def _agent(team, name):
    """The agent called `name` in `team`, appended when missing."""
    if not isinstance(team.get("agents"), list):
        team["agents"] = []
    for agent in team["agents"]:
        if isinstance(agent, dict) and agent.get("name") == name:
            return agent
    agent = {"name": name}
    team["agents"].append(agent)
    return agent


def _child(parent, key):
    if not isinstance(parent.get(key), dict):
        parent[key] = {}
    return parent[key]


def _str(value):
    return value if isinstance(value, str) else ""


def _int(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return 0
    return int(value)


# -- the I/O part --------------------------------------------------------------------------


def main(argv=None, stdin=None):
    """Run the hook as Claude Code does; always returns 0."""
    argv = sys.argv[1:] if argv is None else list(argv)
    session_dir = default_session_dir()
    try:
        status, session_dir = parse_args(argv)
        stdin = sys.stdin if stdin is None else stdin
        text = "" if stdin.isatty() else stdin.read()
        event = json.loads(text) if text.strip() else {}
        if not isinstance(event, dict):
            raise ValueError("the hook event is not a JSON object")
        record(status, event, session_dir, time.time())
    except BaseException as exc:  # never break Claude Code, whatever happened
        log_error(session_dir, "hook %s failed: %s" % (argv, _describe(exc)))
    return 0


def default_session_dir():
    return os.environ.get("NAVISH_SESSION_DIR") or os.path.join(os.path.expanduser("~"), ".claude-sessions")


def parse_args(argv):
    """Return `(status, session_dir)` from `STATUS [--session-dir DIR]`."""
    session_dir, rest = default_session_dir(), []
    args = iter(argv)
    for arg in args:
        if arg == "--session-dir":
            session_dir = next(args, "")
        elif arg.startswith("--session-dir="):
            session_dir = arg.partition("=")[2]
        else:
            rest.append(arg)
    if len(rest) != 1 or not rest[0] or not session_dir:
        raise ValueError("usage: hook.py STATUS [--session-dir DIR]")
    return rest[0], os.path.expanduser(session_dir)


def record(status, event, session_dir, now):
    """Apply `event` to its session's status file under the dir lock."""
    import fcntl

    name = tmux_session_name(event)
    if not _str(event.get("cwd")):
        event["cwd"] = os.getcwd()
    os.makedirs(session_dir, exist_ok=True)
    path = os.path.join(session_dir, name.replace("/", "_") + ".json")
    lock = os.open(os.path.join(session_dir, ".navish-hook.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        previous = _read_status(path, session_dir)
        new = apply_event(previous or {"tmux_session": name}, status, event, now)
        if new is not None:
            new["tmux_session"] = name
            write_atomic(path, json.dumps(new, indent=2, ensure_ascii=False) + "\n")
    finally:
        os.close(lock)


def tmux_session_name(event, env=None):
    """The tmux session of the hook's pane, or the fallback described in the module docstring."""
    env = os.environ if env is None else env
    if env.get("TMUX"):
        import subprocess

        target = ["-t", env["TMUX_PANE"]] if env.get("TMUX_PANE") else []
        try:
            out = subprocess.run(
                ["tmux", "display-message", "-p", *target, "#{session_name}"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                timeout=3,
                env=env,
            )
            name = out.stdout.decode("utf-8", "replace").rstrip("\n")
            if out.returncode == 0 and name:
                return name
        except (OSError, subprocess.SubprocessError):
            pass
    return "claude-" + (_str(event.get("session_id"))[:8] or "unknown")


def _read_status(path, session_dir):
    """The current status object, or None when missing; an unreadable file is logged and replaced."""
    try:
        with open(path, "rb") as f:
            obj = json.loads(f.read())
    except FileNotFoundError:
        return None
    except ValueError as exc:
        obj = exc
    if isinstance(obj, dict):
        return obj
    log_error(session_dir, "replacing unreadable status file %s: %s" % (path, _describe(obj)))
    return None


def write_atomic(path, text):
    """Replace `path` with `text` so that a reader sees the old or the new content, never a part."""
    directory = os.path.dirname(path)
    while True:
        tmp = os.path.join(directory, ".tmp." + os.urandom(4).hex()[:6])
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def log_error(session_dir, message):
    """Append one entry to `<session_dir>/.navish-hook.log`; never raises."""
    try:
        os.makedirs(session_dir, exist_ok=True)
        log = os.path.join(session_dir, ".navish-hook.log")
        if os.path.exists(log) and os.path.getsize(log) > LOG_LIMIT:
            os.replace(log, log + ".1")
        with open(log, "a", encoding="utf-8") as f:
            f.write("%s pid %d: %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), os.getpid(), message))
    except Exception:
        pass


def _describe(exc):
    if isinstance(exc, (ValueError, OSError)):
        return "%s: %s" % (type(exc).__name__, exc)
    import traceback

    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip()


if __name__ == "__main__":
    sys.exit(main())
