"""A public kiosk: no way out, no palette, no theme picker; a calm error page instead of a
traceback; kind words for a full disk; the residents' own colours and read-aloud; a quiet status
line; right-to-left alignment by language; outside text never read as markup."""

from __future__ import annotations

import logging

import pytest
from textual.command import CommandPalette

from kiosk import messages, themes
from kiosk.app import KioskApp
from kiosk.inactivity import ERROR_RETURN_SECONDS
from kiosk.screens.error import ErrorScreen
from kiosk.speech import Speaker
from sync import flow
from sync.catalogue import Catalogue, Service
from sync.store.db import StoreFull
from tests.helpers import draft
from tests.kiosk.kiosk_support import NO_CONTACT, POTHOLE, choose, keys, open_page, page, tap, words


async def test_no_key_quits_suspends_or_opens_the_palette(make_app):
    app = make_app()
    assert KioskApp.ENABLE_COMMAND_PALETTE is False
    async with app.run_test() as pilot:
        await keys(pilot, "1")
        for key in ("ctrl+q", "ctrl+c", "ctrl+p", "ctrl+z", "ctrl+backslash", "ctrl+x", "ctrl+s"):
            await keys(pilot, key)
            assert app.is_running and app.return_code is None, key
            assert page(app) == "WelcomeScreen", key
            assert not any(isinstance(screen, CommandPalette) for screen in app.screen_stack)
        for action in ("quit", "command_palette", "change_theme", "toggle_dark", "suspend_process", "help_quit"):
            await app.run_action(action)
            await pilot.pause()
            assert app.is_running and page(app) == "WelcomeScreen", action
        assert app.theme == themes.DEFAULT


async def test_ctrl_q_stops_only_a_demonstration_kiosk(make_app):
    app = make_app(allow_quit=True)
    async with app.run_test() as pilot:
        await keys(pilot, "1", "ctrl+q")
        assert not app.is_running and app.journey.session.pristine


async def test_every_key_binding_has_an_id():
    from kiosk.lockdown import LockedDownApp
    from kiosk.screens.base import KioskScreen
    from kiosk.screens.timeout import TimeoutScreen
    from kiosk.widgets.choices import ChoiceItem

    for owner in (KioskApp, LockedDownApp, KioskScreen, TimeoutScreen, ChoiceItem):
        for binding in owner.BINDINGS:
            assert binding.id, (owner.__name__, binding.key)


async def test_change_colours_switches_between_the_two_kiosk_themes_only(make_app):
    app = make_app()
    async with app.run_test() as pilot:
        assert app.theme == themes.DEFAULT
        await tap(pilot, app.screen.query_one("#colours"))
        assert app.theme == themes.ALTERNATIVE
        await keys(pilot, "f2")
        assert app.theme == themes.DEFAULT


@pytest.mark.parametrize("via", ["enter", "touch"])
async def test_an_unexpected_error_shows_the_calm_page_in_welsh_and_starts_again(make_app, store, monotonic,
                                                                                 monkeypatch, caplog, via):
    earlier = store.enqueue(draft())

    def broken(*args, **kwargs):
        raise RuntimeError("a bug nobody expected")

    monkeypatch.setattr(flow, "to_draft", broken)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_page(pilot, "pothole", None, {**POTHOLE, **NO_CONTACT}, language="cy", contact_wanted=False)
        with caplog.at_level(logging.ERROR, logger="kiosk.app"):
            if via == "enter":
                await keys(pilot, "enter")  # runs in a key binding's action
            else:
                await tap(pilot, app.screen.query_one("#continue"))  # runs in the page's own message handler
            await pilot.pause()
        assert isinstance(app.screen, ErrorScreen)
        said = words(app)
        assert "Mae'n ddrwg gennym, aeth rhywbeth o'i le" in said and "Traceback" not in said
        assert "RuntimeError" not in said and "a bug nobody expected" not in said
        assert app.journey.session.answers == {}
        record = next(record for record in caplog.records if record.levelno == logging.ERROR)
        assert record.exc_info and "a bug nobody expected" in str(record.exc_info[1])
        monotonic.advance(ERROR_RETURN_SECONDS)
        app.heartbeat()
        await pilot.pause()
        assert page(app) == "LanguageScreen" and app.journey.session.language == "en"
        await keys(pilot, "1")
        assert page(app) == "WelcomeScreen", "the kiosk still works"
    assert store.counts()["queued"] == 1 and store.personal(earlier.reference)["payload"]["description"]


async def test_a_page_that_cannot_be_drawn_shows_the_calm_page_and_keeps_saved_requests(make_app, store,
                                                                                       monkeypatch, caplog):
    from kiosk.screens.check import CheckAnswersScreen

    earlier = store.enqueue(draft())

    def broken(self, question, value):
        raise RuntimeError("a page nobody can draw")

    monkeypatch.setattr(CheckAnswersScreen, "shown", broken)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        with caplog.at_level(logging.ERROR):
            await open_page(pilot, "pothole", None, {**POTHOLE, **NO_CONTACT}, contact_wanted=False)
            await pilot.pause()
        assert isinstance(app.screen, ErrorScreen) and app.is_running
        assert "a page nobody can draw" not in words(app)
        assert any("a page nobody can draw" in str(record.exc_info[1]) for record in caplog.records if record.exc_info)
        assert app.journey.session.answers == {}
    assert store.counts()["queued"] == 1 and store.lookup(earlier.reference)


