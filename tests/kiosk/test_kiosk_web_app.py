"""The kiosk as a browser tab runs it (kiosk/web_app.py), through a Pilot: no staff pages, no
read-aloud on the server's loudspeaker, and an exit once the server that started it is gone."""

from __future__ import annotations

import pytest

from kiosk import web_app
from kiosk.app import KioskApp
from kiosk.speech import Speaker
from kiosk.web_app import WebKioskApp
from tests.kiosk.kiosk_support import keys, page


@pytest.mark.parametrize("kind", [KioskApp, WebKioskApp])
async def test_f9_and_the_volunteer_button_are_for_the_library_kiosk_only(kind, settings, store, fake_popen):
    app = kind(settings, store, cursor_blink=False, speaker=Speaker("/usr/bin/espeak-ng", popen=fake_popen))
    if kind is WebKioskApp:  # as `assist kiosk web-session` makes it: no speaker given
        app = kind(settings, store, cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        shown = app.screen.query_one("#volunteer").display
        read_aloud = bool(app.screen.query("#read-aloud"))
        await keys(pilot, "f9")
        opened = page(app)
    if kind is KioskApp:
        assert shown and opened == "VolunteerNameScreen" and read_aloud
    else:
        assert not shown and opened == "LanguageScreen" and not read_aloud


async def test_a_tab_kiosk_leaves_when_its_server_has_gone(settings, store, monkeypatch):
    app = WebKioskApp(settings, store, cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await keys(pilot, "1")
        assert page(app) == "WelcomeScreen"
        app.check_server()
        await pilot.pause()
        assert app.is_running, "its server is still there"
        monkeypatch.setattr(web_app.os, "getppid", lambda: 1)  # adopted by init: the server died
        app.check_server()
        await pilot.pause()
        assert not app.journey.session.started, "the visit is wiped"
        assert not app.is_running, "the tab's kiosk has left"


@pytest.mark.parametrize("where", ["first page", "mid-visit"])
async def test_a_tab_left_alone_times_out_and_gives_its_place_back(settings, store, monotonic, where):
    app = WebKioskApp(settings, store, cursor_blink=False, monotonic=monotonic)
    async with app.run_test(size=(80, 24)) as pilot:
        if where == "mid-visit":
            await keys(pilot, "1", "enter")
            assert page(app) == "TaskScreen"
        monotonic.advance(settings.kiosk.timeout_seconds)
        app.heartbeat()
        await pilot.pause()
        assert page(app) == "TimeoutScreen", "the same warning as at the library's kiosk"
        monotonic.advance(settings.kiosk.warning_seconds)
        app.heartbeat()
        await pilot.pause()
        assert not app.journey.session.started
        assert not app.is_running, "the tab's kiosk has left"


async def test_finishing_a_visit_in_a_tab_starts_again_as_at_the_library(settings, store):
    app = WebKioskApp(settings, store, cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await keys(pilot, "1", "enter")
        await app.restart("finish")
        await pilot.pause()
        assert app.is_running and page(app) == "LanguageScreen"
