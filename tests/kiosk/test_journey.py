"""The journey's rules without a terminal: which page follows each thing a resident does, what is
recorded for take-up, what is saved, and what is forgotten. A real store in a temporary folder,
no Pilot: each test runs in milliseconds."""

from __future__ import annotations

import pytest

from kiosk import pages
from kiosk.journey import Journey
from kiosk.session import URGENT
from sync.store import volunteers
from sync.store.db import StoreFull
from tests.kiosk.kiosk_support import NO_CONTACT, POTHOLE

#: Signed in (the PIN is `sync.store.volunteers`' business, tested there).
SAM = volunteers.Volunteer("Sam", "volunteer")


@pytest.fixture
def journey(store) -> Journey:
    return Journey(store, "kiosk-test")


def recorded(store) -> list[tuple]:
    return store.db.conn.execute("SELECT event, step, language FROM session_events ORDER BY id").fetchall()


def keys_of(page: pages.Page) -> str:
    """A page as a short name: the question's key for a question page."""
    return page.question.key if isinstance(page, pages.Question) else type(page).__name__


def test_choosing_a_language_starts_a_visit_and_shows_the_welcome(journey, store):
    assert journey.language_chosen("cy") == [pages.Welcome()]
    assert journey.session.language == "cy" and journey.session.started
    assert journey.language_chosen("en") == [pages.Welcome()], "back to the first page, another language"
    assert journey.language_chosen("en") == [pages.Welcome()], "the first page again, in the same language"
    # each return to the first page is recorded: the take-up report counts what follows as the next visit
    assert recorded(store) == [("started", None, "cy"), ("language", None, "en"), ("language", None, "en")]


def test_a_language_switched_mid_visit_keeps_the_answers(journey, store):
    journey.language_chosen("en")
    journey.service_chosen("pothole")
    journey.answered("location", POTHOLE["location"])
    assert journey.language_switched("ar") is True and journey.language_switched("ar") is False
    assert journey.session.answers["location"] == POTHOLE["location"] and journey.session.language == "ar"
    assert [row[0] for row in recorded(store)][-1] == "language"


def test_a_status_check_goes_to_the_reference_page(journey, store):
    journey.language_chosen("en")
    assert journey.welcome_read() == pages.Tasks()
    assert journey.task_chosen("status") == pages.Reference()
    assert recorded(store)[-1][0] == "status"


def test_a_report_offers_groups_then_the_services_in_a_group(journey):
    groups = journey.task_chosen("report")
    assert isinstance(groups, pages.Groups) and "Roads, pavements and street lights" in groups.groups
    services = journey.group_chosen("Roads, pavements and street lights")
    assert isinstance(services, pages.Services) and "pothole" in [service.code for service in services.services]


def test_a_service_the_catalogue_no_longer_has_stays_put(journey, store):
    assert journey.service_chosen("no_such_service") is None
    assert journey.session.service is None and recorded(store) == []


def test_the_pothole_pages_in_order_from_the_urgent_notice_to_the_check(journey, store):
    journey.language_chosen("en")
    shown = [journey.service_chosen("pothole")]
    assert shown[0] == pages.Urgent(journey.catalogue.get("pothole"))
    shown.append(journey.notice_read(URGENT))
    for key in ("location", "attribute.size", "attribute.surface", "description"):
        assert keys_of(shown[-1]) == key
        shown.append(journey.answered(key, POTHOLE[key]))
    assert shown[-1] == pages.Contact()
    shown.append(journey.contact_chosen(False))
    assert [keys_of(page) for page in shown] == ["Urgent", "location", "attribute.size", "attribute.surface",
                                               "description", "Contact", "Check"]
    assert [row[:2] for row in recorded(store)] == [
        ("started", None), ("service", None), ("question", "urgent"), ("question", "location"),
        ("question", "attribute.size"), ("question", "attribute.surface"), ("question", "description"),
        ("question", "contact"), ("check", None)]


def test_contact_details_wanted_leads_to_the_contact_questions(journey):
    journey.service_chosen("pothole")
    for key, value in POTHOLE.items():
        journey.answered(key, value)
    assert keys_of(journey.contact_chosen(True)) == "name"
    assert journey.session.contact_wanted is True


def test_a_change_goes_back_to_the_check_unless_it_calls_for_another_answer(journey):
    journey.service_chosen("pothole")
    for key, value in {**POTHOLE, **NO_CONTACT}.items():
        journey.answered(key, value)
    journey.contact_chosen(False)
    change = journey.change_requested("description")
    assert isinstance(change, pages.Question) and change.changing
    assert journey.answered("description", "Deeper now", changing=True) == pages.BackToCheck()
    assert journey.session.answers["description"] == "Deeper now"
    journey.contact_chosen(True)
    after = journey.answered("phone", "+447911123456", changing=True)
    assert keys_of(after) == "updates_by_text" and after.changing, "a new mobile number: texts, please?"


def test_send_saves_one_submission_and_a_second_tap_saves_nothing(journey, store):
    journey.language_chosen("en")
    journey.service_chosen("pothole")
    for key, value in {**POTHOLE, **NO_CONTACT}.items():
        journey.answered(key, value)
    journey.contact_chosen(False)
    reference, confirmation = journey.send()
    assert confirmation.receipt.journey == "report" and confirmation.receipt.texted_to is None
    assert store.lookup(reference).service_code == "pothole"
    assert journey.send() is None
    assert store.counts()["queued"] == 1 and recorded(store)[-1][0] == "submitted"
    journey.end("saved", keep_language=True)
    assert journey.send() is None, "after the wipe there is nothing to send"
    assert [row[0] for row in recorded(store)].count("abandoned") == 0


def test_a_full_store_loses_nothing_typed(journey, store, monkeypatch):
    journey.service_chosen("pothole")
    for key, value in {**POTHOLE, **NO_CONTACT}.items():
        journey.answered(key, value)

    def full(draft):
        raise StoreFull("full")

    monkeypatch.setattr(store, "enqueue", full)
    with pytest.raises(StoreFull):
        journey.send()
    assert journey.session.answers["description"] == POTHOLE["description"] and not journey.saved


def test_ending_a_visit_forgets_everything_and_records_why(journey, store):
    journey.language_chosen("cy")
    journey.service_chosen("pothole")
    journey.answered("location", POTHOLE["location"])
    answers = journey.session.answers
    journey.end("timeout")
    assert answers == {} and journey.session.pristine and journey.session.language == "en"
    assert recorded(store)[-1][:2] == ("abandoned", "timeout")
    assert not journey.active


def test_a_volunteer_is_offered_to_the_resident_and_their_answer_recorded(journey, store):
    assert journey.signed_in(SAM) is None, "between residents: nobody to ask"
    assert journey.active, "a signed-in kiosk is never left signed in unattended"
    assert journey.language_chosen("en") == [pages.Welcome(), pages.Consent("Sam")]
    journey.consented("resident_types")
    assert journey.session.assisted_by == "Sam" and journey.consent_page() is None
    assert recorded(store)[-1][0] == "assisted"
    journey.end("timeout")
    assert journey.volunteer is None, "the inactivity wipe signs the volunteer out"


def test_declining_help_signs_the_volunteer_out(journey, store):
    journey.language_chosen("en")
    assert journey.signed_in(SAM) == pages.Consent("Sam")
    journey.consented(None)
    assert journey.volunteer is None and journey.session.assisted_by is None

