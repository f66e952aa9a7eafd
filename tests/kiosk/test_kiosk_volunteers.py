"""Volunteer mode at the kiosk, driven as a volunteer and a resident would: signing in with a PIN
(wrong PINs, lockout, a switched-off name), the resident's consent recorded on the submission, the
banner in the resident's language, signing out by the button and by the inactivity wipe, and the
staff dashboard's actions, audited."""

from __future__ import annotations

import json

import pytest

import locales
from kiosk.screens.dashboard import AttentionScreen, DashboardScreen
from kiosk.screens.volunteer import ConsentScreen, NewPinScreen, PinScreen, VolunteerMenuScreen, VolunteerNameScreen
from sync import reference as reference_module
from sync.store import audit, pins, volunteers
from tests.helpers import draft
from tests.kiosk.kiosk_support import (
    NO_CONTACT,
    POTHOLE,
    choose,
    idle,
    keys,
    open_page,
    page,
    screen_text,
    tap,
    type_in,
    words,
)

#: Driven through a Pilot: seconds a test on a shared machine.
pytestmark = pytest.mark.slow

PIN = "246810"


def audit_rows(store) -> list[tuple]:
    return [(entry.actor, entry.action, entry.outcome) for entry in reversed(audit.recent(store, 50))]


def banner(app) -> str:
    shown = app.screen.query_one("#volunteer-banner")
    return str(shown.content) if shown.display else ""


async def sign_in(pilot, name: str = "Sam", pin: str = PIN) -> None:
    await keys(pilot, "f9")
    assert isinstance(pilot.app.screen, VolunteerNameScreen)
    await choose(pilot, name)
    assert isinstance(pilot.app.screen, PinScreen)
    await type_in(pilot, pin, "enter")


async def retype(pilot, pin: str) -> None:
    """After an error the summary has the focus (GOV.UK's pattern): tap the PIN field, type again."""
    await tap(pilot, pilot.app.screen.query_one("#pin"))
    await type_in(pilot, pin, "enter")


async def test_a_volunteer_signs_in_with_their_pin_and_the_banner_says_so(make_app, store):
    volunteers.add(store, "Sam", "volunteer", PIN)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        assert banner(app) == ""
        await sign_in(pilot)
        assert app.journey.volunteer == volunteers.Volunteer("Sam", "volunteer")
        assert page(app) == "LanguageScreen"  # back where they were, ready for a resident
        assert banner(app) == "Sam, a library volunteer, is signed in"
        assert PIN not in screen_text(app)
    assert audit_rows(store)[-1] == ("Sam", "sign_in", "ok")


async def test_a_wrong_pin_says_how_many_tries_are_left_and_five_lock_the_name(make_app, store, clock):
    volunteers.add(store, "Sam", "volunteer", PIN)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await sign_in(pilot, pin="111111")
        assert isinstance(app.screen, PinScreen) and app.journey.volunteer is None
        assert "4 more wrong tries lock this name for 15 minutes" in words(app)
        assert app.screen.query_one("#pin").value == "", "a PIN never stays on the screen"
        for _ in range(4):
            await retype(pilot, "111111")
        assert "Too many wrong PINs. Sam can sign in again after" in words(app)
        await retype(pilot, PIN)  # the right PIN, but locked
        assert app.journey.volunteer is None and "Too many wrong PINs" in words(app)
        clock.advance(minutes=15, seconds=1)
        await retype(pilot, PIN)
        assert app.journey.volunteer is not None
    outcomes = [row[2] for row in audit_rows(store) if row[1] == "sign_in"]
    assert outcomes == ["refused"] * 6 + ["ok"]


async def test_an_empty_pin_and_a_switched_off_name_are_refused_kindly(make_app, store):
    volunteers.add(store, "Sam", "volunteer", PIN)
    volunteers.add(store, "Kim", "volunteer", PIN)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await keys(pilot, "f9")
        await choose(pilot, "Kim")
        volunteers.disable(store, "Kim")  # switched off while the list was on the screen
        await keys(pilot, "enter")
        assert "Enter your PIN" in words(app)
        await retype(pilot, PIN)
        assert "This name has been switched off on this kiosk" in words(app) and app.journey.volunteer is None


async def test_with_nobody_set_up_the_sign_in_page_says_how_to_add_volunteers(make_app):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await keys(pilot, "f9")
        assert "assist volunteer add" in words(app)
        await keys(pilot, "escape")
        assert page(app) == "LanguageScreen"


