"""`assist kiosk serve` in a real browser (Debian's chromium, headless, through Playwright): a report
from the first page to a reference, the wipe when a tab closes, and the limit on kiosks at once."""

from __future__ import annotations

import asyncio
import shlex
import signal
import sys
import time

import pytest
from textual_serve.download_manager import DownloadManager

from kiosk import web
from sync import reference
from tests.browser import CHROMIUM_ARGS, need_chromium
from tests.kiosk.web_support import Tab, gone, serve

#: Real processes and a real browser: seconds each.
pytestmark = pytest.mark.slow

LIMIT = 2


@pytest.fixture
def served(env, store, places, tmp_path):
    """The kiosk served on loopback, on this test's store (with a few addresses), two tabs at most."""
    running = serve(env, tmp_path / "serve.log", LIMIT)
    yield running
    running.stop()
    assert all(gone(pid, 10) for pid in running.kiosks()), "a tab's kiosk outlived its server"


@pytest.fixture
def browser(tmp_path):
    from playwright.sync_api import sync_playwright

    executable = need_chromium()
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path / "profile", executable_path=executable, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1100, "height": 700})
        yield context
        context.close()


def open_tab(browser, served) -> Tab:
    tab = Tab(browser.new_page())
    assert tab.open(served.url) == 200
    tab.wait_for("English", since=0)
    return tab


def start_a_pothole_report(tab: Tab) -> None:
    """English, the welcome, a problem, roads, a pothole, its urgent notice, an address: one key a
    page, each waiting for the next page's words (on a busy machine a key pressed early is lost)."""
    tab.press("1", then="Report a problem or ask the council")
    tab.press("Enter", then="What do you want to do?")
    tab.press("1", then="What is the problem about?")
    tab.press("2", then="Pothole")
    tab.press("1", then="Is it urgent?")
    tab.press("Enter", then="Where is it?")
    tab.press("bf1 4aa")
    tab.press("Enter", then="1 Market Square")
    tab.press("2")
    tab.press("Enter", then="How big is it?")


def test_a_pothole_report_from_the_first_page_to_its_reference(served, browser, store):
    tab = open_tab(browser, served)
    start_a_pothole_report(tab)
    tab.press("3")
    tab.press("Enter", then="Where on the street is it?")
    tab.press("1")
    tab.press("Enter", then="Describe the pothole")
    tab.press("Deep hole by the bus stop")
    tab.press("Enter", then="contact")
    tab.press("2", then="Check your answers")
    tab.press("Enter", then="Your reference is")

    [saved] = store.listing()
    shown = reference.display(saved["reference"])
    tab.wait_for(shown, since=0)
    assert store.counts()["queued"] == 1
    assert store.personal(shown)["payload"]["description"] == "Deep hole by the bus stop"
    assert "Volunteer" not in tab.text(), "staff pages are off in a browser"


def test_a_closed_tab_ends_its_kiosk_and_leaves_nothing_of_the_visit(served, browser, store):
    tab = open_tab(browser, served)
    [kiosk] = served.kiosks()
    start_a_pothole_report(tab)

    tab.page.close()
    assert gone(kiosk, 10), "the kiosk of a closed tab is still running"
    assert served.kiosks() == set()
    assert sum(store.counts().values()) == 0, "nothing of an unsent visit is kept"
    log = served.log.read_text()
    assert "kiosk web session ended (0 left)" in log
    assert "did not leave" not in log, "the kiosk left by itself when asked, without being killed"

    next_visit = open_tab(browser, served)
    [orphan] = served.kiosks()
    served.process.kill()  # a server that dies without asking its kiosks to leave
    served.process.wait()
    assert gone(orphan, 10), "a tab's kiosk outlived its server"
    ended = next_visit.page.get_by_role("alert")
    ended.wait_for(state="visible")
    assert "This kiosk session has ended" in ended.inner_text()


def test_one_tab_more_than_the_limit_gets_the_busy_page_until_one_closes(served, browser):
    first, _second = open_tab(browser, served), open_tab(browser, served)
    assert len(served.kiosks()) == LIMIT

    one_more = Tab(browser.new_page())
    assert one_more.open(served.url) == 503
    assert one_more.page.locator("h1").inner_text() == "All the kiosks are busy"
    assert "try again in a few minutes" in one_more.page.locator("main").inner_text()
    assert len(served.kiosks()) == LIMIT, "the busy page starts no kiosk"

    first.page.close()
    assert served.place_freed(10), "the closed tab's place was not given back"
    one_more.page.get_by_role("link", name="Try again").click()
    one_more.wait_for("English", since=0)
    assert len(served.kiosks()) == LIMIT


async def test_a_websocket_from_another_sites_page_is_refused(served):
    import aiohttp

    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(served.url + "ws", origin="https://elsewhere.example")
    assert refused.value.status == 403
    assert served.kiosks() == set(), "no kiosk started for it"


async def test_a_kiosk_that_will_not_leave_is_terminated_then_killed(monkeypatch, tmp_path):
    """The unhappy path of a closed tab: the kiosk ignores the quit and SIGTERM (it is stuck)."""
    ready = tmp_path / "ready"
    stuck = ("import pathlib, signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
             f"pathlib.Path({str(ready)!r}).touch(); print('__GANGLION__', flush=True); time.sleep(60)")
    monkeypatch.setattr(web, "STOP_SECONDS", 0.5)
    command = "exec " + shlex.join([sys.executable, "-c", stuck])  # as `assist kiosk serve` starts a kiosk
    session = web.KioskSession(command, write_bytes=nothing, write_str=nothing, close=nothing,
                               download_manager=DownloadManager())
    await session.start(80, 24)
    while not ready.exists():
        await asyncio.sleep(0.05)
    started = time.monotonic()
    await session.end()
    assert session._process.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 5


async def nothing(*args: object) -> None:
    """Where a session would write to its websocket."""
