"""The registry: merged hosts, offline last-known data, resolving names, filters, sort and match."""

import pytest

from navish.errors import Ambiguous, NavishError, NotFound, UsageError
from navish.model import HostState, Session
from navish.parsing import HostSessions
from navish.registry import (
    FILTER_MODES,
    SORT_KEYS,
    Registry,
    host_in_mode,
    match_sessions,
    next_filter_mode,
    sort_sessions,
)


def s(name, status="idle", host="local", ts=None, cwd="", message="", **kw):
    kw.setdefault("status_file", f"{name}.json")
    return Session(host, name, status=status, cwd=cwd, message=message, timestamp=ts, fields={"status": status}, **kw)


def registry(**hosts):
    reg = Registry()
    for name, sessions in hosts.items():
        reg.add_host(name, cache_ttl=10)
        if sessions is not None:
            reg.apply_poll(name, HostSessions(tuple(sessions)), polled_at=100.0, duration=0.1)
    return reg


# -- snapshots -------------------------------------------------------------------------------
def test_apply_poll_replaces_the_hosts_snapshot():
    reg = registry(local=[s("a"), s("b")])
    reg.apply_poll("local", HostSessions((s("c"),), ("w",)), polled_at=200.0, duration=0.5)
    h = reg.host("local")
    assert [x.name for x in h.sessions] == ["c"]
    assert h.state is HostState.CONNECTED and h.polled_at == 200.0 and h.warnings == ("w",) and h.error is None


def test_mark_failed_keeps_last_known_sessions_marked_offline():
    reg = registry(local=[s("a")], dev=[s("api", "permission", host="dev")])
    reg.mark_failed("dev", HostState.OFFLINE, "connection refused")
    h = reg.host("dev")
    assert h.state is HostState.OFFLINE and h.error == "connection refused"
    assert h.polled_at == 100.0
    (api,) = h.sessions
    assert api.name == "api" and api.offline
    assert not api.needs_attention
    assert reg.attention_refs() == {}
    assert not reg.host("local").sessions[0].offline
    # a later good poll clears the offline mark and the error
    reg.apply_poll("dev", HostSessions((s("api", "permission", host="dev"),)), polled_at=300.0, duration=0.1)
    assert not reg.host("dev").sessions[0].offline and reg.host("dev").error is None
    assert set(reg.attention_refs()) == {"dev:api"}


def test_polls_of_unknown_or_removed_hosts_are_ignored():
    reg = registry(local=[])
    reg.apply_poll("ghost", HostSessions((s("x", host="ghost"),)), polled_at=1.0, duration=0.1)
    reg.mark_failed("ghost", HostState.OFFLINE, "x")
    assert reg.host_names() == ["local"]
    reg.remove_host("local")
    assert reg.host_names() == []


def test_counts_follow_every_update_in_every_mode():
    reg = registry(local=[s("a", "working")], dev=[s("api", "permission", host="dev"), s("web", "working", host="dev")], ci=[])
    assert reg.counts() == {"working": 2, "permission": 1, "needs you": 1}
    assert reg.counts("local") == {"working": 1} and reg.counts("dev") == {"working": 1, "permission": 1, "needs you": 1}
    reg.apply_poll("ci", HostSessions((s("build", "error", host="ci"),)), polled_at=200.0, duration=0.1)
    assert reg.counts("remote") == {"working": 1, "permission": 1, "error": 1, "needs you": 2}
    reg.mark_failed("dev", HostState.OFFLINE, "connection refused")  # offline sessions are not counted
    assert reg.counts() == {"working": 1, "error": 1, "needs you": 1}
    reg.remove_host("ci")
    assert reg.counts() == {"working": 1} and reg.counts("remote") == {} and reg.counts("ci") == {}
    reg.counts()["working"] += 5  # a caller's copy, never the registry's
    assert reg.counts()["working"] == 1


def test_name_and_attention_indexes_follow_every_update():
    reg = registry(local=[s("api", "permission")], dev=[s("api", host="dev"), s("web", "waiting", host="dev")])
    with pytest.raises(Ambiguous, match="local:api, dev:api"):
        reg.resolve("api")
    assert set(reg.attention_refs()) == {"local:api", "dev:web"}
    reg.apply_poll("local", HostSessions((s("other"),)), polled_at=200.0, duration=0.1)  # api gone here
    assert reg.resolve("api").ref == "dev:api" and reg.resolve("other").ref == "local:other"
    assert set(reg.attention_refs()) == {"dev:web"}
    reg.mark_failed("dev", HostState.OFFLINE, "connection refused")
    assert reg.attention_refs() == {} and set(reg.attention_refs(include_offline=True)) == {"dev:web"}
    reg.remove_host("dev")
    assert reg.attention_refs(include_offline=True) == {}
    with pytest.raises(NotFound):
        reg.resolve("web")


