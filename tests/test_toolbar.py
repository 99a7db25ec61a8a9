"""The bottom status line and the attention notices, from a hand-built registry."""

import re

from navish.model import HostState, Session
from navish.parsing import HostSessions
from navish.registry import Registry
from navish.toolbar import new_attention, notice_line, toolbar_fragments, toolbar_text

NOW = 10_000.0
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def s(name, status="working", host="local", **kw):
    kw.setdefault("status_file", f"{name}.json")
    fields = kw.pop("fields", {"tmux_session": name, "status": status})
    return Session(host, name, status=status, fields=fields, timestamp=1.0, **kw)


def make(local=(), dev=None, polled_at=NOW - 3):
    reg = Registry()
    reg.add_host("local", cache_ttl=10)
    reg.apply_poll("local", HostSessions(tuple(local)), polled_at=polled_at, duration=0.01)
    if dev is not None:
        reg.add_host("dev", cache_ttl=10)
        reg.apply_poll("dev", HostSessions(tuple(dev)), polled_at=polled_at - 5, duration=0.01)
    return reg


def test_counts_by_state_in_attention_order_and_need_you():
    reg = make([s("a", "working"), s("b", "permission"), s("c", "working"), s("d", "waiting"), s("e", "done"), s("f", "compacting")])
    text = toolbar_text(reg, "all", NOW)
    assert text.startswith(" 2 need you ")
    assert "1 permission 1 waiting 2 working 1 done 1 compacting" in text
    assert "filter: all" in text


def test_one_needs_you_and_all_quiet():
    assert toolbar_text(make([s("a", "error")]), "all", NOW).startswith(" 1 needs you ")
    assert toolbar_text(make([s("a", "idle")]), "all", NOW).startswith(" all quiet ")
    assert "no sessions" in toolbar_text(make(), "all", NOW)


def test_attention_fragment_is_styled():
    frags = toolbar_fragments(make([s("a", "waiting")]), "all", NOW)
    assert frags[0] == ("class:toolbar.attention", " 1 needs you ")


def test_team_agent_waiting_counts_as_needing_you():
    team = {"agents": [{"name": "t", "status": "permission"}]}
    text = toolbar_text(make([s("a", "done", fields={"team": team})]), "all", NOW)
    assert text.startswith(" 1 needs you ")


def test_gone_sessions_counted_but_never_need_you():
    text = toolbar_text(make([s("a", "permission", live=False)]), "all", NOW)
    assert text.startswith(" all quiet ") and "1 gone" in text


def test_filter_mode_limits_counts():
    reg = make([s("a", "permission")], dev=[s("b", "waiting", host="dev"), s("c", "idle", host="dev")])
    assert toolbar_text(reg, "all", NOW).startswith(" 2 need you ")
    local = toolbar_text(reg, "local", NOW)
    assert local.startswith(" 1 needs you ") and "filter: local" in local and "idle" not in local
    remote = toolbar_text(reg, "remote", NOW)
    assert remote.startswith(" 1 needs you ") and "1 waiting 1 idle" in remote and "filter: remote" in remote


def test_offline_host_sessions_do_not_count_and_host_shows_state():
    reg = make([s("a", "idle")], dev=[s("b", "permission", host="dev")])
    reg.mark_failed("dev", HostState.OFFLINE, "timed out")
    text = toolbar_text(reg, "all", NOW)
    assert text.startswith(" all quiet ")
    assert "permission" not in text
    assert "local ●" in text and "dev ✗ offline" in text


def test_host_states():
    reg = make([], dev=[])
    reg.add_host("gpu", cache_ttl=10)
    reg.mark_failed("dev", HostState.HOST_KEY_UNKNOWN, "unknown key")
    text = toolbar_text(reg, "all", NOW)
    assert "local ●" in text and "dev ✗ host key unknown" in text and "gpu …" in text
    styles = {t.strip().split()[0]: st for st, t in toolbar_fragments(reg, "all", NOW) if t.strip().split()[:1] in (["local"], ["dev"], ["gpu"])}
    assert styles == {"local": "class:toolbar.ok", "dev": "class:toolbar.bad", "gpu": "class:toolbar.pending"}


def test_stale_host_is_marked():
    reg = make([], polled_at=NOW - 60)
    assert "local ● stale" in toolbar_text(reg, "all", NOW)
    assert "stale" not in toolbar_text(make([], polled_at=NOW - 1), "all", NOW)


def test_poll_age_is_of_the_newest_poll():
    assert "polled 3s ago" in toolbar_text(make([], dev=[]), "all", NOW)
    assert "polled 2m ago" in toolbar_text(make([], polled_at=NOW - 150), "all", NOW)
    reg = Registry()
    reg.add_host("local", cache_ttl=10)
    assert "not polled yet" in toolbar_text(reg, "all", NOW)


def test_toolbar_is_sanitised():
    reg = make([s("x", "\x1b]0;pwn\x07evil\x1b[2J"), s("y", "wa\u202eit\u200f\u2067\x9b")])
    reg.add_host("bad\x1b[31mhost\u202e", cache_ttl=10)
    text = toolbar_text(reg, "all", NOW)
    assert not UNSAFE.search(text)
    assert "1 wa<U+202E>" in text


# -- notices ---------------------------------------------------------------------------------
def refs(*sessions):
    return {x.ref: x for x in sessions}


def test_new_attention_reports_newly_needing_sessions_only():
    before = refs(s("a", "permission"))
    after = refs(s("a", "permission"), s("b", "waiting"))
    assert [x.name for x in new_attention(before, after)] == ["b"]
    assert new_attention(after, after) == []
    assert new_attention(after, {}) == []


def test_new_attention_on_changed_reason():
    before = refs(s("a", "waiting"))
    after = refs(s("a", "permission"))
    assert [x.attention_reason for x in new_attention(before, after)] == ["permission"]


def test_new_attention_for_a_team_agent():
    team = {"agents": [{"name": "tester", "status": "waiting"}]}
    after = refs(s("a", "done", fields={"team": team}))
    (n,) = new_attention({}, after)
    assert n.attention_reason == "agent tester: waiting"


def test_new_attention_ignores_message_and_timestamp_changes():
    before = refs(Session("local", "a", status="waiting", message="one", timestamp=1, status_file="a.json"))
    after = refs(Session("local", "a", status="waiting", message="two", timestamp=9, status_file="a.json"))
    assert new_attention(before, after) == []


def test_registry_attention_refs_feed_new_attention():
    reg = make([s("a", "working")])
    before = reg.attention_refs()
    reg.apply_poll("local", HostSessions((s("a", "permission"), s("b", "idle"))), polled_at=NOW, duration=0.01)
    assert [x.ref for x in new_attention(before, reg.attention_refs())] == ["local:a"]


def test_notice_line():
    line = notice_line(Session("dev", "api", status="permission", message="Allow Bash?", status_file="api.json"))
    assert line == "! dev:api needs you (permission): Allow Bash?"
    assert notice_line(Session("local", "x", status="error", status_file="x.json")) == "! local:x needs you (error)"


def test_notice_line_is_sanitised_and_one_line():
    hostile = "\x1b]52;c;eA==\x07\x1b[2J" + "m" * 300 + "\nnext\rline\u202e\u200e\u061c\u2068"
    team = {"agents": [{"name": "ag\x1b[31ment\n", "status": "waiting"}]}
    session = Session("local", "n\x1b]0;t\x07ame\u200f", status="done", message=hostile, fields={"team": team}, status_file="n.json")
    line = notice_line(session)
    assert not UNSAFE.search(line) and "\n" not in line
    assert len(line) < 200
