"""navish's Claude Code hook: record a session's status in `<session_dir>/<tmux_session>.json`.

    python3 hook.py STATUS [--session-dir DIR] < event.json
    python3 -m navish.hook STATUS [--session-dir DIR] < event.json

One self-contained, stdlib-only file: it is copied as is to hosts without navish. The file format
is navi's (stwalsh4118/navi), and fields this hook does not own are kept.

- Session dir: `--session-dir`, else `$NAVISH_SESSION_DIR`, else `~/.claude-sessions`.
- Session name: inside tmux, the session of the hook's own pane (`$TMUX_PANE`); otherwise, or if
  tmux fails, `claude-` + the first 8 characters of the event's `session_id` (stable for one Claude
  session), or `claude-unknown`. A `/` in the name becomes `_` in the file name only. When that
  file does not exist and the pane is gone (`tmux kill-session` runs `SessionEnd` after the pane
  died) or there is no tmux, the file recording this `$CLAUDE_PID` is used; `SessionEnd` also
  looks for its `session_id`, and writes nothing when no file is found.
- Status, per event (STATUS as install-hooks passes it, refined from the payload by `apply_event`;
  messages are one line of at most MESSAGE_LIMIT characters):

      SessionStart        idle, a new session (a compaction changes nothing but the time)
      UserPromptSubmit    working
      PreToolUse          working: clears a `permission` left by an approved prompt
      PermissionRequest   permission, "Bash: rm -rf build" (the command, the file, the URL ...);
                          for AskUserQuestion `waiting`, the question
      Notification        permission_prompt: `permission`, unless a request is already shown;
                          idle_prompt: `idle`, but nothing after `done`, `idle` or `error`;
                          auth_success: nothing; any other: STATUS (`waiting`), its message
      PostToolUse         working; counts the tool
      PostToolUseFailure  working, "Bash failed: <the error's first line>"; interrupted: `idle`
      Stop                done, the last line of Claude's answer
      StopFailure         error, the API error's first line
      SessionEnd          offline (never creates a file)

- Process: `tmux_pane` (`$TMUX_PANE`) and `claude_pid` (`$CLAUDE_PID`) of the lead are recorded.
- Metrics: each event adds the time since the previous one to `working_seconds` if the previous
  status was `working`, to `waiting_seconds` if it was `waiting` or `permission`; other statuses
  (`done`, `idle`, `error`) count in `total_seconds` only. Coming back from `offline`, or a
  `SessionStart` other than a compaction, starts a new session.
- Tokens: on `Stop`, `StopFailure` and `SessionEnd`, the transcript's lines added since the last
  call (`metrics.tokens.offset`, at most READ_LIMIT bytes per call) add their assistant messages'
  usage to `metrics.tokens` (`input`, `output`, `cache_read`, `cache_creation`, `model`), each
  message id once with the last usage seen for it. `SessionStart` starts counting at the
  transcript's current end, so a resumed conversation's history is not counted again.
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
MESSAGE_LIMIT = 200
"""Characters kept of a message (one line)."""
READ_LIMIT = 8 * 1024 * 1024
"""Bytes of a transcript read by one call at most; the rest waits for the next one."""
FLUSH_WAIT = 0.5
"""Seconds a Stop waits, at most, for Claude Code to write the turn's last message to the transcript."""
TAIL_WINDOW = 1024 * 1024
"""Bytes at the end of a transcript searched for that message."""
SCAN_LIMIT = 1000
"""Status files looked at, at most, when looking for a session's file by its ids."""
SCAN_FILE_LIMIT = 1024 * 1024
"""Bytes read of one status file during that look-up (navish skips larger files too)."""
WAITING = ("waiting", "permission")
FINISHED = ("done", "idle", "error")
"""Statuses an `idle_prompt` notification ("Claude is waiting for your input") leaves alone."""
TEAMMATE_ONLY_EVENTS = ("SubagentStart", "SubagentStop", "TeammateIdle", "TaskCompleted")
"""Events that only describe team members: without `teammate_name` they never touch the lead."""
FOREIGN_SESSION_EVENTS = ("PreToolUse", "PostToolUse", "PostToolUseFailure", "Stop", "StopFailure", "SessionEnd")
"""Events that, with another `session_id` than the stored one, come from a teammate's own process."""
ENDING_EVENTS = ("Stop", "SessionEnd")
"""Foreign events that stop the teammate whose `session_id` they carry."""
TOKEN_EVENTS = ("Stop", "StopFailure", "SessionEnd")
"""Events after which the transcript's new lines are counted."""
TOKEN_KEYS = (
    ("input", "input_tokens"),
    ("output", "output_tokens"),
    ("cache_read", "cache_read_input_tokens"),
    ("cache_creation", "cache_creation_input_tokens"),
)
"""`metrics.tokens` key ← the `message.usage` key it sums."""
SUMMARY_KEYS = (
    "command", "file_path", "notebook_path", "url", "pattern", "query", "path", "description", "prompt", "plan"
)
"""The `tool_input` fields that say best what a tool wants to do, most telling first."""
QUESTION_TOOLS = ("AskUserQuestion",)
"""Tools whose "permission" request is a question to the user."""