async def test_the_resident_agrees_in_their_language_and_the_submission_records_it(make_app, store):
    volunteers.add(store, "Sam", "volunteer", PIN)
    app = make_app()
    welsh = locales.translator("cy")
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot)
        await choose(pilot, "cy")
        assert isinstance(app.screen, ConsentScreen)
        assert app.screen.heading_text() == welsh("Would you like {name} to help you?").format(name="Sam")
        await choose(pilot, "volunteer_types")
        assert page(app) == "WelcomeScreen"
        assert banner(app) == welsh("{name}, a library volunteer, is helping you").format(name="Sam")

        await open_page(pilot, "pothole", None, {**POTHOLE, **NO_CONTACT}, language="cy", contact_wanted=False)
        await keys(pilot, "enter")
        reference = app.screen.receipt.reference
    row = store.db.conn.execute("SELECT assisted_by, assist_consent, language FROM submissions").fetchone()
    assert row == ("Sam", "volunteer_types", "cy")
    assert store.lookup(reference).language == "cy"
    events = store.db.conn.execute("SELECT event, assisted FROM session_events ORDER BY id").fetchall()
    assert ("assisted", 1) in events and events[-1] == ("submitted", 1)


async def test_a_resident_who_declines_help_is_not_recorded_as_helped(make_app, store):
    volunteers.add(store, "Sam", "volunteer", PIN)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot)
        await choose(pilot, "en")
        await choose(pilot, "no")
        assert page(app) == "WelcomeScreen" and app.journey.volunteer is None and banner(app) == ""
        await open_page(pilot, "pothole", None, {**POTHOLE, **NO_CONTACT}, contact_wanted=False)
        await keys(pilot, "enter")
    assert store.db.conn.execute("SELECT assisted_by, assist_consent FROM submissions").fetchone() == (None, None)
    assert audit_rows(store)[-1] == ("Sam", "sign_out", "ok")


async def test_signing_in_mid_visit_asks_the_resident_at_once(make_app, store):
    volunteers.add(store, "Sam", "volunteer", PIN)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await choose(pilot, "en")
        await keys(pilot, "enter")
        await sign_in(pilot)
        assert isinstance(app.screen, ConsentScreen)
        await choose(pilot, "resident_types")
        assert page(app) == "TaskScreen" and app.journey.session.assist_consent == "resident_types"


async def test_the_inactivity_wipe_signs_the_volunteer_out(make_app, store, monotonic, settings):
    volunteers.add(store, "Sam", "volunteer", PIN)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await sign_in(pilot)
        assert app.active, "a signed-in kiosk is never left signed in unattended"
        await idle(pilot, monotonic, settings.kiosk.timeout_seconds)
        await idle(pilot, monotonic, settings.kiosk.warning_seconds)
        assert app.journey.volunteer is None and banner(app) == ""
    entry = audit.recent(store, 1)[0]
    assert (entry.actor, entry.action, entry.detail) == ("Sam", "sign_out", "inactivity")


async def test_the_sign_out_button_signs_out(make_app, store):
    volunteers.add(store, "Sam", "volunteer", PIN)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await sign_in(pilot)
        await keys(pilot, "f9")
        assert isinstance(app.screen, VolunteerMenuScreen)
        await choose(pilot, "sign_out")
        assert app.journey.volunteer is None and page(app) == "LanguageScreen"
    entry = audit.recent(store, 1)[0]
    assert (entry.action, entry.detail) == ("sign_out", "button")


def refused(store) -> str:
    """A pothole report the council refused for want of its size, as the worker leaves it."""
    reference = store.enqueue(draft(attributes={"surface": "road"})).reference
    [item] = store.claim("w")
    store.mark_sending(item.id, "w")
    store.mark_needs_attention(item.id, "w", "attribute[size] is required")
    return reference


async def open_first_refused(pilot) -> None:
    """Sign Sam in, open the dashboard and the first request that needs attention."""
    await sign_in(pilot)
    await open_dashboard(pilot)
    await keys(pilot, "1")
    assert isinstance(pilot.app.screen, AttentionScreen)


async def open_dashboard(pilot) -> None:
    await keys(pilot, "f9")
    await choose(pilot, "dashboard")
    assert isinstance(pilot.app.screen, DashboardScreen)


