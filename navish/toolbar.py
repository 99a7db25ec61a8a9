"""The bottom status line and the attention notices, computed from the registry. Pure."""

from __future__ import annotations

from collections import Counter

from .model import ATTENTION_ORDER, HostState, Session
from .output import format_age
from .registry import Registry
from .sanitize import one_line

Fragments = list[tuple[str, str]]

_HOST_STYLE = {
    HostState.CONNECTED: "class:toolbar.ok",
    HostState.CONNECTING: "class:toolbar.pending",
    HostState.UNKNOWN: "class:toolbar.pending",
}


def toolbar_fragments(registry: Registry, mode: str, now: float) -> Fragments:
    """e.g. ` 2 need you │ 1 permission 1 waiting 3 working │ filter: all │ local● dev✗ │ polled 1s ago`"""
    sessions = registry.sessions(mode)
    live = [s for s in sessions if not s.offline]
    attention = sum(1 for s in live if s.needs_attention)
    counts = Counter(s.display_status for s in live)
    order = [status for status in ATTENTION_ORDER if counts[status]] + sorted(
        status for status in counts if status not in ATTENTION_ORDER
    )
    out: Fragments = []
    if attention:
        out.append(("class:toolbar.attention", f" {attention} need{'s' * (attention == 1)} you "))
    else:
        out.append(("class:toolbar", " all quiet "))
    out.append(("class:toolbar", "│ "))
    if order:
        out.append(("class:toolbar", " ".join(f"{counts[s]} {one_line(s, 12)}" for s in order) + " "))
    else:
        out.append(("class:toolbar", "no sessions "))
    out.append(("class:toolbar", f"│ filter: {mode} │"))
    for host in registry.hosts():
        style = _HOST_STYLE.get(host.state, "class:toolbar.bad")
        label = f" {one_line(host.name, 20)}"
        if host.state is HostState.CONNECTED:
            label += " ●" + (" stale" if host.is_stale(now) else "")
        elif host.state in (HostState.UNKNOWN, HostState.CONNECTING):
            label += " …"
        else:
            label += f" ✗ {host.state.value}"
        out.append((style, label))
    polled = [h.polled_at for h in registry.hosts() if h.polled_at is not None]
    age = f"polled {format_age(now - max(polled))} ago" if polled else "not polled yet"
    out.append(("class:toolbar", f" │ {age} "))
    return out


def toolbar_text(registry: Registry, mode: str, now: float) -> str:
    return "".join(text for _, text in toolbar_fragments(registry, mode, now))


def new_attention(before: dict[str, Session], after: dict[str, Session]) -> list[Session]:
    """Sessions that need the user now and did not before (or now for a different reason)."""
    return [s for ref, s in after.items() if ref not in before or before[ref].attention_reason != s.attention_reason]


def notice_line(session: Session) -> str:
    message = f": {one_line(session.message, 100)}" if session.message else ""
    return f"! {one_line(session.ref, 60)} needs you ({one_line(session.attention_reason)}){message}"