# -- the pure part -------------------------------------------------------------------------


def apply_event(previous, status, event, now, process=None, transcript=None):
    """Return the new status object after `event` reported as `status`, or None to leave it as is.

    `previous` is the current object (None when there is no file) and is not modified; `now` is
    the time in epoch seconds. `process` holds what the environment says of the lead
    (`tmux_pane`, `claude_pid`), recorded when the event is the lead's. `transcript` is the I/O
    of token counting, `transcript(tokens, path, skip)` (see `count_tokens`); without it no
    transcript is read. `tmux_session` is the caller's business.
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
    if sid and stored and sid != stored and _foreign(doc, name, process):
        if name in ENDING_EVENTS and _stop_agents(doc, ts, session_id=sid):
            return doc
        return None
    change = _lead_change(doc, status, event)
    if change is None:
        return None
    status, message = change
    if name == "UserPromptSubmit":
        _drop_stopped_agents(doc)
    _lead_event(doc, status, message, event, ts, process or {})
    if name in ("PostToolUse", "PostToolUseFailure"):
        _track_tool(doc, _str(event.get("tool_name")))
    if name == "PostToolUse":
        _infer_agents(doc, event, ts)
    path = _str(event.get("transcript_path"))
    new_session = name == "SessionStart" and event.get("source") != "compact"
    if transcript is not None and path and (name in TOKEN_EVENTS or new_session):
        transcript(_child(doc["metrics"], "tokens"), path, new_session)
    return doc


def _foreign(doc, name, process):
    """Whether an event with another `session_id` than the stored one is a teammate's own."""
    if name in FOREIGN_SESSION_EVENTS:
        return True
    if name == "SessionStart":  # a /clear in the lead's pane, or a teammate starting in its own
        pane, stored = _str((process or {}).get("tmux_pane")), _str(doc.get("tmux_pane"))
        return bool(pane and stored and pane != stored)
    return False


def _lead_change(doc, status, event):
    """`(status, message)` the lead's event stands for, or None when it changes nothing."""
    name = event.get("hook_event_name")
    previous = _str(doc.get("status"))
    tool = _str(event.get("tool_name"))
    tool_input = event.get("tool_input") if isinstance(event.get("tool_input"), dict) else {}
    message = one_line(_str(event.get("message")))
    if name == "SessionStart":
        if event.get("source") == "compact" and previous:
            return previous, _str(doc.get("message"))  # a compaction is not a new session
        return status, ""
    if name == "PermissionRequest":
        if tool in QUESTION_TOOLS:
            return "waiting", question_text(tool_input) or message or "Claude has a question"
        if tool and tool_input:
            return "permission", one_line(tool + ": " + one_line(tool_summary(tool_input)))
        if tool:
            return "permission", message or "Claude needs your permission to use " + tool
        return "permission", message or "Claude needs your permission"
    if name == "Notification":
        kind = event.get("notification_type")
        if kind == "permission_prompt":
            if previous in WAITING:
                return None  # the request's own message (the command, the question) says more
            return "permission", message
        if kind == "idle_prompt":
            if previous in FINISHED:
                return None  # 60 s after a turn: nothing new
            return "idle", message  # a turn left by Esc, which no hook reports
        if kind == "auth_success":
            return None
        return status, message
    if name == "PostToolUseFailure":
        if event.get("is_interrupt") is True:
            return "idle", one_line(tool + " interrupted") if tool else "Interrupted"
        label = tool + " failed" if tool else "Tool failed"
        error = one_line(_str(event.get("error")))
        return status, one_line(label + ": " + error) if error else label
    if name == "Stop":
        return status, tail_line(_str(event.get("last_assistant_message")))
    if name == "StopFailure":
        error = one_line(_str(event.get("last_assistant_message")))
        kind = _str(event.get("error"))
        return status, error or ("API error: " + kind if kind else "API error")
    return status, message


