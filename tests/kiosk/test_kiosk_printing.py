"""The confirmation's "Print my reference", where `kiosk.printer` is set: the slip reaches the
printer (a network printer on loopback) in the resident's language while the page stays as it is;
a printer that is off gets a kind message and nothing else changes."""

from __future__ import annotations

import pytest

from kiosk.widgets.text import Button
from sync.config import load_settings
from tests.fake_printer import FakePrinter, refused_address
from tests.kiosk.kiosk_support import NO_CONTACT, keys, open_page, page, screen_text, tap

#: Driven through a Pilot: seconds a test on a shared machine.
pytestmark = pytest.mark.slow

AT_A_DOOR = {"location": {"address_id": "100000000004", "address_string": "4 Station Road, Brackenford, BF2 7QT",
                          "lat": 52.1304, "long": -1.2804},
             "attribute.size": "large", "attribute.surface": "road", "description": "Deep hole by the bus stop"}


def with_printer(env, address: str):
    return load_settings(environ={**env, "ASSIST_KIOSK__PRINTER": address,
                                  "ASSIST_TWILIO__FROM_NUMBER": "+447700900123"})


async def confirmation(pilot, language: str = "en") -> str:
    await open_page(pilot, "pothole", None, {**AT_A_DOOR, **NO_CONTACT}, language=language, contact_wanted=False)
    await keys(pilot, "enter")
    assert page(pilot.app) == "ConfirmationScreen"
    return str(pilot.app.screen.query_one("#reference-text").content).strip("\u2066\u2069")


async def press_print(pilot) -> None:
    await tap(pilot, pilot.app.screen.query_one("#print", Button))
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_print_my_reference_prints_the_slip_and_says_so(make_app, env):
    with FakePrinter("ready") as fake:
        app = make_app(settings=with_printer(env, fake.address))
        async with app.run_test(size=(80, 24)) as pilot:
            reference = await confirmation(pilot, "cy")
            await press_print(pilot)
            message = str(app.screen.query_one("#print-message").content)
            assert message.startswith("Mae eich cyfeirnod wedi'i argraffu")
            assert page(app) == "ConfirmationScreen" and reference in screen_text(app)
            assert not app.screen.query_one("#print", Button).disabled, "another copy can be printed"
        assert fake.done.wait(5)
    printed = bytes(fake.received)
    assert reference.encode() in printed and b"Eich cyfeirnod yw" in printed and b"Station Road" in printed
    for personal in (b"4 Station Road", b"BF2 7QT", b"Deep hole"):
        assert personal not in printed


async def test_a_printer_that_is_off_gets_a_kind_message_and_nothing_else_changes(make_app, env, store):
    app = make_app(settings=with_printer(env, refused_address()))
    async with app.run_test(size=(80, 24)) as pilot:
        reference = await confirmation(pilot)
        await press_print(pilot)
        message = str(app.screen.query_one("#print-message").content)
        assert message.startswith("Sorry, the printer is not working just now. Your reference is still on the screen")
        assert page(app) == "ConfirmationScreen" and reference in screen_text(app)
        assert store.counts()["queued"] == 1
        await tap(pilot, app.screen.query_one("#finish", Button))
        assert page(app) == "LanguageScreen", "the visit carries on: Finish still ends it"


async def test_without_a_printer_there_is_no_print_button(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await confirmation(pilot)
        assert not app.screen.query("#print")


async def test_the_page_does_not_wait_for_a_slow_printer(make_app, env, monkeypatch):
    """A printer that takes its time (it never answers about its paper) prints in the background:
    the page says so at once and goes on answering the resident."""
    from sync.printing import printer

    monkeypatch.setattr(printer, "STATUS_SECONDS", 1.0)
    with FakePrinter("silent") as fake:
        app = make_app(settings=with_printer(env, fake.address))
        async with app.run_test(size=(120, 40)) as pilot:
            await confirmation(pilot)
            await tap(pilot, app.screen.query_one("#print", Button))
            assert str(app.screen.query_one("#print-message").content) == "Printing your reference…"
            assert app.screen.query_one("#print", Button).disabled, "one slip at a time"
            before = app.theme
            await keys(pilot, "f2")  # the colours change while it prints: the page is not waiting
            assert app.theme != before
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert str(app.screen.query_one("#print-message").content).startswith("Your reference is printed")
        assert fake.done.wait(5)
