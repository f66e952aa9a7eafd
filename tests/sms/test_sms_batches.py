"""Messages taken together (group commit) and what goes wrong with them: several in one batch, one
failing among them, a request that cannot be saved, a batch that cannot be committed, a service
withdrawn under a conversation, and the bot's memory of numbers when something else writes."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from datetime import timedelta

import httpx
import pytest

import locales
from sms import batch as batch_module
from sms.messages import Inbound
from sms.recognise import Recogniser
from sms.simulator import inbound_params, replies, sign
from sync.catalogue import Catalogue, Service
from sync.store import Store
from sync.store.db import StoreBusy, StoreFull
from sync.texting import conversations, numbers, wording
from tests.helpers import draft
from tests.sms.sms_support import AUTH_TOKEN, MOBILE, OTHER_MOBILE, PUBLIC_URL, Phone, english, welsh

SORRY = "Sorry, something went wrong"


def message(sender: str, body: str, sid: str | None = None) -> Inbound:
    return Inbound(sid or "SM" + uuid.uuid4().hex, sender, body)


def submissions(store) -> int:
    return store.db.conn.execute("SELECT count(*) FROM submissions").fetchone()[0]


def claimed(store, sid: str) -> bool:
    return store.db.conn.execute("SELECT 1 FROM sms_inbound WHERE message_sid = ?", (sid,)).fetchone() is not None


def to_read_back(phone: Phone) -> str:
    phone.say("fly tipping behind the library")
    for answer in ("1", "1", "SKIP", "SKIP", "NO"):
        phone.say(answer)
    return phone.say("NO")


def test_messages_from_several_numbers_in_one_batch_are_each_answered_in_order(client, sms_app, sms_store):
    english(Phone(client, MOBILE))
    english(Phone(client, OTHER_MOBILE))
    batch = [message(MOBILE, "pothole outside 12 High Street"), message(OTHER_MOBILE, "missed bin 12 High St"),
             message(MOBILE, "3")]  # the same number twice: its second message follows on from its first
    answers = sms_app.state.sms.bot.handle_many(batch)
    assert "How big" in answers[0].text and "Which bin" in answers[1].text
    assert "Where on the street" in answers[2].text
    assert all(claimed(sms_store, item.sid) for item in batch)
    number_id = numbers.number_state(sms_store, MOBILE)["id"]
    state = conversations.load_conversation(sms_store.db.conn, sms_store, number_id).state
    assert state["answers"]["attribute.size"] and state["question"] != "attribute.size"  # both steps kept


async def test_webhooks_arriving_together_are_taken_in_one_batch(sms_app, sms_store):
    bot = sms_app.state.sms.bot
    sizes: list[int] = []
    taken = bot.handle_many

    def counting(inbounds):
        sizes.append(len(inbounds))
        return taken(inbounds)

    bot.handle_many = counting

    async def text(http: httpx.AsyncClient, sender: str, body: str) -> list[str]:
        params = inbound_params(sender, body)
        signature = sign(AUTH_TOKEN, PUBLIC_URL + "/sms/inbound", params)
        response = await http.post("/sms/inbound", data=params, headers={"X-Twilio-Signature": signature})
        assert response.status_code == 200
        return replies(response.text)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sms_app), base_url="http://testserver") as http:
        senders = [f"+4479111{number:05d}" for number in range(8)]
        answers = await asyncio.gather(*(text(http, sender, "hello") for sender in senders))
    assert all("Which language?" in answer[0] for answer in answers)
    assert sum(sizes) == len(senders) and max(sizes) > 1
    assert sms_store.db.conn.execute("SELECT count(*) FROM sms_numbers").fetchone()[0] == len(senders)


def test_a_batch_is_logged_as_one_line_naming_each_message_and_what_was_done(client, sms_app, caplog):
    """One line a batch (it is one transaction): each MessageSid with what the bot did, never
    the number or the words."""
    import logging

    english(Phone(client, MOBILE))
    english(Phone(client, OTHER_MOBILE))
    batch = [message(MOBILE, "pothole outside 12 High Street"), message(OTHER_MOBILE, "HELP")]
    caplog.set_level(logging.INFO, logger="sms.batch")
    caplog.clear()
    sms_app.state.sms.bot.handle_many(batch)
    lines = [record.getMessage() for record in caplog.records if record.name == "sms.batch"]
    assert len(lines) == 1
    assert f"{batch[0].sid}: asked attribute.size (pothole)" in lines[0] and f"{batch[1].sid}: help" in lines[0]
    assert MOBILE not in lines[0] and "High Street" not in lines[0]


def test_one_message_failing_in_a_batch_is_apologised_for_and_touches_no_other(client, sms_app, sms_store,
                                                                                   monkeypatch, caplog):
    english(Phone(client, MOBILE))
    english(Phone(client, OTHER_MOBILE))
    recognise = Recogniser.recognise

    def breaking(self, text, language=None, also=()):
        if "boom" in text:
            raise RuntimeError("a bug")
        return recognise(self, text, language, also)

    monkeypatch.setattr(Recogniser, "recognise", breaking)
    bot = sms_app.state.sms.bot
    batch = [message(MOBILE, "pothole outside 12 High Street"), message(OTHER_MOBILE, "boom 12 High Street"),
             message(MOBILE, "3")]
    answers = bot.handle_many(batch)
    assert "How big" in answers[0].text and "Where on the street" in answers[2].text
    assert answers[1].text.startswith(SORRY) and "01632 960000" in answers[1].text
    assert f"{batch[1].sid}: could not handle the message" in caplog.text and "boom" not in caplog.text
    assert not claimed(sms_store, batch[1].sid)  # nothing of it was kept: Twilio's retry is taken afresh
    other = numbers.number_state(sms_store, OTHER_MOBILE)["id"]
    assert conversations.load_conversation(sms_store.db.conn, sms_store, other).state == {}
    monkeypatch.undo()
    retried = bot.handle_many([message(OTHER_MOBILE, "boom 12 High Street", sid=batch[1].sid)])[0]
    assert not retried.text.startswith(SORRY) and claimed(sms_store, batch[1].sid)


def test_a_request_that_cannot_be_saved_stays_at_the_read_back_for_yes_again(phone, sms_store, monkeypatch):
    english(phone)
    assert "Please check" in to_read_back(phone)

    def full(_draft):
        raise StoreFull("There is no room left to save on this machine.")

    monkeypatch.setattr(sms_store, "enqueue", full)
    answer = phone.say("YES")
    assert answer.startswith(SORRY) and "01632 960000" in answer
    assert submissions(sms_store) == 0
    monkeypatch.undo()
    assert "Your reference is" in phone.say("YES")
    assert submissions(sms_store) == 1


def test_a_batch_that_cannot_be_committed_keeps_nothing_and_the_retry_saves_once(phone, sms_store, monkeypatch):
    english(phone)
    to_read_back(phone)
    params = inbound_params(MOBILE, "YES", sid="SMconfirm-lost")

    def failing(self, conn):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(batch_module.Written, "write", failing)
    first = replies(phone.post(params).text)
    assert first[0].startswith(SORRY)
    assert submissions(sms_store) == 0 and not claimed(sms_store, "SMconfirm-lost")
    monkeypatch.undo()
    again = replies(phone.post(params).text)  # Twilio retries: the step is taken afresh, once
    assert "Your reference is" in again[0]
    assert replies(phone.post(params).text) == again
    assert submissions(sms_store) == 1


def council_catalogue_without_missed_bins() -> Catalogue:
    return Catalogue(version="council-7", source="council",
                     services=(Service(code="pothole", name="Highways - Pothole", group="Highways"),))


@pytest.mark.parametrize("where", ["at a question", "at the read-back"])
def test_a_service_withdrawn_mid_conversation_starts_again_politely(phone, sms_store, where):
    english(phone)
    if where == "at a question":
        assert "Which bin" in phone.say("missed bin 12 High St")
        sms_store.save_council_catalogue(council_catalogue_without_missed_bins())
        answer = phone.say("2")
    else:
        assert "Please check" in to_read_back(phone)
        sms_store.save_council_catalogue(council_catalogue_without_missed_bins())
        answer = phone.say("YES")
    assert answer.startswith("Started again") and SORRY not in answer
    assert submissions(sms_store) == 0
    assert phone.say("pothole outside 12 High Street").startswith("Pothole.")  # what is still offered works


@pytest.mark.skipif("cy" not in locales.shipped(), reason="Welsh not shipped")
def test_a_welsh_status_request_for_a_request_that_exists_is_answered_in_welsh(client, sms_store, clock):
    phone = welsh(Phone(client))
    saved = sms_store.enqueue(draft(language="cy"))
    sms_store.record_status(saved.id, "in_progress", "Bydd criw yno ddydd Gwener")
    answer = phone.say(f"STATWS {saved.display_reference.lower()}")
    t = locales.translator("cy")
    assert saved.display_reference in answer and "Bydd criw yno ddydd Gwener" in answer
    assert t(wording.STATUS_LABELS["in_progress"]) in answer and "in progress" not in answer
    assert t.date(clock.now.date(), format="medium") in answer
    assert t("Pothole") in answer


@pytest.mark.parametrize("writer", ["this process", "another process"])
def test_the_memory_of_numbers_follows_what_others_write_to_the_store(phone, sms_store, sms_settings, writer):
    english(phone)
    assert "How big" in phone.say("pothole outside 12 High Street")
    if writer == "this process":  # a delivery callback or a staff command, on the bot's own connection
        numbers.opt_out(sms_store, MOBILE, by="staff")
    else:  # the sync worker, or `assist sms` run by staff
        other = Store.open(sms_settings)
        numbers.opt_out(other, MOBILE, by="staff")
        other.close()
    assert phone.say("3") == ""  # opted out: not answered, and the conversation not moved on
    assert "Welcome back" in phone.say("START")
    assert "Where on the street" in phone.say("3")


def committed_full(statements: list[str], full: bool) -> list[str]:
    """What each commit was, "full" or "normal", in order, from the connection's statement trace
    (`full`: the setting when the trace began)."""
    found = []
    for statement in statements:
        if statement.startswith("PRAGMA synchronous"):
            full = statement.endswith("FULL")
        elif statement == "COMMIT":
            found.append("full" if full else "normal")
    return found


def test_saved_requests_opt_outs_and_opt_ins_are_on_disk_before_the_reply_leaves(phone, sms_store, sms_settings):
    english(phone)
    to_read_back(phone)
    statements: list[str] = []
    sms_store.db.conn.set_trace_callback(statements.append)

    def commits(words: str) -> list[str]:
        full = sms_store.db.conn.execute("PRAGMA synchronous").fetchone()[0] == 2
        statements.clear()
        phone.say(words)
        return committed_full(statements, full)

    assert commits("YES") == ["normal", "full"]  # the step, then "sync now" with an fsync, then the reply
    assert any(statement.startswith("INSERT INTO requests") for statement in statements)
    assert commits("HELP") == ["normal"]
    assert commits("STOP") == ["full"]  # foreseen from the words
    assert commits("YES") == ["full"]  # YES opts back in a number known to have opted out
    assert commits("YES") == ["normal"]  # ...and means nothing of the sort for one that has not
    other = Store.open(sms_settings)  # the worker hears Twilio's 21610 for this number
    numbers.opt_out(other, MOBILE, by="provider")
    other.close()
    assert commits("YES") == ["normal", "full"]  # not foreseen: made durable before the reply all the same
    assert numbers.number_state(sms_store, MOBILE)["opted_out_at"] is None
    sms_store.db.conn.set_trace_callback(None)


def test_when_sync_now_cannot_be_written_the_saved_request_is_still_on_disk_before_the_reply(phone, sms_store,
                                                                                            monkeypatch):
    english(phone)
    to_read_back(phone)
    order: list[str] = []

    def busy(name: str) -> None:
        order.append("sync now refused")
        raise StoreBusy("the worker holds the lock")

    flush = batch_module.db_module.flush_wal
    monkeypatch.setattr(sms_store, "request", busy)
    monkeypatch.setattr(batch_module.db_module, "flush_wal", lambda db: (order.append("wal fsynced"), flush(db)))
    reply = phone.say("YES")
    assert order == ["sync now refused", "wal fsynced"]
    assert submissions(sms_store) == 1 and "reference" in reply.lower()


def test_a_conversation_saved_by_the_old_bot_goes_on_where_it_was(phone, sms_store, clock):
    """Conversations saved before the modes became classes (a dict of string keys, with keys the
    mode no longer uses) load as the same mode: the resident's next answer follows on."""
    from sync.store import db as db_module
    from sync.store import iso

    english(phone)
    number_id = numbers.number_state(sms_store, MOBILE)["id"]
    old = {"mode": "asking", "service": "pothole", "question": "attribute.size", "conv": "0" * 32,
           "answers": {"location": {"address_string": "12 High Street, Brackenford"}}, "session": "f" * 32,
           "options": [], "number": "", "page": 0}
    with db_module.write(sms_store.db) as conn:
        conversations.save_conversations(conn, sms_store, [(number_id, json.dumps(old))], iso(clock.now),
                                 iso(clock.now + timedelta(hours=1)))
    assert "Where on the street" in phone.say("3")
    state = conversations.load_conversation(sms_store.db.conn, sms_store, number_id).state
    assert state["answers"]["attribute.size"] == "large" and state["session"] == "f" * 32
    assert "options" not in state and "page" not in state  # saved again in the mode's own form