def _lead_event(doc, status, message, event, ts, process):
    prev_status = _str(doc.get("status"))
    prev_ts = _int(doc.get("timestamp"))
    name = event.get("hook_event_name")
    new_session = name == "SessionStart" and event.get("source") != "compact"
    doc.update(
        session_id=_str(event.get("session_id")) or _str(doc.get("session_id")),
        status=status,
        message=message,
        cwd=_str(event.get("cwd")) or _str(doc.get("cwd")),
        timestamp=ts,
    )
    if _str(process.get("tmux_pane")):
        doc["tmux_pane"] = process["tmux_pane"]
    if _int(process.get("claude_pid")) > 0:
        doc["claude_pid"] = _int(process["claude_pid"])
    metrics = _child(doc, "metrics")
    clock = _child(metrics, "time")
    started = _int(clock.get("started"))
    working = _int(clock.get("working_seconds"))
    waiting = _int(clock.get("waiting_seconds"))
    if not started or prev_status == "offline" or new_session:
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
    if new_session:
        metrics.pop("tokens", None)


def one_line(text, limit=MESSAGE_LIMIT):
    """The first non-blank line of `text`, stripped, at most `limit` characters; `…` marks a cut."""
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return ""
    line = lines[0]
    if len(line) > limit:
        return line[: limit - 1] + "…"
    return line + " …" if len(lines) > 1 and len(line) + 2 <= limit else line