def test_add_host_keeps_known_sessions():
    reg = registry(dev=[s("a", host="dev")])
    reg.add_host("dev", cache_ttl=99)
    assert reg.host("dev").cache_ttl == 99 and len(reg.host("dev").sessions) == 1


def test_hosts_list_local_first():
    reg = registry(zeta=[], alpha=[], local=[])
    assert reg.host_names() == ["local", "alpha", "zeta"]


def test_unknown_host_is_not_found():
    with pytest.raises(NotFound, match="no host named 'nope'"):
        registry(local=[]).host("nope")


# -- resolve ---------------------------------------------------------------------------------
@pytest.fixture
def reg():
    return registry(
        local=[s("api"), s("notes"), s("webapp"), Session("local", "loose", status_file=None)],
        dev=[s("api", host="dev"), s("build", host="dev")],
        gpu=None,  # never reached
    )


def test_resolve_host_session(reg):
    found = reg.resolve("dev:api")
    assert (found.host, found.name) == ("dev", "api")
    assert reg.resolve("local:api").host == "local"


def test_resolve_bare_unique_name(reg):
    assert reg.resolve("build").ref == "dev:build"
    assert reg.resolve("notes").ref == "local:notes"
    assert reg.resolve("loose").ref == "local:loose"  # untracked sessions can be named too


def test_resolve_ambiguous_bare_name_lists_candidates(reg):
    with pytest.raises(Ambiguous) as exc:
        reg.resolve("api")
    text = str(exc.value)
    assert "local:api" in text and "dev:api" in text and "HOST:api" in text
    assert exc.value.exit_code == 1


def test_resolve_not_found_suggests_similar(reg):
    with pytest.raises(NotFound) as exc:
        reg.resolve("web")
    assert "no session named 'web'" in str(exc.value) and "did you mean local:webapp" in str(exc.value)
    with pytest.raises(NotFound) as exc:
        reg.resolve("zzz")
    assert "did you mean" not in str(exc.value)


def test_resolve_on_a_host_without_that_session(reg):
    with pytest.raises(NotFound, match="no session 'notes' on dev"):
        reg.resolve("dev:notes")


def test_resolve_on_a_host_never_reached_says_so(reg):
    reg.mark_failed("gpu", HostState.HOST_KEY_UNKNOWN, "gpu: host key not known")
    with pytest.raises(NotFound) as exc:
        reg.resolve("gpu:train")
    assert "not reached yet" in str(exc.value) and "host key not known" in str(exc.value)


def test_resolve_unknown_host(reg):
    with pytest.raises(NotFound, match="no host named 'mars'"):
        reg.resolve("mars:api")


def test_resolve_empty_name_is_a_usage_error(reg):
    with pytest.raises(UsageError):
        reg.resolve("dev:")


def test_resolve_errors_are_navish_errors(reg):
    for text in ("api", "zzz", "dev:zzz", "mars:x"):
        with pytest.raises(NavishError):
            reg.resolve(text)


# -- filter modes ------------------------------------------------------------------------------
def test_filter_modes(reg):
    assert {x.host for x in reg.sessions("all")} == {"local", "dev"}
    assert {x.host for x in reg.sessions("local")} == {"local"}
    assert {x.host for x in reg.sessions("remote")} == {"dev"}
    assert host_in_mode("local", "local") and not host_in_mode("dev", "local")
    assert host_in_mode("dev", "remote") and not host_in_mode("local", "remote")


def test_sessions_leave_out_untracked_unless_asked(reg):
    assert "loose" not in {x.name for x in reg.sessions()}
    assert "loose" in {x.name for x in reg.sessions(include_untracked=True)}


def test_filter_cycle():
    assert FILTER_MODES == ("all", "local", "remote")
    assert next_filter_mode("all") == "local"
    assert next_filter_mode("local") == "remote"
    assert next_filter_mode("remote") == "all"


# -- sort ------------------------------------------------------------------------------------
def test_sort_by_attention_then_most_recent_first():
    sessions = [
        s("done", "done", ts=50),
        s("work-old", "working", ts=10),
        s("weird", "compacting", ts=90),
        s("perm", "permission", ts=1),
        s("work-new", "working", ts=20),
        s("wait", "waiting", ts=5),
        s("gone", "permission", ts=99, live=False),
        s("err", "error", ts=3),
        s("idle", "idle", ts=3),
        s("stop", "stopped", ts=3),
    ]
    names = [x.name for x in sort_sessions(sessions)]
    assert names == ["perm", "wait", "err", "work-new", "work-old", "idle", "stop", "done", "weird", "gone"]