async def test_the_dashboard_shows_the_outbox_and_the_councils_reason(make_app, store):
    volunteers.add(store, "Sam", "volunteer", PIN)
    refused(store)
    store.enqueue(draft(description="another"))
    app = make_app()
    async with app.run_test(size=(120, 50)) as pilot:
        await sign_in(pilot)
        await open_dashboard(pilot)
        assert str(app.screen.query_one("#count-queued").content) == "1"
        assert str(app.screen.query_one("#count-needs_attention").content) == "1"
        text = words(app)
        assert "The council said: attribute[size] is required" in text
        assert "Oldest request waiting: saved" in text
        assert "has not been refreshed from the council yet" in text
        assert "Leave the kiosk for maintenance" not in text  # a volunteer, not a supervisor
        await tap(pilot, app.screen.query_one("#sync-now"))
        assert store.take_request("sync_now")
    assert ("Sam", "sync_now", "ok") in audit_rows(store)


async def test_a_correction_at_the_dashboard_is_checked_then_queued_and_audited(make_app, store):
    volunteers.add(store, "Sam", "volunteer", PIN)
    reference = refused(store)
    app = make_app()
    async with app.run_test(size=(120, 60)) as pilot:
        await open_first_refused(pilot)
        assert isinstance(app.screen, AttentionScreen)
        assert "outside 4 Station Road" in app.screen.query_one("#place").value
        size = app.screen.query_one("#q-size")
        size.value = "enormous"
        await tap(pilot, app.screen.query_one("#resend"))
        assert "Choose one of the numbered options" in words(app)
        assert store.lookup(reference).state == "needs_attention", "nothing changes until the answer is right"
        size.value = "2"
        await tap(pilot, app.screen.query_one("#resend"))
        assert isinstance(app.screen, DashboardScreen)
        assert "Nothing needs attention." in words(app)
    payload = store.personal(reference)["payload"]
    assert payload["attributes"] == {"surface": "road", "size": "medium"}
    assert store.lookup(reference).state == "queued"
    entry = audit.recent(store, 1)[0]
    assert (entry.actor, entry.action, entry.outcome, entry.detail) == ("Sam", "correct", "ok", "attributes")


async def test_a_cancel_needs_a_reason_and_keeps_it(make_app, store):
    volunteers.add(store, "Sam", "volunteer", PIN)
    reference = refused(store)
    app = make_app()
    async with app.run_test(size=(120, 60)) as pilot:
        await open_first_refused(pilot)
        await tap(pilot, app.screen.query_one("#cancel"))
        assert "Say why it is being cancelled" in words(app)
        assert store.lookup(reference).state == "needs_attention"
        app.screen.query_one("#cancel-reason").value = "duplicate of a phone report"
        await tap(pilot, app.screen.query_one("#cancel"))
        assert isinstance(app.screen, DashboardScreen)
    found = store.lookup(reference)
    assert found.state == "cancelled" and found.history[-1].notes == "duplicate of a phone report"
    assert audit_rows(store)[-1] == ("Sam", "cancel", "ok")


async def test_a_request_that_changed_meanwhile_is_not_sent_twice(make_app, store):
    volunteers.add(store, "Sam", "volunteer", PIN)
    reference = refused(store)
    app = make_app()
    async with app.run_test(size=(120, 60)) as pilot:
        await open_first_refused(pilot)
        store.requeue(reference, "resent from the command line")  # another member of staff got there first
        await tap(pilot, app.screen.query_one("#resend"))
        assert "That could not be done just now" in words(app)
    assert [entry.action for entry in audit.recent(store, 1)] == ["resend"]
    assert audit.recent(store, 1)[0].outcome == "refused"


async def test_only_a_supervisor_can_leave_the_kiosk(make_app, store):
    volunteers.add(store, "Sam", "volunteer", PIN)
    volunteers.add(store, "Pat", "supervisor", "135790")
    app = make_app()
    async with app.run_test(size=(120, 50)) as pilot:
        await sign_in(pilot)
        assert app.leave_for_maintenance() is False and app.is_running
        assert audit_rows(store)[-1] == ("Sam", "maintenance", "refused")
        await keys(pilot, "f9")
        await choose(pilot, "sign_out")
        await sign_in(pilot, "Pat", "135790")
        await open_dashboard(pilot)
        await tap(pilot, app.screen.query_one("#leave"))
    assert audit_rows(store)[-1] == ("Pat", "maintenance", "ok")
    assert app.return_code in (None, 0)


