"""The live view (`watch`): its model (rows, selection by ref, sort, filter, the fragments of the
rows on screen) unit-tested directly, and its keys driven through prompt_toolkit's pipe input."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from prompt_toolkit.utils import get_cwidth

from navish.app import App
from navish.commands.base import Context
from navish.dashboard import FLASH_SECONDS, Dashboard, column_widths, fit, sort_key, toolbar_fragments
from navish.dashboard_keys import selection_arg
from navish.dashboard_view import DashboardView
from navish.errors import UsageError
from navish.model import HostState, Session
from navish.parsing import HostSessions
from navish.registry import SORT_KEYS, Change, Registry, sort_sessions
from navish.toolbar import toolbar_text
from tests.conftest import run

NOW = 100_000.0
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def s(name: str, status: str = "working", host: str = "local", age: float = 10, **kw) -> Session:
    kw.setdefault("status_file", f"{name}.json")
    return Session(host, name, status, timestamp=NOW - age, **kw)


def text(fragments) -> str:
    return "".join(t for _, t in fragments)


def model_of(*sessions: Session, **kw) -> Dashboard:
    model = Dashboard(home="/home/u", **kw)
    model.load(sessions)
    return model


def shown(model: Dashboard) -> list[str]:
    return model.refs()


def polled(host: str) -> float | None:
    return NOW - 180


# -- order, selection ---------------------------------------------------------------------------
MIXED = [
    s("a", "working", age=5),
    s("b", "permission", age=50),
    s("c", "idle", host="dev", age=1, cwd="/srv/c"),
    s("d", "waiting", host="dev", age=20, cwd="/srv/a"),
    s("e", "done", age=2, cwd="/b"),
    s("f", "working", age=3, fields={"team": {"agents": [{"name": "t", "status": "permission"}]}}),
    s("g", "error", host="lab", age=9),
    s("Z", "working", age=5),
]


@pytest.mark.parametrize("sort", SORT_KEYS)
def test_the_order_is_the_ls_order_for_every_sort_key(sort):
    model = model_of(*MIXED, sort=sort)
    assert shown(model) == [x.ref for x in sort_sessions(MIXED, sort)]
    assert sorted(MIXED, key=lambda x: sort_key(sort, x)) == sort_sessions(MIXED, sort)


def test_the_most_urgent_row_is_selected_first_and_moves_clamp():
    model = model_of(*MIXED)
    assert model.selected == "local:f"  # a team agent's permission counts, and it is the most recent
    model.move(-1)
    assert model.selected == "local:f"
    model.move(1)
    assert model.selected == "local:b"
    model.move(100)
    assert model.selected == shown(model)[-1]
    model.select_index(0)
    assert model.selected == "local:f"


def test_the_selection_stays_on_its_session_and_its_screen_line_when_another_row_moves_above():
    model = model_of(*[s(f"s{i}", "working", age=i) for i in range(30)])
    model.select("local:s10")
    model.top = 5
    assert model.index("local:s10") == 10
    before = model.sessions["local:s20"]
    model.apply([Change("local", changed=((before, replace(before, status="permission")),))], NOW)
    assert shown(model)[0] == "local:s20"
    assert model.selected == "local:s10" and model.index("local:s10") == 11
    assert model.top == 6  # still the 6th row on screen
    rows = model.window(10, 80, NOW, polled)
    assert text(rows[5]).startswith("▶local")


def test_a_removed_selection_goes_to_the_row_that_took_its_place():
    model = model_of(*[s(f"s{i}", age=i) for i in range(5)])
    model.select("local:s2")
    model.apply([Change("local", removed=(model.sessions["local:s2"],))], NOW)
    assert model.selected == "local:s3"
    model.select("local:s4")
    model.apply([Change("local", removed=(model.sessions["local:s4"],))], NOW)
    assert model.selected == "local:s3"
    model.apply([Change("local", removed=tuple(model.sessions.values()))], NOW)
    assert model.selected is None and len(model) == 0 and model.window(5, 80, NOW, polled) == []


def test_a_renamed_session_keeps_the_selection():
    old = s("old", claude_pid=42)
    model = model_of(old, s("other", "permission"))
    model.select("local:old")
    model.apply([Change("local", added=(replace(old, name="new"),), removed=(old,))], NOW)
    assert model.selected == "local:new"


def test_untracked_and_added_sessions():
    model = model_of(s("a"), Session("local", "bare"))
    assert shown(model) == ["local:a"]  # a bare tmux session is not a row
    model.apply([Change("local", added=(s("b", "waiting"),))], NOW)
    assert shown(model) == ["local:b", "local:a"] and model.selected == "local:a"
    gone = replace(model.sessions["local:a"], status_file=None)
    model.apply([Change("local", changed=((model.sessions["local:a"], gone),))], NOW)
    assert shown(model) == ["local:b"]


def test_next_attention_wraps_and_says_none():
    model = model_of(s("a", "permission", age=1), s("b", "working"), s("c", "waiting", age=2), s("d", "idle"))
    assert model.selected == "local:a"
    assert model.next_attention().ref == "local:c"
    assert model.next_attention().ref == "local:a"
    quiet = model_of(s("x"), s("y"))
    assert quiet.next_attention() is None and quiet.selected == "local:x"
    assert Dashboard().next_attention() is None


def test_offline_sessions_do_not_count_for_tab():
    model = model_of(s("a", "permission", offline=True), s("b", "idle"))
    model.select("local:b")
    assert model.next_attention() is None


# -- sort and filter ----------------------------------------------------------------------------
def test_sort_and_filter_keep_the_selection_where_they_can():
    model = model_of(*MIXED)
    model.select("dev:d")
    assert model.cycle_sort() == "name"
    assert model.selected == "dev:d"
    assert shown(model)[:3] == ["local:a", "local:b", "dev:c"]
    model.set_sort("attention")
    assert model.cycle_mode() == "local"
    assert {r.split(":")[0] for r in shown(model)} == {"local"}
    assert model.selected in shown(model)
    assert model.cycle_mode() == "remote" and {r.split(":")[0] for r in shown(model)} == {"dev", "lab"}
    assert model.cycle_mode() == "all"
    model.set_mode("lab")
    assert shown(model) == ["lab:g"] and model.selected == "lab:g"
    assert model.cycle_mode() == "all"  # one host's filter cycles back to all
    with pytest.raises(ValueError):
        model.set_sort("size")


def test_the_text_filter_matches_as_ls_does():
    model = model_of(*MIXED)
    model.set_text("srv")
    assert shown(model) == ["dev:d", "dev:c"]
    model.set_text("dev:?")
    assert shown(model) == ["dev:d", "dev:c"]
    model.set_text("*:[ag]")
    assert shown(model) == ["lab:g", "local:a"]
    model.set_text("nothing")
    assert shown(model) == [] and model.selected is None
    model.set_text("")
    assert len(model) == len(MIXED)
    # a change to a filtered-out session leaves it out; one that now matches comes in
    model.set_text("deploy")
    a = model.sessions["local:a"]
    model.apply([Change("local", changed=((a, replace(a, message="deploy now")),))], NOW)
    assert shown(model) == ["local:a"]


# -- highlights ---------------------------------------------------------------------------------
def test_a_changed_row_is_highlighted_for_a_while_but_not_a_hosts_first_snapshot():
    model = model_of(s("a"), s("b"))
    model.select("local:b")
    a = model.sessions["local:a"]
    model.apply([Change("local", changed=((a, replace(a, message="new")),))], NOW)
    (row_a,) = [r for r in model.window(5, 80, NOW, polled) if "a " in text(r)[:10]]
    assert any("dash.changed" in style for style, _ in row_a) and text(row_a).startswith("•")
    assert not model.expire(NOW + 1)
    assert model.expire(NOW + FLASH_SECONDS + 0.1) and not model.flash
    model.apply([Change("dev", added=(s("x", host="dev"),), state=(HostState.UNKNOWN, HostState.CONNECTED))], NOW)
    assert "dev:x" in shown(model) and "dev:x" not in model.flash
    model.apply([Change("dev", added=(s("y", host="dev"),))], NOW)
    assert "dev:y" in model.flash


# -- drawing ------------------------------------------------------------------------------------
@pytest.mark.parametrize("width", [40, 60, 80, 120, 200])
def test_every_row_fills_the_width_exactly(width):
    long = s("a-very-long-session-name-that-goes-on-and-on", "permission", host="a-long-host-name",
             message="Bash: " + "x" * 300, cwd="/home/u/" + "deep/" * 30)
    model = model_of(long, s("b", message="日本語のメッセージ" * 10, cwd="/home/u/src"), s("c", offline=True))
    rows = model.window(10, width, NOW, polled)
    assert len(rows) == 3
    for row in [*rows, model.header(width)]:
        assert get_cwidth(text(row)) == width, (width, text(row))
    assert sum(column_widths(width)) + 11 == max(width, 11 + sum(column_widths(width)[:5]))


def test_columns_at_80_show_host_name_status_age_cwd_and_message():
    model = model_of(s("api", "permission", age=65, cwd="/home/u/src/api", message="Bash: npm test"), s("web", host="dev"))
    header, first = text(model.header(80)), text(model.window(5, 80, NOW, polled)[0])
    assert header.split() == ["HOST", "SESSION", "STATUS", "AGE", "CWD", "MESSAGE"]
    assert first.split()[:6] == ["▶local", "api", "permission", "1m", "~/src/api", "Bash:"]
    assert "npm test" in first
    for column in ("SESSION", "STATUS", "AGE", "CWD", "MESSAGE"):  # the cells sit under their titles
        assert header.index(column) in (first.index(word) for word in first.split()[1:])


def test_offline_rows_are_greyed_with_their_age():
    model = model_of(s("api", "waiting", host="dev", offline=True, message="Which branch?"))
    row = model.window(5, 120, NOW, lambda host: NOW - 180)[0]
    assert "offline" in text(row) and "offline, last seen 3m ago: waiting · Which branch?" in text(row)
    assert all("dash.offline" in style for style, _ in row)


def test_agent_attention_is_starred():
    model = model_of(MIXED[5])
    assert "working*" in text(model.window(1, 100, NOW, polled)[0])


def test_only_the_rows_on_screen_are_drawn_and_the_selection_is_kept_in_view():
    model = model_of(*[s(f"s{i:04d}", age=i) for i in range(5000)])
    assert len(model.window(20, 80, NOW, polled)) == 20 and model.top == 0
    model.select("local:s0100")
    rows = model.window(20, 80, NOW, polled)
    assert model.top == 81 and text(rows[-1]).startswith("▶local  s0100")
    model.select("local:s0050")
    rows = model.window(20, 80, NOW, polled)
    assert model.top == 50 and text(rows[0]).startswith("▶")
    model.select_index(4999)
    model.window(20, 80, NOW, polled)
    assert model.top == 4980


def test_hostile_text_is_drawn_harmlessly():
    evil = Session("local", "rtl\u202egnp\x1b]0;x\x07", "wait\u202eing\x9b2J", message="m\x1b[2J\u2066sg\r\nnext",
                   cwd="/tmp/\x1b]8;;x\x07", status_file="e.json", timestamp=NOW)
    model = model_of(evil)
    row = text(model.window(1, 120, NOW, polled)[0])
    assert not UNSAFE.search(row), ascii(row)
    assert "<U+202E>" in row and "⏎" in row
    assert not UNSAFE.search(text(model.header(120)))


def test_fit_cuts_and_pads_by_terminal_cells():
    assert fit("abc", 5) == "abc  " and fit("abcdef", 4) == "abc…" and fit("x", 0) == ""
    assert fit("日本語", 4) == "日… " and get_cwidth(fit("日本語", 4)) == 4
    assert get_cwidth(fit("日本語", 6)) == 6


def test_the_toolbar_from_kept_counts_matches_the_shells_toolbar():
    reg = Registry()
    reg.add_host("local", 10)
    reg.add_host("dev", 10)
    reg.apply_poll("local", HostSessions((s("a", "permission"), s("b"), s("c", "compacting"))), polled_at=NOW - 3, duration=0.01)
    reg.apply_poll("dev", HostSessions((s("d", "waiting", host="dev"),)), polled_at=NOW - 5, duration=0.01)
    assert text(toolbar_fragments(reg, "all", NOW)) == toolbar_text(reg, "all", NOW)
    assert text(toolbar_fragments(reg, "remote", NOW)) == toolbar_text(reg, "remote", NOW)
    reg.mark_failed("dev", HostState.OFFLINE, "connection lost")
    assert " dev ✗ offline 5s " in text(toolbar_fragments(reg, "all", NOW))  # how old its rows are


def test_refs_with_glob_characters_select_only_themselves():
    assert selection_arg("local:api") == "local:api"
    assert selection_arg("local:a[1]*") == "'local:a[[]1][*]'"
    assert selection_arg("dev:it's") == "'dev:it'\"'\"'s'"


# -- the view, driven by keys ---------------------------------------------------------------------
@pytest.fixture
def pipe():
    with create_pipe_input() as inp, create_app_session(input=inp, output=DummyOutput()):
        yield inp


def make_app(*sessions: Session) -> App:
    app = App(poll_interval=1, command_timeout=1, clock=lambda: NOW)
    app.registry.add_host("local", 10)
    app.registry.apply_poll("local", HostSessions(tuple(sessions)), polled_at=NOW - 1, duration=0.01)
    return app


class Driver:
    """The view running on the test's loop; keys in, model and status line out."""

    def __init__(self, app: App, pipe, ctx: Context | None = None):
        self.app, self.pipe = app, pipe
        self.attached: list[object] = []

        async def run_attached(command: object) -> int:
            self.attached.append(command)
            return 0

        self.focused: list[str | None] = []
        self.view = DashboardView(app, ctx or Context(app, run_attached=run_attached), focus=self.focused.append)
        self.task = asyncio.ensure_future(self.view.run())
        self.settle()

    def settle(self, seconds: float = 0.05) -> None:
        run(asyncio.sleep(seconds))

    def keys(self, data: str, seconds: float = 0.05) -> "Driver":
        self.pipe.send_text(data)
        self.settle(seconds)
        return self

    def until(self, check, what: str) -> None:
        for _ in range(100):
            if check():
                return
            self.settle(0.02)
        raise AssertionError(f"{what}: status {self.status!r}, mode {self.view.mode}")

    @property
    def status(self) -> str:
        return text(self.view._status_line())

    def quit(self) -> None:
        self.keys("q")
        run(asyncio.wait_for(self.task, 2))