def test_sort_attention_counts_waiting_team_agents():
    team = {"agents": [{"name": "t", "status": "waiting"}]}
    agent = Session("local", "crew", status="done", fields={"team": team}, status_file="crew.json", timestamp=1)
    names = [x.name for x in sort_sessions([s("busy", "working", ts=9), agent])]
    assert names == ["crew", "busy"]


def test_sort_by_name_is_case_insensitive():
    names = [x.name for x in sort_sessions([s("beta"), s("Alpha"), s("gamma")], "name")]
    assert names == ["Alpha", "beta", "gamma"]


def test_sort_by_age_is_most_recent_first():
    names = [x.name for x in sort_sessions([s("old", ts=1), s("new", ts=30), s("mid", ts=10)], "age")]
    assert names == ["new", "mid", "old"]


def test_sort_by_status_in_attention_order_and_dir_with_recency_tiebreak():
    sessions = [s("a", "working", ts=1, cwd="/b"), s("b", "idle", ts=2, cwd="/a"), s("c", "working", ts=3, cwd="/a")]
    assert [x.name for x in sort_sessions(sessions, "status")] == ["c", "a", "b"]
    assert [x.name for x in sort_sessions(sessions, "dir")] == ["c", "b", "a"]


def test_sort_name_ties_across_hosts_are_stable():
    names = [x.ref for x in sort_sessions([s("api", host="dev", ts=1), s("api", ts=1)], "name")]
    assert names == ["dev:api", "local:api"]


def test_unknown_sort_key():
    assert SORT_KEYS == ("attention", "name", "age", "status", "dir")
    with pytest.raises(UsageError, match="unknown sort key 'size'"):
        sort_sessions([], "size")


# -- match -----------------------------------------------------------------------------------
MATCH = [
    s("api-server", "working", cwd="/home/u/api", message="Running tests"),
    s("Notes", "waiting", cwd="/home/u/notes", message="Which FILE?"),
    s("web", "permission", cwd="/srv/www", message="needs Bash"),
    s("old", "permission", cwd="/srv/old", live=False),
]


@pytest.mark.parametrize(
    "pattern,expected",
    [
        (None, {"api-server", "Notes", "web", "old"}),
        ("", {"api-server", "Notes", "web", "old"}),
        ("api", {"api-server"}),  # name
        ("NOTES", {"Notes"}),  # case-insensitive
        ("/srv", {"web", "old"}),  # cwd
        ("bash", {"web"}),  # message
        ("*file?", {"Notes"}),  # a glob matches the whole text
        ("which ?ile?", {"Notes"}),
        ("file?", set()),
        ("api*", {"api-server"}),
        ("*www", {"web"}),
        ("w[e]b", {"web"}),
        ("zzz", set()),
    ],
)
def test_match_pattern(pattern, expected):
    assert {x.name for x in match_sessions(MATCH, pattern)} == expected


def test_match_statuses():
    assert {x.name for x in match_sessions(MATCH, statuses=["waiting", "permission"])} == {"Notes", "web"}
    assert {x.name for x in match_sessions(MATCH, statuses=["GONE"])} == {"old"}
    assert {x.name for x in match_sessions(MATCH, "w", statuses=["permission"])} == {"web"}
    assert match_sessions(MATCH, statuses=["done"]) == []


# -- staleness -------------------------------------------------------------------------------
def test_staleness_by_ttl():
    reg = registry(local=[])
    h = reg.host("local")
    assert h.age(105.0) == 5.0 and not h.is_stale(105.0)
    assert not h.is_stale(110.0)
    assert h.is_stale(110.5)
    assert h.age(90.0) == 0.0  # clock went back


def test_a_watched_host_is_fresh_for_its_heartbeats_promise_not_its_ttl():
    reg = registry(local=[])  # TTL 10 s
    reg.heartbeat("local", 200.0, fresh_for=30.0)  # beats every 10 s: a TTL under that would flicker
    assert not reg.host("local").is_stale(225.0) and reg.host("local").is_stale(231.0)
    reg.apply_poll("local", HostSessions(()), polled_at=300.0, duration=0.1)  # polled again: its TTL
    assert reg.host("local").is_stale(311.0)


def test_never_polled_host_is_stale():
    reg = registry(gpu=None)
    assert reg.host("gpu").age(1.0) is None and reg.host("gpu").is_stale(1.0)
