"""The bottom status line and the attention notices, from a hand-built registry."""

import re

from navish.model import HostState, Session
from navish.parsing import HostSessions
from navish.registry import Registry
from navish.toolbar import (
    SPINNER,
    AttentionMemory,
    attention_count,
    new_attention,
    notice_line,
    progress_fragments,
    prompt_fragments,
    toolbar_fragments,
    toolbar_text,
)

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
    styles = {t.strip().split()[0]: st for st, t in toolbar_fragments(reg, "all", NOW, 120) if t.strip().split()[:1] in (["local"], ["dev"], ["gpu"])}
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


def fleet(n, down=(), connecting=(), stale=()):
    """A registry with this machine and `n` remotes `h000`...: each connected with one working
    session, except those named in `down` (offline), `connecting` and `stale`."""
    reg = make([s("a", "working")])
    for i in range(n):
        name = f"h{i:03}"
        reg.add_host(name, cache_ttl=10)
        if name in connecting:
            continue
        reg.apply_poll(name, HostSessions((s("x", "working", host=name),)), polled_at=NOW - (60 if name in stale else 1), duration=0.01)
        if name in down:
            reg.mark_failed(name, HostState.OFFLINE, "connection refused")
    return reg


def test_500_hosts_are_summed_up_within_the_width_and_the_troubled_ones_counted():
    reg = fleet(500, down={"h007", "h250", "h499"})
    for width in (80, 120, 200):
        frags = toolbar_fragments(reg, "all", NOW, width)
        text = text_of(frags)
        assert len(text) <= width and "\n" not in text, (width, text)
        assert " hosts 498● 3✗" in text, text  # this machine and 497 remotes up, 3 down
        assert text.startswith(" all quiet │ 498 working ")
    assert ("class:toolbar.bad", " 3✗") in toolbar_fragments(reg, "all", NOW, 120)
    assert "polled 1s ago" in toolbar_text(reg, "all", NOW, 120)


def test_hosts_still_connecting_and_stale_are_counted_apart():
    text = toolbar_text(fleet(500, down={"h001"}, connecting={"h002", "h003"}, stale={"h004"}), "all", NOW, 120)
    assert " hosts 497● 1 stale 2… 1✗" in text, text


def test_a_few_hosts_are_shown_one_by_one_as_before():
    reg = fleet(3, down={"h001"})
    text = toolbar_text(reg, "all", NOW, 120)
    assert " local ● h000 ● h001 ✗ offline h002 ● │ polled 1s ago " in text and len(text) <= 120
    assert " hosts " not in text
    assert toolbar_text(reg, "all", NOW, 60).count("hosts 3● 1✗") == 1  # the same hosts, a narrow terminal


def test_the_toolbar_never_overflows_even_when_its_counts_do_not_fit():
    reg = make([s(f"s{i}", status) for i, status in enumerate(["permission", "waiting", "error", "working", "idle", "done", "compacting"])])
    for width in (12, 30, 50):
        text = toolbar_text(reg, "all", NOW, width)
        assert len(text) <= width and text.startswith(" 3 need"), (width, text)
        assert text.endswith("…")


def test_the_width_defaults_to_the_terminals(monkeypatch):
    monkeypatch.setattr("shutil.get_terminal_size", lambda *a, **kw: __import__("os").terminal_size((70, 20)))
    text = text_of(toolbar_fragments(fleet(50), "all", NOW))
    assert len(text) <= 70 and " hosts 51●" in text


# -- the prompt and the progress line ---------------------------------------------------------
def text_of(fragments):
    return "".join(text for _, text in fragments)


def test_prompt_shows_how_many_sessions_need_you():
    assert prompt_fragments(0) == [("class:prompt", "navish> ")]
    assert text_of(prompt_fragments(3)) == "navish 3> "
    assert ("class:prompt.attention", "3") in prompt_fragments(3)


def test_attention_count_follows_the_filter_and_skips_offline_hosts():
    team = {"agents": [{"name": "t", "status": "waiting"}]}
    reg = make(
        [s("a", "permission"), s("b", "working", fields={"team": team}), s("c", "idle"), s("d", "waiting", live=False)],
        dev=[s("e", "waiting", host="dev")],
    )
    assert attention_count(reg, "all") == 3
    assert attention_count(reg, "local") == 2
    assert attention_count(reg, "dev") == 1
    reg.mark_failed("dev", HostState.OFFLINE, "timed out")
    assert attention_count(reg, "all") == 2
    assert toolbar_text(reg, "all", NOW).startswith(" 2 need you ")  # the toolbar and the prompt agree


