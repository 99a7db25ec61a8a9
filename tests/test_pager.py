"""Long output in the shell goes through the pager, short output does not, and `pager off` stops
it; `navish -c` never pages (issue 11 §2)."""

from __future__ import annotations

import stat

from tests.conftest import NAVISH, Pane, navish, wait_until, write_config


def test_long_output_is_paged_in_the_shell_only_and_pager_off_stops_it(world, tmp_path):
    seen = tmp_path / "paged.txt"
    pager = tmp_path / "pager"
    pager.write_text(f"#!/bin/sh\ncat >> {seen}\necho PAGER-RAN\n")
    pager.chmod(pager.stat().st_mode | stat.S_IXUSR)
    world = {**world, "PAGER": str(pager)}
    write_config(world, "")
    pane = Pane(world, str(tmp_path / "driver.sock"), [NAVISH], width=100, height=12)
    try:
        pane.wait_for_prompt()
        pane.type("help")
        pane.keys("Enter")
        wait_until(lambda: seen.exists() and "commands:" in seen.read_text(), what="help in the pager")
        pane.wait_for("PAGER-RAN")
        pane.type("pager off")
        pane.keys("Enter")
        pane.wait_for("pager: off")
        size = seen.stat().st_size
        pane.type("help ls")
        pane.keys("Enter")
        wait_until(lambda: "usage: ls" in pane.history(), what="help ls printed")
        pane.type("help")
        pane.keys("Enter")
        wait_until(lambda: "help COMMAND for details" in pane.history(), what="help printed directly")
        assert seen.stat().st_size == size
    finally:
        pane.close()
    assert navish(world, "-c", "help").stdout.startswith("commands:")
    assert seen.stat().st_size == size