@pytest.mark.parametrize("how", ["tap", "enter"])
async def test_an_error_inside_a_choice_shows_the_calm_page_and_the_kiosk_keeps_running(make_app, store, monkeypatch,
                                                                                       caplog, how):
    """A bug in one of the kiosk's own widgets (here the choice list, tapped or picked with Enter)
    reaches the failure guard like a page's: the calm page, never a closed kiosk."""
    from kiosk.widgets.choices import ChoiceItem, ChoiceList

    def broken(self, item, *, how):
        raise RuntimeError("a choice nobody can pick")

    monkeypatch.setattr(ChoiceList, "choose", broken)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        with caplog.at_level(logging.ERROR):
            item = app.screen.query(ChoiceItem).first()
            if how == "tap":
                await tap(pilot, item)
            else:
                item.focus()
                await keys(pilot, "enter")
            await pilot.pause()
        assert isinstance(app.screen, ErrorScreen) and app.is_running
        assert "a choice nobody can pick" not in words(app)
        logged = [str(record.exc_info[1]) for record in caplog.records if record.exc_info]
        assert "a choice nobody can pick" in logged


async def test_a_full_disk_gets_a_kind_message_and_loses_nothing(make_app, store, monkeypatch):
    earlier = store.enqueue(draft())

    def full(draft):
        raise StoreFull("There is no room left to save on this machine. Nothing already saved has been lost.")

    monkeypatch.setattr(store, "enqueue", full)
    app = make_app()
    async with app.run_test() as pilot:
        await open_page(pilot, "pothole", None, {**POTHOLE, **NO_CONTACT}, contact_wanted=False)
        await keys(pilot, "enter")
        assert page(app) == "CheckAnswersScreen"
        message = app.screen.query_one("ErrorSummary").messages[0]
        assert message.startswith("This kiosk has no room left to save your answers.") and "01632 960000" in message
        assert app.journey.session.answers["description"] == POTHOLE["description"], "what was typed is still here"
    assert store.counts()["queued"] == 1 and store.lookup(earlier.reference)


async def test_read_aloud_is_absent_without_espeak_ng(make_app, fake_popen):
    app = make_app(speaker=Speaker(find=lambda name: None, popen=fake_popen))
    async with app.run_test() as pilot:
        assert not app.screen.query("#read-aloud")
        assert "Read aloud" not in str(app.screen.query_one("#key-hints").content)
        await keys(pilot, "f3")
        assert fake_popen.calls == []


async def test_read_aloud_speaks_the_page_in_welsh_with_the_welsh_voice(make_app, fake_popen):
    speaker = Speaker(find=lambda name: f"/usr/bin/{name}", popen=fake_popen)
    app = make_app(speaker=speaker)
    async with app.run_test() as pilot:
        await keys(pilot, "2", "enter")
        assert app.screen.query_one("#read-aloud")
        await keys(pilot, "f3")
        [call] = fake_popen.calls
        assert call.args == ["/usr/bin/espeak-ng", "-v", "cy", "-s", "150", "-b", "1", "--stdin"]
        spoken = call.written.decode("utf-8")
        assert "Beth hoffech chi ei wneud?" in spoken and "1. Rhoi gwybod am broblem" in spoken
        await tap(pilot, app.screen.query_one("#read-aloud"))
        assert len(fake_popen.calls) == 2 and fake_popen.calls[0].terminated, "a new reading stops the last"
        app.post_message(messages.StartAgain())
        await pilot.pause()
        assert fake_popen.calls[1].terminated, "a wipe stops the speech"


async def test_the_status_line_is_read_from_the_store_and_never_alarms(make_app, store, clock):
    store.enqueue(draft())
    store.enqueue(draft(idempotency_key="second"))
    store.set_backoffice_state("default", reachable=False, error="connect timeout")
    app = make_app()
    async with app.run_test() as pilot:
        line = str(app.screen.query_one("#status-line").content)
        assert line == "Not connected just now: requests are kept safe here  ·  2 requests waiting to be sent"
        assert "timeout" not in line
        store.set_backoffice_state("default", reachable=True)
        app.refresh_connection()
        await pilot.pause()
        assert str(app.screen.query_one("#status-line").content).startswith("In touch with the council at 09:00")


async def test_right_to_left_languages_put_text_on_the_right(make_app):
    app = make_app()
    async with app.run_test() as pilot:
        await choose(pilot, "ar")
        assert app.has_class("-rtl")
        heading = app.screen.query_one(".heading")
        assert heading.styles.text_align == "right"
        app.post_message(messages.StartAgain())
        await pilot.pause()
        assert not app.has_class("-rtl")


async def test_catalogue_text_is_shown_as_plain_text_never_markup(make_app, store):
    tricky = Service(code="odd", name="[bold red]Loud[/] name", description="[link=https://evil.example]Click[/link]",
                     group="[b]Group[/b]", attributes=())
    store.save_council_catalogue(Catalogue(version="council-1", source="council", services=(tricky,)))
    app = make_app()
    async with app.run_test() as pilot:
        await keys(pilot, "1", "enter", "1")
        said = words(app)
        assert "[bold red]Loud[/] name" in said and "[link=https://evil.example]Click[/link]" in said
        await choose(pilot, "odd")
        assert page(app) == "LocationScreen"