def test_keys_move_sort_filter_and_quit(pipe):
    app = make_app(*[s(f"s{i}", "permission" if i % 4 == 0 else "working", age=i) for i in range(12)])
    d = Driver(app, pipe)
    assert d.view.model.selected == "local:s0"
    d.keys("jj")
    assert d.view.model.selected == "local:s8"
    d.keys("k")
    assert d.view.model.selected == "local:s4"
    d.keys("\t")
    assert d.view.model.selected == "local:s8" and d.status == " local:s8 needs you (permission)"
    d.keys("s")
    assert d.view.model.sort == "name" and d.status == " sort: name" and d.view.model.selected == "local:s8"
    d.keys("/s1")  # typed at once: the input line has the keys from the /
    assert d.view.mode == "input" and shown(d.view.model) == ["local:s1", "local:s10", "local:s11"]
    d.keys("\r")
    assert d.view.mode == "normal" and d.view.model.text == "s1" and d.status == " filter: s1"
    d.keys("/")
    d.keys("\x1b", 0.3)
    assert d.view.model.text == "s1"  # Esc keeps the filter it started from
    d.keys("f")
    assert d.view.model.mode == "local" and app.filter_mode == "local"
    d.keys("?")
    assert d.view.detail == "keys"
    d.keys("\x1b", 0.3)
    assert d.view.detail is None and not d.task.done()  # Esc closed the pane first
    d.quit()