async def test_a_second_volunteer_taking_over_is_agreed_to_as_well(make_app, store):
    volunteers.add(store, "Sam", "volunteer", PIN)
    volunteers.add(store, "Kim", "volunteer", "135790")
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot)
        await choose(pilot, "en")
        await choose(pilot, "resident_types")
        await keys(pilot, "f9")
        await choose(pilot, "sign_out")
        await sign_in(pilot, "Kim", "135790")
        assert isinstance(app.screen, ConsentScreen) and "Kim" in app.screen.heading_text()
        await choose(pilot, "volunteer_types")
        assert (app.journey.session.assisted_by, app.journey.session.assist_consent) == ("Kim", "volunteer_types")


async def test_the_dashboard_waits_until_the_resident_has_finished(make_app, store):
    volunteers.add(store, "Sam", "volunteer", PIN)
    refused(store)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot)
        await choose(pilot, "en")
        await choose(pilot, "resident_types")
        await keys(pilot, "f9")
        await choose(pilot, "dashboard")
        assert not isinstance(app.screen, DashboardScreen), "another resident's request is never shown mid-visit"
        assert "attribute[size]" not in screen_text(app)


async def test_f9_on_a_staff_page_does_not_stack_pages(make_app, store):
    volunteers.add(store, "Sam", "volunteer", PIN)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await keys(pilot, "f9", "f9", "f9")
        assert [type(screen).__name__ for screen in app.screen_stack].count("VolunteerNameScreen") == 1


async def test_a_volunteer_switched_off_while_signed_in_can_do_nothing_more(make_app, store):
    volunteers.add(store, "Sam", "volunteer", PIN)
    reference = refused(store)
    app = make_app()
    async with app.run_test(size=(120, 50)) as pilot:
        await open_first_refused(pilot)
        volunteers.disable(store, "Sam")
        app.screen.query_one("#cancel-reason").value = "duplicate"
        await tap(pilot, app.screen.query_one("#cancel"))
        assert "That could not be done just now" in words(app)
    assert store.lookup(reference).state == "needs_attention"
    assert audit_rows(store)[-1] == ("Sam", "cancel", "refused")


async def test_on_a_touch_screen_the_top_bar_leads_to_volunteer_sign_in(make_app, store):
    volunteers.add(store, "Sam", "volunteer", PIN)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await tap(pilot, app.screen.query_one("#volunteer"))
        assert isinstance(app.screen, VolunteerNameScreen)
        await tap(pilot, app.screen.query_one("#volunteer"))  # again, from the sign-in page: nothing stacks
        assert [type(screen).__name__ for screen in app.screen_stack].count("VolunteerNameScreen") == 1


async def test_a_fix_made_at_the_dashboard_reaches_the_reference_back_office(tmp_path, council_server, monotonic):
    """The whole way: the council refuses a report for want of its size, a volunteer puts the size
    in at the kiosk, and the next worker round delivers it, corrected, over HTTP."""
    from kiosk.app import KioskApp
    from kiosk.speech import Speaker
    from sync.open311.worker import Worker
    from tests.sync.open311.worker_support import API_KEY, make
    from tests.sync.store.test_staff_actions import council_row

    url = council_server(api_key=API_KEY)
    settings, store = make(tmp_path, url)
    volunteers.add(store, "Sam", "volunteer", PIN)
    reference = store.enqueue(draft(attributes={"surface": "road"})).reference
    worker = Worker(store, settings)
    try:
        assert (await worker.drain()).needs_attention == 1
        app = KioskApp(settings, store, monotonic=monotonic, cursor_blink=False,
                       speaker=Speaker(find=lambda name: None))
        async with app.run_test(size=(120, 60)) as pilot:
            await open_first_refused(pilot)
            assert "size" in str(app.screen.query_one("#reason").content)
            app.screen.query_one("#q-size").value = "Medium"
            await tap(pilot, app.screen.query_one("#resend"))
            assert isinstance(app.screen, DashboardScreen)
        assert (await worker.drain()).accepted == 1
    finally:
        await worker.aclose()
        store.close()
    [(attributes, _, description)] = council_row(url)
    assert json.loads(attributes) == {"size": "medium", "surface": "road"}
    assert reference_module.display(reference) in description