def test_progress_line_says_what_the_command_waits_for():
    text = text_of(progress_fragments("remote add lab --host 10.0.0.9", 1.23, [("lab", HostState.UNKNOWN)]))
    assert text == f"{SPINNER[2]} remote add lab --host 10.0.0.9 · waiting for lab (connecting) · 1.2s · Ctrl-C cancels"
    text = text_of(progress_fragments("refresh", 0.5, [("local", HostState.CONNECTED), ("dev", HostState.OFFLINE)]))
    assert "waiting for local, dev (offline) · 0.5s" in text
    assert text_of(progress_fragments("ls", 0.31)).endswith(" ls · 0.3s · Ctrl-C cancels")


def test_progress_line_spins_and_stays_one_short_line():
    frames = {progress_fragments("ls", t / 10)[0][1] for t in range(10)}
    assert len(frames) == 10
    hosts = [(f"h{i}", HostState.CONNECTING) for i in range(9)]
    text = text_of(progress_fragments("x\x1b[2J" + "y" * 200, 2.0, hosts))
    assert "\x1b" not in text and "and 5 more" in text and len(text) < 200


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


def test_a_renamed_session_is_not_announced_again():
    """The same Claude Code process (pid) under a new name needs the user for the same reason."""
    before = refs(s("build", "permission", claude_pid=42))
    assert new_attention(before, refs(s("built", "permission", claude_pid=42))) == []
    (changed,) = new_attention(before, refs(s("built", "waiting", claude_pid=42)))  # a new reason is news
    assert changed.name == "built"


def test_a_renamed_session_is_recognised_by_its_status_files_session_id():
    before = refs(s("build", "waiting", fields={"status": "waiting", "session_id": "abc"}))
    after = refs(s("built", "waiting", fields={"status": "waiting", "session_id": "abc"}))
    assert new_attention(before, after) == []
    registry = refs(s("built", "waiting", fields={"claude_code": {"sessionId": "abc"}}))
    assert new_attention(before, registry) == []  # the registry's sessionId is the same id


def test_another_session_under_an_old_name_is_announced():
    before = refs(s("build", "permission", claude_pid=42))
    (fresh,) = new_attention(before, refs(s("build", "permission", claude_pid=43)))
    assert fresh.claude_pid == 43
    other_host = refs(s("build", "permission", host="dev", claude_pid=42))
    assert len(new_attention(before, other_host)) == 1  # a pid is only unique on its host


def test_sessions_without_an_identity_match_by_name():
    before = refs(s("a", "waiting"))
    assert new_attention(before, refs(s("a", "waiting", claude_pid=7))) == []  # gained a pid: the same session
    assert [x.name for x in new_attention(before, refs(s("b", "waiting")))] == ["b"]


def test_a_rename_seen_half_done_is_not_announced_again():
    """tmux renames first, the status file moves after: one poll sees `build` gone and `built`
    untracked, the next sees `built` asking again, which is not news."""
    asking = s("build", "permission", fields={"status": "permission", "session_id": "abc"})
    memory = AttentionMemory(refs(asking))
    gone = s("build", "permission", live=False, fields={"status": "permission", "session_id": "abc"})
    untracked = Session("local", "built", status_file=None)
    assert memory.update({}, [gone, untracked], NOW) == []
    renamed = s("built", "permission", fields={"status": "permission", "session_id": "abc"})
    assert memory.update(refs(renamed), [renamed], NOW + 0.4) == []
    assert memory.update(refs(renamed), [renamed], NOW + 0.8) == []


def test_an_answered_session_that_asks_again_is_announced():
    asking = s("api", "permission", claude_pid=9)
    memory = AttentionMemory(refs(asking))
    answered = s("api", "working", claude_pid=9)
    assert memory.update({}, [answered], NOW) == []
    again = s("api", "permission", claude_pid=9)
    assert memory.update(refs(again), [again], NOW + 1) == [again]


def test_a_vanished_session_is_forgotten_after_the_grace():
    asking = s("api", "permission", claude_pid=9)
    memory = AttentionMemory(refs(asking), grace=30)
    assert memory.update({}, [], NOW) == []
    back = s("api", "permission", claude_pid=9)
    assert memory.update(refs(back), [back], NOW + 31) == [back]


def test_memory_announces_new_sessions_once():
    memory = AttentionMemory()
    a = s("a", "waiting")
    assert memory.update(refs(a), [a], NOW) == [a]
    assert memory.update(refs(a), [a], NOW + 1) == []