def test_kill_asks_in_the_view_and_no_sends_nothing(pipe):
    d = Driver(make_app(s("doomed", "done")), pipe)
    d.keys("x")
    d.until(lambda: d.view.mode == "confirm", "the question")
    assert d.status == " Kill local:doomed (its tmux session and its status file)? [y/N]"
    d.keys("n")
    d.until(lambda: "nothing done" in d.status, "the answer")
    assert d.view.model.selected == "local:doomed"
    d.quit()


def test_results_and_errors_go_to_the_status_line(pipe):
    app = make_app(s("calm"), s("gone", "waiting", live=False))
    d = Driver(app, pipe)
    d.keys("d")
    d.until(lambda: d.status == " nothing to dismiss: local:calm is working", "dismiss's answer")
    d.keys("j").keys("\r")
    d.until(lambda: "error:" in d.status, "attach's error")
    assert "has no tmux session any more" in d.status and d.attached == []
    d.keys("p")
    assert d.view.detail == "preview"
    d.until(lambda: "no tmux session" in text(d.view.detail_control.lines[0]), "the preview")
    d.keys("p")
    assert d.view.detail is None
    d.quit()


def test_typed_answers_go_to_the_command_and_esc_sends_nothing(pipe):
    app = make_app(s("api", "waiting"))
    d = Driver(app, pipe)
    d.keys("r")
    assert d.view.mode == "input" and "reply to local:api:" in d.view._label
    d.keys("\x1b", 0.3)
    d.until(lambda: d.status == " nothing sent", "nothing sent")
    d.keys("R")
    assert d.view.input.text == "api"
    d.keys("\x7f\x7f\x7fweb\r")
    d.until(lambda: "error:" in d.status, "rename's error (no host to run on)")
    d.quit()


