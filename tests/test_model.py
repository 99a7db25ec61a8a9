"""The session model: statuses, attention order and ranks, team agents, `HOST:SESSION` refs."""

import pytest

from navish.model import (
    ATTENTION_ORDER,
    GONE,
    OFFLINE,
    STATUS_NAMES,
    UNTRACKED,
    Session,
    attention_rank,
    parse_ref,
)


def session(status="working", *, name="s", host="local", team=None, live=True, offline=False, status_file="s.json", **kw):
    fields = {"tmux_session": name, "status": status}
    if team is not None:
        fields["team"] = team
    return Session(host, name, status=status, fields=fields, live=live, offline=offline, status_file=status_file, **kw)


def test_attention_order_is_the_documented_one():
    assert ATTENTION_ORDER == ("permission", "waiting", "error", "working", "idle", "stopped", "done")
    ranks = [attention_rank(s) for s in ATTENTION_ORDER]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)


def test_unknown_status_ranks_after_every_known_one_and_before_gone():
    unknown = attention_rank("compacting")
    assert all(unknown > attention_rank(s) for s in ATTENTION_ORDER)
    assert unknown < attention_rank(OFFLINE) < attention_rank(GONE) < attention_rank(UNTRACKED)
    assert attention_rank("") == unknown


def test_status_names_offer_everything_navish_shows():
    for status in (*ATTENTION_ORDER, OFFLINE, GONE, UNTRACKED):
        assert status in STATUS_NAMES


@pytest.mark.parametrize("status", ["permission", "waiting", "error"])
def test_urgent_statuses_need_attention(status):
    s = session(status)
    assert s.needs_attention
    assert s.attention_reason == status


@pytest.mark.parametrize("status", ["working", "idle", "stopped", "done", "offline", "weird", ""])
def test_calm_statuses_do_not_need_attention(status):
    s = session(status)
    assert not s.needs_attention
    assert s.attention_reason == ""


def test_unknown_status_is_shown_as_it_is():
    assert session("compacting").display_status == "compacting"
    assert session("").display_status == "?"


def test_gone_and_untracked_display_status():
    assert session("permission", live=False).display_status == GONE
    assert Session("local", "t", status_file=None).display_status == UNTRACKED


@pytest.mark.parametrize("agent_status", ["permission", "waiting"])
def test_team_agent_waiting_makes_the_session_need_attention_and_ranks_it(agent_status):
    team = {"name": "crew", "agents": [{"name": "tester", "status": agent_status, "timestamp": 5}]}
    s = session("done", team=team)
    assert s.needs_attention
    assert s.attention_reason == f"agent tester: {agent_status}"
    assert s.own_rank == attention_rank("done")
    assert s.rank == attention_rank(agent_status)
    assert s.rank < session("working").rank


def test_team_agent_error_or_working_does_not_need_attention():
    team = {"agents": [{"name": "a", "status": "error"}, {"name": "b", "status": "working"}]}
    s = session("idle", team=team)
    assert not s.needs_attention
    assert s.rank == s.own_rank == attention_rank("idle")


def test_own_status_wins_over_agent_reason_and_rank():
    team = {"agents": [{"name": "a", "status": "waiting"}]}
    s = session("permission", team=team)
    assert s.attention_reason == "permission"
    assert s.rank == attention_rank("permission")


@pytest.mark.parametrize("kw", [{"offline": True}, {"live": False}])
def test_offline_or_gone_sessions_never_need_attention(kw):
    team = {"agents": [{"name": "a", "status": "permission"}]}
    s = session("permission", team=team, **kw)
    assert not s.needs_attention
    assert s.rank == s.own_rank


@pytest.mark.parametrize(
    "team",
    [None, "crew", [1, 2], {"agents": "x"}, {"agents": [None, 3, "a"]}, {"agents": [{}]}],
)
def test_malformed_team_is_tolerated(team):
    s = session("idle", team=team)
    assert not s.needs_attention
    assert s.rank == s.own_rank
    assert all(a.status not in ("permission", "waiting") for a in s.team_agents)
    if isinstance(team, dict) and team.get("agents") == [None, 3, "a"]:
        assert s.team_agents == ()


def test_team_agents_parsed():
    team = {"agents": [{"name": "t", "status": "working", "timestamp": 12}, {"name": "r", "status": "stopped", "timestamp": "x"}]}
    agents = session(team=team).team_agents
    assert [(a.name, a.status, a.timestamp) for a in agents] == [("t", "working", 12.0), ("r", "stopped", None)]


def test_ref_and_parse_ref():
    assert session(name="api", host="dev").ref == "dev:api"
    assert parse_ref("dev:api") == ("dev", "api")
    assert parse_ref("api") == (None, "api")
    assert parse_ref("local:") == ("local", "")


def test_recency_prefers_timestamp_then_mtime():
    assert Session("local", "a", timestamp=10.0, mtime=99.0).recency() == 10.0
    assert Session("local", "a", mtime=99.0).recency() == 99.0
    assert Session("local", "a").recency() == 0.0
