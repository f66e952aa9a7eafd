"""`assist kiosk` and `assist kiosk serve` as commands (the served kiosk itself: tests/kiosk/test_kiosk_web.py)."""

from __future__ import annotations

import importlib.util

from assist.cli import kiosk as kiosk_cli


def test_the_kiosk_command_still_runs_the_kiosk_and_offers_serving_it(run):
    shown = run("kiosk", "--help")
    assert shown.exit_code == 0
    assert "--allow-quit" in shown.output and "serve" in shown.output and "web-session" not in shown.output
    served = run("kiosk", "serve", "--help")
    assert served.exit_code == 0 and "--host" in served.output and "127.0.0.1" in served.output


def test_serving_without_the_web_extra_says_how_to_install_it(run, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *rest: None if name == "textual_serve" else real(name, *rest))
    refused = run("kiosk", "serve")
    assert refused.exit_code == 1
    assert kiosk_cli.MISSING_EXTRA in refused.output and "Traceback" not in refused.output


def test_a_port_that_is_not_a_port_is_refused_in_a_line(run):
    refused = run("kiosk", "serve", "--port", "99999")
    assert refused.exit_code == 2 and "99999" in refused.output