def test_changes_update_rows_in_place_and_keep_the_selection(pipe):
    app = make_app(*[s(f"s{i}", age=i) for i in range(5)])
    d = Driver(app, pipe)
    d.keys("jjj")
    assert d.view.model.selected == "local:s3"
    sessions = tuple(replace(x, status="permission") if x.name == "s4" else x for x in app.registry.host("local").sessions)
    app._changed(app.registry.apply_poll("local", HostSessions(sessions), polled_at=NOW, duration=0.01))
    d.settle()
    assert shown(d.view.model)[0] == "local:s4" and d.view.model.selected == "local:s3"
    assert "local:s4" in d.view.model.flash
    assert d.focused[0] == "local:s0" and d.focused[-1] == "local:s3"  # the shell is told what the user looks at
    gone = tuple(x for x in app.registry.host("local").sessions if x.name != "s3")
    app._changed(app.registry.apply_poll("local", HostSessions(gone), polled_at=NOW, duration=0.01))
    d.settle()
    assert d.view.model.selected == "local:s2" and d.focused[-1] == "local:s2"
    d.quit()


def test_a_broken_row_draws_one_line_not_a_crash(pipe, monkeypatch):
    d = Driver(make_app(s("a")), pipe)
    monkeypatch.setattr(d.view.model, "window", lambda *a: 1 / 0)
    rows = d.view.draw_rows(80, 10)
    assert "drawing failed: division by zero" in text(rows[0])
    d.quit()


def test_watch_needs_a_terminal():
    from navish.commands.watch import WATCH_COMMANDS

    (watch,) = WATCH_COMMANDS
    app = make_app()
    with pytest.raises(UsageError, match="watch: needs a terminal"):
        run(watch.handler(Context(app, run_attached=None), {"pattern": None, "sort": None, "host": None}))  # type: ignore[arg-type]
    assert watch.aliases == ("top",)
