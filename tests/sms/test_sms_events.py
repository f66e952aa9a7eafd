"""Session events for the take-up report, from text conversations: a report's steps in order, how
it ended, and nothing the resident typed or who they are."""

from __future__ import annotations

import pytest

import locales
from sms.simulator import inbound_params, replies
from sync.store import events
from sync.texting import conversations, numbers
from tests.sms.sms_support import MOBILE, Phone, english

ONE_SHOT = "missed recycling bin 12 High St"


def recorded(store) -> list[tuple]:
    """(session, event, service, language, step) of every event, oldest first."""
    return store.db.conn.execute(
        "SELECT session, event, service_code, language, step FROM session_events ORDER BY id").fetchall()


def steps(rows) -> list[tuple]:
    return [(event, service, step) for _session, event, service, _language, step in rows]


def everything_recorded(store) -> str:
    rows = store.db.conn.execute("SELECT * FROM session_events")
    return " ".join(str(value) for row in rows for value in row).lower()


def test_a_report_by_text_is_recorded_step_by_step_without_anything_personal(phone, sms_store):
    english(phone)
    typed = [ONE_SHOT, "SKIP", "SKIP", "SKIP", "YES", "NO"]
    for text in typed:
        phone.say(text)
    assert steps(recorded(sms_store)) == [
        (events.STARTED, None, None), (events.SERVICE, "missed_bin", None),
        (events.QUESTION, "missed_bin", "attribute.collection_date"), (events.QUESTION, "missed_bin", "name"),
        (events.QUESTION, "missed_bin", "email"), (events.QUESTION, "missed_bin", "updates_by_text"),
        (events.QUESTION, "missed_bin", "consent"), (events.CHECK, "missed_bin", None)]
    number_id = numbers.number_state(sms_store, MOBILE)["id"]
    state = conversations.load_conversation(sms_store.db.conn, sms_store, number_id).state
    assert state["session"] == recorded(sms_store)[0][0]  # the session goes on in the conversation
    assert "Your reference is" in phone.say("YES")
    rows = sms_store.db.conn.execute("SELECT session, channel, device_id, event, language, assisted "
                                     "FROM session_events ORDER BY id").fetchall()
    assert rows[-1][3] == events.SUBMITTED
    assert {row[0] for row in rows} == {state["session"]} and len(state["session"]) >= 32
    assert {(row[1], row[2], row[4], row[5]) for row in rows} == {("sms", "kiosk-test-1", "en", 0)}
    written = everything_recorded(sms_store)
    for secret in (MOBILE, MOBILE[1:], MOBILE[3:], "7911 123456", ONE_SHOT, "recycling bin", "high st", "12 high"):
        assert secret.lower() not in written, secret


def test_starting_again_ends_the_report_and_the_next_one_is_a_new_session(phone, sms_store):
    english(phone)
    phone.say("pothole outside 12 High Street")
    phone.say("NEW")
    first = recorded(sms_store)
    assert steps(first)[-1] == (events.ABANDONED, "pothole", "restart")
    phone.say("REPORT")
    phone.say("missed bin 12 High St")  # a report begun over the menu carries on in its session
    second = recorded(sms_store)[len(first):]
    assert steps(second)[:2] == [(events.STARTED, None, None), (events.SERVICE, "missed_bin", None)]
    assert len({row[0] for row in second}) == 1 and second[0][0] != first[0][0]
    phone.say("graffiti on the wall at 5 nelson street")  # another report over this one: it is abandoned
    third = recorded(sms_store)[len(first) + len(second):]
    assert steps(third)[:3] == [(events.ABANDONED, "missed_bin", "restart"), (events.STARTED, None, None),
                                (events.SERVICE, "graffiti", None)]
    assert third[0][0] == second[0][0] and third[1][0] != second[0][0]


def test_no_at_the_read_back_and_help_or_status_on_the_way(phone, sms_store):
    english(phone)
    phone.say("fly tipping behind the library")
    for answer in ("1", "1", "HELP", "SKIP", "STATUS K7Q-4MB-XP9P", "SKIP", "YES"):
        phone.say(answer)
    assert "Please check" in phone.say("NO")
    phone.say("NO")
    assert steps(recorded(sms_store))[-2:] == [(events.CHECK, "fly_tipping", None),
                                               (events.ABANDONED, "fly_tipping", "restart")]
    assert not any(row[1] == events.SUBMITTED for row in recorded(sms_store))


def test_an_expired_conversation_is_recorded_as_abandoned_when_the_resident_comes_back(phone, sms_store, clock):
    english(phone)
    phone.say("pothole outside 12 High Street")
    session = recorded(sms_store)[0][0]
    clock.advance(hours=25)
    assert "cleared after 24 hours" in phone.say("3")
    last = recorded(sms_store)[-1]
    assert last == (session, events.ABANDONED, "pothole", "en", "expired")
    clock.advance(hours=25)
    phone.say("HELP")  # nothing was left to expire
    assert recorded(sms_store)[-1] == last


@pytest.mark.skipif("cy" not in locales.shipped(), reason="Welsh not shipped")
def test_a_change_of_language_is_recorded_in_the_report_it_happened_in(phone, sms_store):
    english(phone)
    phone.say("pothole outside 12 High Street")
    phone.say("IAITH")
    phone.say("Cymraeg")
    rows = recorded(sms_store)
    assert [row[1:] for row in rows[-2:]] == [(events.LANGUAGE, "pothole", "cy", None),
                                              (events.QUESTION, "pothole", "cy", "attribute.size")]
    assert len({row[0] for row in rows}) == 1


def test_a_retried_message_records_nothing_twice(phone, sms_store):
    english(phone)
    params = inbound_params(MOBILE, "pothole outside 12 High Street", sid="SMretried0001")
    first, again = phone.post(params), phone.post(params)
    assert replies(first.text) == replies(again.text)
    assert steps(recorded(sms_store)) == [(events.STARTED, None, None), (events.SERVICE, "pothole", None),
                                          (events.QUESTION, "pothole", "attribute.size")]


def test_first_contact_help_and_status_alone_are_not_reports(client, sms_store):
    phone = Phone(client)
    phone.say("hello")
    phone.say("1")
    phone.say("HELP")
    phone.say("STATUS K7Q-4MB-XP9P")
    assert recorded(sms_store) == []