async def test_the_dashboard_says_when_the_council_cannot_be_reached_or_sending_is_paused(make_app, store):
    volunteers.add(store, "Sam", "volunteer", PIN)
    app = make_app()
    async with app.run_test(size=(120, 50)) as pilot:
        await sign_in(pilot)
        assert "has not tried to reach the council yet" in (await dashboard_text(pilot))
        store.set_backoffice_state("default", reachable=False, error="cannot connect")
        assert "The council cannot be reached just now" in (await dashboard_text(pilot))
        store.set_backoffice_state("default", reachable=True, paused=True,
                                   paused_reason="the council refused the API key")
        assert "Sending is paused: the council refused the API key" in (await dashboard_text(pilot))


async def dashboard_text(pilot) -> str:
    """The dashboard drawn afresh from the store, as a volunteer opening it would see it."""
    if not isinstance(pilot.app.screen, DashboardScreen):
        await open_dashboard(pilot)
    else:
        await pilot.app.screen.redraw()
    return words(pilot.app)


def lost(store) -> str:
    """A request whose answer was lost and never found at the council: maybe sent."""
    reference = refused(store)
    store.db.conn.execute("UPDATE submissions SET maybe_sent = 1 WHERE reference = ?", (reference,))
    return reference


async def test_a_request_that_may_be_at_the_council_is_resolved_by_a_supervisor_never_resent(make_app, store):
    volunteers.add(store, "Sam", "volunteer", PIN)
    volunteers.add(store, "Pat", "supervisor", "135790")
    reference = lost(store)
    app = make_app()
    async with app.run_test(size=(120, 80)) as pilot:
        await open_first_refused(pilot)
        assert "may already be at the council" in words(app)
        assert not app.screen.query("#resolve-at-council") and not app.screen.query("#resolve-not-at-council")
        await tap(pilot, app.screen.query_one("#resend"))
        assert "cannot be sent again until a supervisor resolves it" in words(app)
        assert store.lookup(reference).state == "needs_attention"
        assert audit_rows(store)[-1] == ("Sam", "resend", "refused")
    app = make_app()
    async with app.run_test(size=(120, 80)) as pilot:
        await sign_in(pilot, "Pat", "135790")
        await open_dashboard(pilot)
        await keys(pilot, "1")
        await tap(pilot, app.screen.query_one("#resolve-at-council"))
        assert "Enter the council's id for this request" in words(app)
        app.screen.query_one("#council-id").value = " 4021 "
        await tap(pilot, app.screen.query_one("#resolve-at-council"))
        assert isinstance(app.screen, DashboardScreen)
        assert store.pending_resolutions()[0]["council_id"] == "4021" and store.take_request("sync_now")
        await keys(pilot, "1")
        assert "Waiting for the sync worker to check the council's id 4021." in words(app)
        store.decide_resolution(store.pending_resolutions()[0]["id"], "refused", "the council has no request 4021")
        await keys(pilot, "escape")
        await keys(pilot, "1")
        assert "The council's id 4021 was not adopted: the council has no request 4021" in words(app)
        await tap(pilot, app.screen.query_one("#resolve-not-at-council"))
        assert isinstance(app.screen, DashboardScreen)
    assert store.lookup(reference).state == "queued"
    assert store.db.conn.execute("SELECT maybe_sent FROM submissions").fetchone()[0] == 0
    assert [row for row in audit_rows(store) if row[1] == "resolve"] == [("Pat", "resolve", "ok")] * 2


async def test_a_right_but_weak_pin_must_be_changed_before_the_volunteer_goes_on(make_app, store):
    volunteers.add(store, "Sam", "volunteer", PIN)
    store.db.conn.execute("UPDATE volunteers SET pin_hash = ? WHERE name = 'Sam'", (pins.hash_pin("123456"),))
    store.db.conn.commit()  # an account from before the PIN rules
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await sign_in(pilot, pin="123456")
        assert isinstance(app.screen, NewPinScreen) and app.journey.volunteer is None
        assert "Your PIN is too easy to guess. Choose a new one to go on." in words(app)
        await type_in(pilot, "111111", "enter")
        assert "That PIN is too easy to guess or too short. Choose another." in words(app)
        await retype(pilot, "480617")
        assert "Type the new PIN again." in words(app)
        await type_in(pilot, "480618", "enter")
        assert "The two PINs were not the same" in words(app) and app.journey.volunteer is None
        for pin in ("480617", "480617"):
            await retype(pilot, pin)
        assert app.journey.volunteer == volunteers.Volunteer("Sam", "volunteer")
        assert "480617" not in screen_text(app)
    assert volunteers.sign_in(store, "Sam", "480617").name == "Sam"
