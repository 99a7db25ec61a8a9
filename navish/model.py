"""The session model: what one Claude Code session in tmux is, and how urgently it wants the user.

Pure data, no I/O. A `Session` keeps the whole status-file object in `fields`, so fields navish
does not know survive every rewrite and reach `ls --json`.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Mapping

LOCAL = "local"
"""The name of the machine navish runs on, as used in `HOST:SESSION`."""

ATTENTION_ORDER = ("permission", "waiting", "error", "working", "idle", "stopped", "done")
"""Known statuses, most urgent first."""

NEEDS_ATTENTION = frozenset({"permission", "waiting", "error"})
AGENT_NEEDS_ATTENTION = frozenset({"permission", "waiting"})

GONE = "gone"
"""Shown for a status file whose tmux session no longer exists."""

UNTRACKED = "untracked"
"""Shown for a live tmux session without a status file (`ls --all`)."""

OFFLINE = "offline"

STATUS_NAMES = (*ATTENTION_ORDER, OFFLINE, GONE, UNTRACKED)
"""Every status navish shows, for completion and help."""


def attention_rank(status: str) -> int:
    """Sort rank of a status: known ones in attention order, then unknown ones, then gone/untracked."""
    try:
        return ATTENTION_ORDER.index(status)
    except ValueError:
        pass
    if status in (OFFLINE, GONE, UNTRACKED):
        return len(ATTENTION_ORDER) + 1 + (OFFLINE, GONE, UNTRACKED).index(status)
    return len(ATTENTION_ORDER)


class HostState(enum.Enum):
    """How navish last found a host; the value is what the user reads."""

    UNKNOWN = "unknown"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    OFFLINE = "offline"
    AUTH_FAILED = "auth failed"
    BAD_SETTINGS = "bad ssh settings"
    """A key, known_hosts file or ssh config of ours that cannot be used: not the server's doing."""
    HOST_KEY_UNKNOWN = "host key unknown"
    HOST_KEY_CHANGED = "host key CHANGED"
    HOST_KEY_REVOKED = "host key REVOKED"
    HOST_CERT_UNTRUSTED = "host certificate untrusted"

    @property
    def reachable(self) -> bool:
        return self is HostState.CONNECTED


@dataclass(frozen=True)
class Agent:
    """A team member or external agent reported inside a session's status file."""

    name: str
    status: str
    timestamp: float | None = None


@dataclass(frozen=True)
class Session:
    """One session as last seen on its host.

    `status` is what the status file says; `display_status` adds what navish knows on top
    (tmux session gone, host offline, no status file).
    """

    host: str
    name: str
    status: str = ""
    message: str = ""
    cwd: str = ""
    timestamp: float | None = None
    fields: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    status_file: str | None = None
    """File name inside the host's session dir; None for an untracked tmux session."""
    mtime: float | None = None
    live: bool = True
    """Whether the tmux session exists on the host."""
    offline: bool = False
    """Whether the host was unreachable at the last poll (the session is last known data)."""
    tmux_pane: str = ""
    """The pane Claude Code runs in (`%N`), when known."""
    claude_pid: int | None = None
    """The live Claude Code process whose registry file gave the status; None without one."""
    status_since: float | None = None
    """When the status last changed (epoch seconds), when known."""

    @property
    def source(self) -> str:
        """Where the status comes from: `registry` (Claude Code's own), `hook`, `both`, or ""."""
        if self.claude_pid is not None:
            return "both" if self.status_file else "registry"
        return "hook" if self.status_file else ""

    @property
    def tracked(self) -> bool:
        """Whether anything reports this session's status (else: a bare tmux session)."""
        return bool(self.source)

    @property
    def ref(self) -> str:
        return f"{self.host}:{self.name}"

    @property
    def team_agents(self) -> tuple[Agent, ...]:
        team = self.fields.get("team")
        agents = team.get("agents") if isinstance(team, dict) else None
        if not isinstance(agents, list):
            return ()
        return tuple(
            Agent(str(a.get("name", "")), str(a.get("status", "")), as_number(a.get("timestamp")))
            for a in agents
            if isinstance(a, dict)
        )

    @property
    def display_status(self) -> str:
        if not self.tracked:
            return UNTRACKED
        if not self.live:
            return GONE
        return self.status or "?"

    @property
    def needs_attention(self) -> bool:
        """The session waits for the user and its host is reachable."""
        return not self.offline and self.asks_for_user

    @property
    def asks_for_user(self) -> bool:
        """The session (or a team agent) last said it waits for the user, reachable or not."""
        if not self.live:
            return False
        if self.status in NEEDS_ATTENTION:
            return True
        return any(a.status in AGENT_NEEDS_ATTENTION for a in self.team_agents)

    @property
    def own_rank(self) -> int:
        return attention_rank(self.display_status)

    @property
    def rank(self) -> int:
        """Attention rank, counting a team agent that waits for the user like the session itself."""
        own = self.own_rank
        if self.offline or not self.live:
            return own
        agents = [attention_rank(a.status) for a in self.team_agents if a.status in AGENT_NEEDS_ATTENTION]
        return min([own, *agents])

    @property
    def attention_reason(self) -> str:
        """Why the session needs the user, e.g. `permission` or `agent tester: waiting`."""
        if self.status in NEEDS_ATTENTION:
            return self.status
        for agent in self.team_agents:
            if agent.status in AGENT_NEEDS_ATTENTION:
                return f"agent {agent.name}: {agent.status}"
        return ""

    def recency(self) -> float:
        """When the status last changed, as well as it is known."""
        for when in (self.status_since, self.timestamp, self.mtime):
            if when is not None:
                return when
        return 0.0


def as_number(value: Any) -> float | None:
    """A finite number from untrusted JSON, else None (JSON's 1e400 decodes to infinity)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        return None
    return number if math.isfinite(number) else None


def parse_ref(text: str) -> tuple[str | None, str]:
    """Split `HOST:SESSION` into (host, session); a bare `SESSION` gives (None, session).

    tmux forbids `:` in session names, so the first `:` is always the separator.
    """
    host, sep, name = text.partition(":")
    if not sep:
        return None, text
    return host, name