def tail_line(text, limit=MESSAGE_LIMIT):
    """The last non-blank line of `text`, stripped, its last `limit` characters (`…` marks a cut)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    line = lines[-1]
    return line if len(line) <= limit else "…" + line[-(limit - 1):]


def tool_summary(tool_input):
    """What a tool call wants to do, in a few words: its command, file, URL, pattern ..."""
    for key in SUMMARY_KEYS:
        value = tool_input.get(key)
        if isinstance(value, str) and value.strip():
            return value
    for value in tool_input.values():
        if isinstance(value, str) and value.strip():
            return value
    return json.dumps(tool_input, ensure_ascii=False, sort_keys=True)


def question_text(tool_input):
    """The (first) question of an AskUserQuestion call: `{"questions": [{"question": ...}]}`."""
    questions = tool_input.get("questions")
    first = questions[0] if isinstance(questions, list) and questions else None
    if isinstance(first, dict):
        return one_line(_str(first.get("question")) or _str(first.get("header")))
    return one_line(_str(tool_input.get("question")))


def count_usage(tokens, data, watermark=""):
    """Add the usage of the assistant messages in `data` (whole JSONL lines) to `tokens`.

    Several lines share a `message.id` when a message streams in parts: each id counts once,
    with the last usage seen for it, also when its lines straddle two calls (`tokens.last`
    keeps the id and the usage already counted for it). Lines timestamped before `watermark`
    are skipped (a transcript read again from the start). `tokens` is updated in place.
    """
    seen = {}  # type: dict[str, list[int]]
    newest = ""
    for line in data.split(b"\n"):
        if b'"usage"' not in line or b'"assistant"' not in line:
            continue  # most lines, some of them big, are not assistant messages
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        message = entry.get("message") if isinstance(entry, dict) else None
        if not isinstance(message, dict) or entry.get("type") != "assistant":
            continue
        usage = message.get("usage")
        if not isinstance(usage, dict):
            continue
        stamp = _str(entry.get("timestamp"))
        if watermark and stamp and stamp < watermark:
            continue
        key = _str(message.get("id")) or _str(entry.get("uuid")) or str(len(seen))
        seen.pop(key, None)  # re-insert: the last part of a message decides its place
        seen[key] = [_int(usage.get(k)) for _, k in TOKEN_KEYS]
        model = _str(message.get("model"))
        if model and not model.startswith("<"):  # "<synthetic>": Claude Code's own error messages
            tokens["model"] = model
        newest = max(newest, stamp)
    if not seen:
        return
    last = tokens.get("last") if isinstance(tokens.get("last"), dict) else {}
    usage = last.get("usage")
    counted = usage if isinstance(usage, list) else []
    for key, values in seen.items():
        for i, (name, _) in enumerate(TOKEN_KEYS):
            already = _int(counted[i]) if key == last.get("id") and i < len(counted) else 0
            tokens[name] = max(0, _int(tokens.get(name)) + values[i] - already)
    key = list(seen)[-1]
    tokens["last"] = {"id": key, "usage": seen[key], "timestamp": max(newest, _str(last.get("timestamp")))}


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


def record(status, event, session_dir, now, env=None):
    """Apply `event` to its session's status file under the dir lock."""
    import fcntl

    env = os.environ if env is None else env
    if not _str(event.get("cwd")):
        event["cwd"] = os.getcwd()
    process = process_fields(env)
    name = pane_session(env)
    fallback = name is None
    if fallback:
        name = "claude-" + (_str(event.get("session_id"))[:8] or "unknown")
    os.makedirs(session_dir, exist_ok=True)
    path = os.path.join(session_dir, name.replace("/", "_") + ".json")
    ending = event.get("hook_event_name") == "SessionEnd"
    transcript_path = _str(event.get("transcript_path"))
    last_text = _str(event.get("last_assistant_message"))
    if transcript_path and last_text and event.get("hook_event_name") in ("Stop", "StopFailure"):
        wait_for_text(transcript_path, last_text, _counted(path, transcript_path))
    lock = os.open(os.path.join(session_dir, ".navish-hook.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        previous = _read_status(path, session_dir)
        if previous is None and (ending or fallback):
            # SessionEnd may look by session id; other events only for this very process's file
            found = find_session_file(session_dir, _str(event.get("session_id")) if ending else "", process)
            if found is not None:
                path, previous = found
                name = _str(previous.get("tmux_session")) or os.path.basename(path)[: -len(".json")]
        if previous is None and ending:
            return  # the session has no file (or it is gone): SessionEnd never creates one

        def transcript(tokens, file, skip):
            try:
                count_tokens(tokens, file, skip)
            except Exception as exc:  # the status matters more than the token count
                log_error(session_dir, "counting tokens in %s failed: %s" % (file, _describe(exc)))

        new = apply_event(previous or {"tmux_session": name}, status, event, now, process, transcript)
        if new is not None:
            new["tmux_session"] = name
            write_atomic(path, json.dumps(new, indent=2, ensure_ascii=False) + "\n")
    finally:
        os.close(lock)


def _counted(path, transcript_path):
    """Up to which byte the status file at `path` has counted `transcript_path` (0: none of it).

    Read without the lock (the file is replaced atomically) and silently: a hint only.
    """
    try:
        with open(path, "rb") as f:
            doc = json.loads(f.read())
        tokens = doc["metrics"]["tokens"]
        if tokens.get("transcript") == transcript_path:
            return _int(tokens.get("offset"))
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        pass
    return 0


def process_fields(env):
    """What the environment says of the Claude Code process: `tmux_pane`, `claude_pid`."""
    fields = {}
    if env.get("TMUX") and env.get("TMUX_PANE"):
        fields["tmux_pane"] = env["TMUX_PANE"]
    pid = env.get("CLAUDE_PID", "")
    if pid.isdigit() and int(pid) > 0:
        fields["claude_pid"] = int(pid)
    return fields


def pane_session(env):
    """The tmux session of the hook's pane; None outside tmux, or when the pane is gone."""
    if not env.get("TMUX"):
        return None
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
    except (OSError, subprocess.SubprocessError):
        return None
    name = out.stdout.decode("utf-8", "replace").rstrip("\n")
    return name if out.returncode == 0 and name else None


def find_session_file(session_dir, session_id, process):
    """`(path, object)` of the status file of this Claude Code process or session, or None.

    Looks at most SCAN_LIMIT `*.json` files for one recording this `claude_pid`, or with this
    `session_id` (at the top, or a teammate's in `team.agents`); the pid counts most, then the
    session id, then this pane, then the newest `timestamp`.
    """
    pid = _int(process.get("claude_pid"))
    pane = _str(process.get("tmux_pane"))
    needles = [n.encode() for n in (session_id, str(pid) if pid else "") if n]
    if not needles:
        return None
    try:
        names = os.listdir(session_dir)
    except OSError:
        return None
    best, best_rank = None, None
    for name in sorted(n for n in names if n.endswith(".json") and not n.startswith("."))[:SCAN_LIMIT]:
        path = os.path.join(session_dir, name)
        try:
            with open(path, "rb") as f:
                data = f.read(SCAN_FILE_LIMIT + 1)
        except OSError:
            continue
        if len(data) > SCAN_FILE_LIMIT or not any(n in data for n in needles):
            continue
        try:
            obj = json.loads(data)
        except ValueError:
            continue
        if not isinstance(obj, dict):
            continue
        same_pid = bool(pid) and _int(obj.get("claude_pid")) == pid
        same_session = 2 if session_id and obj.get("session_id") == session_id else 0
        if not same_session and session_id and any(a.get("session_id") == session_id for a in _agents(obj)):
            same_session = 1
        if not (same_pid or same_session):
            continue
        rank = (same_pid, same_session, bool(pane) and obj.get("tmux_pane") == pane, _int(obj.get("timestamp")))
        if best_rank is None or rank > best_rank:
            best, best_rank = (path, obj), rank
    return best


def count_tokens(tokens, path, skip=False, limit=None):
    """Count the usage in the lines `path` gained since `tokens["offset"]` (see `count_usage`).

    Reads at most `limit` (READ_LIMIT) bytes from the offset and stops at the last whole line;
    a partial last line waits for the next call. Another transcript than the one counted so far,
    or one shorter than the offset (rewritten), is read from the start, skipping messages older
    than the newest one already counted (`skip_before`, kept until the read has caught up).
    `skip` only moves the offset to the current end (0 when there is no transcript yet); otherwise
    a missing transcript changes nothing.
    """
    limit = READ_LIMIT if limit is None else limit
    for name, _ in TOKEN_KEYS:
        tokens[name] = _int(tokens.get(name))
    offset = _int(tokens.get("offset"))
    try:
        f = open(path, "rb")  # noqa: SIM115 (closed by the `with` below, once it is known to exist)
    except FileNotFoundError:
        if skip:  # a new session's transcript is written after SessionStart: count it all
            tokens.update(transcript=path, offset=0)
        return
    with f:
        size = os.fstat(f.fileno()).st_size
        if tokens.get("transcript") != path or size < offset:
            offset = 0
            last = tokens.get("last") if isinstance(tokens.get("last"), dict) else {}
            tokens["skip_before"] = _str(last.get("timestamp"))
        if skip:
            tokens.update(transcript=path, offset=size)
            tokens.pop("skip_before", None)
            return
        f.seek(offset)
        data = f.read(min(limit, max(0, size - offset)))
    end = data.rfind(b"\n") + 1
    if end == 0 and len(data) >= limit:
        end = len(data)  # one line longer than the limit: skipped, its rest will not parse
    count_usage(tokens, data[:end], _str(tokens.get("skip_before")))
    tokens.update(transcript=path, offset=offset + end)
    if offset + end >= size or not tokens.get("skip_before"):
        tokens.pop("skip_before", None)  # caught up: nothing older than what was counted is left


def wait_for_text(path, text, since=0, wait=None):
    """Wait until the transcript `path` holds `text` after byte `since`; whether it does.

    Claude Code writes a turn's last message to the transcript a few tens of ms after it starts
    the Stop hooks: a Stop waits for its `last_assistant_message` (outside the lock) for at most
    `wait` (FLUSH_WAIT) seconds, so that the turn's tokens are counted at once; past that, the
    next count takes them. Looks at the last TAIL_WINDOW bytes at most.
    """
    fragment = _fragment(text)
    if not fragment:
        return False
    deadline = time.monotonic() + (FLUSH_WAIT if wait is None else wait)
    while True:
        try:
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                f.seek(max(since if since <= size else 0, size - TAIL_WINDOW))
                if fragment in f.read(TAIL_WINDOW):
                    return True
        except OSError:
            return False
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


def _fragment(text):
    """The bytes the start of `text` is in a JSON transcript line (b"" for no text)."""
    first = one_line(text, 40).rstrip("…").strip()
    return json.dumps(first, ensure_ascii=False)[1:-1].encode("utf-8") if first else b""


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
