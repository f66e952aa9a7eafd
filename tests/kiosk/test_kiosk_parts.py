"""The kiosk's parts on their own: the order of pages, espeak-ng's command line, the big reference
font, plain-language statuses, and `assist kiosk` itself."""

from __future__ import annotations

import logging
import re
import subprocess
from pathlib import Path

import pytest

from kiosk import statuses
from kiosk.session import CONTACT, URGENT, Session
from kiosk.speech import Speaker
from kiosk.widgets.bigtext import GLYPHS, big_lines, big_width
from locales import translator
from sync import reference
from sync.catalogue import bundled
from tests.kiosk.kiosk_support import FakePopen


def test_pages_put_the_urgent_notice_first_and_explain_contact_details_before_asking():
    session = Session()
    session.choose_service(bundled().get("pothole"))
    assert session.pages() == [URGENT, "location", "attribute.size", "attribute.surface", "description", CONTACT,
                               "name", "phone", "email"]
    session.skip_contact()
    assert session.pages()[-2:] == ["description", CONTACT] and session.page_after(CONTACT) is None
    session.answer("phone", "+447911123456")
    assert session.pages()[-3:] == ["email", "updates_by_text", "consent"]
    session.answer("phone", None)
    assert "updates_by_text" not in session.pages()


def test_answers_that_no_longer_apply_are_dropped_and_a_new_service_starts_afresh():
    session = Session()
    session.choose_service(bundled().get("pothole"))
    session.answer("phone", "+447911123456")
    session.answer("updates_by_text", "yes")
    session.answer("consent", "yes")
    session.answer("phone", None)
    assert "updates_by_text" not in session.answers and "consent" not in session.answers
    key = session.idempotency_key
    session.choose_service(bundled().get("pothole"))
    assert session.answers and session.idempotency_key == key, "the same service keeps the draft"
    session.choose_service(bundled().get("graffiti"))
    assert session.answers == {} and session.idempotency_key != key
    session.wipe()
    assert session.pristine and session.language == "en"


def test_espeak_ng_gets_the_voice_for_the_language_and_the_text_on_stdin():
    FakePopen.calls = []
    speaker = Speaker("/usr/bin/espeak-ng", popen=FakePopen)
    assert speaker.command("en")[:3] == ["/usr/bin/espeak-ng", "-v", "en-gb"]
    speaker.say("Ble mae'r broblem?", "cy")
    [call] = FakePopen.calls
    assert call.args == ["/usr/bin/espeak-ng", "-v", "cy", "-s", "150", "-b", "1", "--stdin"]
    assert call.kwargs["stdin"] == subprocess.PIPE and call.written == "Ble mae'r broblem?".encode()
    speaker.stop()
    assert call.terminated
    assert not Speaker(find=lambda name: None).available


def test_a_broken_espeak_ng_is_logged_not_fatal(caplog):
    def broken(*args, **kwargs):
        raise OSError("exec format error")

    with caplog.at_level(logging.WARNING):
        Speaker("/usr/bin/espeak-ng", popen=broken).say("Hello", "en")
    assert "read-aloud failed" in caplog.text


def test_the_big_font_draws_every_reference_character_and_fits_80_columns():
    assert set(reference.ALPHABET) <= set(GLYPHS)
    shown = reference.display(reference.new_reference())
    lines = big_lines(shown)
    assert len(lines) == 4 and all(len(line) == big_width(shown) for line in lines)
    assert big_width(shown) <= 76
    assert big_lines("K7Q-0") is None, "0 is not in the alphabet: no glyph, plain text instead"


@pytest.mark.parametrize("status, council, english", [
    ("queued", False, "Saved on this kiosk. It will be sent to the council as soon as there is a connection."),
    ("fixed", True, "Fixed"),
    ("some_new_status", True, "Some new status"),
])
def test_statuses_in_plain_words(status, council, english):
    assert statuses.describe(status, translator("en"), council=council) == english
    welsh = statuses.describe(status, translator("cy"), council=council)
    assert welsh and (welsh != english or status == "some_new_status")  # an unknown status is shown as written


def test_assist_kiosk_is_a_command(run):
    result = run("kiosk", "--help")
    assert result.exit_code == 0 and "library kiosk" in result.output


def test_assist_kiosk_logs_to_a_file_not_the_residents_screen(run, settings, monkeypatch):
    from kiosk.app import KioskApp

    started = {}

    def fake_run(self, **kwargs):
        started["app"] = self
        logging.getLogger("kiosk.test").warning("a line for staff")

    monkeypatch.setattr(KioskApp, "run", fake_run)
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        result = run("kiosk")
        assert result.exit_code == 0, result.output
        app = started["app"]
        assert app.handle_signals and app.store is not None
        log_file = settings.store_path.with_name("kiosk.log")
        assert "a line for staff" in log_file.read_text()
        assert "gazetteer is empty" in log_file.read_text()
        assert not any(type(handler) is logging.StreamHandler for handler in root.handlers)
    finally:
        for handler in list(root.handlers):
            if handler not in before:
                root.removeHandler(handler)
                handler.close()
        for handler in before:
            if handler not in root.handlers:
                root.addHandler(handler)


async def test_the_first_ten_choices_carry_a_number_key_the_tenth_zero():
    from textual.app import App

    from kiosk.widgets.choices import Choice, ChoiceList

    class Twelve(App):
        def compose(self):
            yield ChoiceList([Choice(str(n), f"Choice {n}") for n in range(1, 13)], "menu")

    app = Twelve()
    picked = []
    async with app.run_test(size=(40, 30), message_hook=picked.append) as pilot:
        choices = app.query_one(ChoiceList)
        lines = [strip.text for strip in app.screen._compositor.render_strips()]
        badges = {n: next(line for line in lines if f"Choice {n} " in line + " ").split()[0] for n in (9, 10, 11)}
        assert badges == {9: "9", 10: "0", 11: "•"}
        assert not choices.pick_number(11) and choices.pick_number(10)
        await pilot.pause()
        assert [m.key for m in picked if isinstance(m, ChoiceList.Picked)][:1] == ["10"]
        assert "0. Choice 10." in choices.spoken() and "-. Choice 11." in choices.spoken()


def test_every_theme_sets_every_colour_the_stylesheets_use():
    from kiosk import themes

    for theme in (themes.CONTRAST, themes.YELLOW_ON_BLACK):
        assert set(themes.VARIABLE_NAMES) <= set(theme.variables), theme.name
    css = "".join(path.read_text() for path in Path(themes.__file__).parent.rglob("*.tcss"))
    used = set(re.findall(r"\$(kiosk-[a-z-]+)", css))
    assert used <= set(themes.VARIABLE_NAMES)
