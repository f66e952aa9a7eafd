"""One row that cannot be opened never stops the rest: a damaged submission goes to staff and a
damaged text fails, while everything else is sent (the reference back office over loopback, the
real CLI, a byte flipped in the SQLite file itself)."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3

import httpx
import psycopg

from sync.config import Settings, load_settings
from sync.store import UNOPENABLE, Store
from sync.texting import outbound
from sync.texting.sender import TextSender
from tests.helpers import PHONE, draft, worker_round
from tests.sms.sms_support import sms_env

API_KEY = "council-key-1"


#: A sealed value that no key opens.
DAMAGED = bytes.fromhex("02deadbeef")


def flip_a_byte(settings: Settings, table: str, column: str, row_id: int) -> None:
    """Damage one sealed value where it lies: in the SQLite file (the store must be closed), or
    in its PostgreSQL row (no file of ours to reach: the value itself, one bit)."""
    if settings.on_postgres:
        with psycopg.connect(settings.store.url, autocommit=True) as pg:
            sealed = bytearray(pg.execute(f"SELECT {column} FROM {table} WHERE id = %s", (row_id,)).fetchone()[0])
            sealed[len(sealed) // 2] ^= 0x01
            pg.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", (bytes(sealed), row_id))
        return
    db_path = settings.store_path
    with sqlite3.connect(db_path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        sealed = conn.execute(f"SELECT {column} FROM {table} WHERE id = ?", (row_id,)).fetchone()[0]
    conn.close()
    data = bytearray(db_path.read_bytes())
    at = data.find(sealed)
    assert at > 0 and data.find(sealed, at + 1) == -1, "the sealed value should lie once, whole, in the file"
    data[at + len(sealed) // 2] ^= 0x01
    db_path.write_bytes(bytes(data))


def council_env(env: dict[str, str], url: str, **extra: str) -> dict[str, str]:
    return {**env, "ASSIST_BACKOFFICE__URL": url, "ASSIST_BACKOFFICE__API_KEY": API_KEY,
            "ASSIST_SYNC__BACKOFF_BASE_SECONDS": "0", "ASSIST_SYNC__TIMEOUT_SECONDS": "5", **extra}


def test_one_damaged_submission_of_30_needs_attention_and_29_reach_the_council(env, council_server, run, caplog):
    url = council_server(api_key=API_KEY)
    settings = load_settings(environ=council_env(env, url))
    store = Store.open(settings)
    saved = [store.enqueue(draft(idempotency_key=str(n), notify_phone=None)) for n in range(30)]
    store.close()
    damaged = saved[17]
    flip_a_byte(settings, "submissions", "payload", damaged.id)

    caplog.set_level(logging.INFO)
    extra = council_env({}, url, ASSIST_SYNC__BATCH_SIZE="7")  # the damaged one shares a batch with others
    result = run("sync", "run", "--once", extra_env=extra)
    assert result.exit_code == 0 and "Traceback" not in result.output
    assert "accepted 29" in result.output

    at_council = httpx.get(f"{url}requests.json", params={"page_size": 1000}).json()
    assert len(at_council) == 29
    assert not any(damaged.display_reference in request["description"] for request in at_council)
    store = Store.open(settings)
    [row] = store.listing(["needs_attention"])
    assert row["reference"] == damaged.reference and row["last_error"] == UNOPENABLE and not row["maybe_sent"]
    assert store.counts()["accepted"] == 29
    assert [event["kind"] for event in store.outline(damaged.reference)["events"]] == ["unopenable"]
    lines = [record.getMessage() for record in caplog.records if UNOPENABLE in record.getMessage()]
    assert lines == [f"{damaged.display_reference}: {UNOPENABLE}; it needs attention"]
    assert not any(record.exc_info for record in caplog.records)

    again = run("sync", "run", "--once", extra_env=extra)  # the next run is not stopped either
    assert "accepted 0" in again.output and len(httpx.get(f"{url}requests.json").json()) == 29
    status = run("sync", "status", extra_env=extra).output
    assert f"{UNOPENABLE}: 1 submission(s)" in status
    store.close()


def test_a_damaged_submission_that_had_been_sent_may_be_at_the_council(store, clock):
    first = store.enqueue(draft(idempotency_key="a"))
    store.enqueue(draft(idempotency_key="b"))
    [item, _] = store.claim("w", 2)
    store.mark_sending(item.id, "w")  # sent, then the worker died before the answer was recorded
    store.db.conn.execute("UPDATE submissions SET contact = ? WHERE id = ?", (DAMAGED, first.id))
    store.db.conn.execute("UPDATE submissions SET lease_expires_at = NULL")  # both leases lapse
    clock.advance(seconds=1)
    [claimed] = store.claim("w2", 1)  # the damaged one came first, and did not use up the claim
    assert claimed.id != first.id
    [row] = store.listing(["needs_attention"])
    assert row["reference"] == first.reference and row["maybe_sent"] and row["last_error"] == UNOPENABLE


def queue(store, count: int) -> list[int]:
    return [outbound.queue_text(store, PHONE, f"Your reference is {n}", kind="reference", dedupe_key=f"t{n}",
                             language="en").id for n in range(count)]


def send_due(store, settings, twilio):
    async def go():
        sender = TextSender(store, settings, twilio_base_url=twilio.url)
        try:
            return await sender.send_due()
        finally:
            await sender.aclose()
    return asyncio.run(go())


def test_a_damaged_text_fails_unsent_the_others_go_and_status_counts_it(env, run, twilio, caplog):
    settings = load_settings(environ=sms_env(env))
    store = Store.open(settings)
    ids = queue(store, 5)
    store.close()
    flip_a_byte(settings, "sms_texts", "body", ids[2])

    store = Store.open(settings)
    caplog.set_level(logging.INFO)
    report = send_due(store, settings, twilio)
    assert report.sent == 4 and len(twilio.requests) == 4
    assert "Your reference is 2" not in [request["Body"] for request in twilio.requests]
    state, error, body = store.db.conn.execute("SELECT state, error, body FROM sms_texts WHERE id = ?",
                                               (ids[2],)).fetchone()
    assert (state, error, body) == ("failed", UNOPENABLE, None)
    assert [r.getMessage() for r in caplog.records if UNOPENABLE in r.getMessage()] == \
        [f"text {ids[2]} {UNOPENABLE}; failed, not sent"]

    status = run("sync", "status", extra_env=sms_env({})).output
    assert f"{UNOPENABLE}: 0 submission(s) (they need attention), 1 text(s) (failed, not sent)" in status
    machine = json.loads(run("sync", "status", "--json", extra_env=sms_env({})).output)
    assert machine["unopenable"] == {"submissions": 0, "texts": 1}
    store.close()


def test_a_text_whose_number_does_not_open_is_failed_and_a_whole_damaged_batch_does_not_stop_the_next(
        env, twilio):
    settings = load_settings(environ=sms_env(env))
    store = Store.open(settings)
    damaged = queue(store, 4)  # TextSender claims 4 at a time: this whole batch is one number's
    other = outbound.queue_text(store, "+447700900123", "Your reference is X", kind="reference", dedupe_key="other",
                             language="en").id
    store.db.conn.execute("UPDATE sms_numbers SET number = ? WHERE id = "
                          "(SELECT number_id FROM sms_texts WHERE id = ?)", (DAMAGED, damaged[0]))
    report = send_due(store, settings, twilio)
    assert report.sent == 1 and [request["To"] for request in twilio.requests] == ["+447700900123"]
    assert outbound.unopenable_count(store) == 4
    assert store.db.conn.execute("SELECT state FROM sms_texts WHERE id = ?", (other,)).fetchone()[0] == "sent"
    store.close()



def test_a_damaged_texting_number_costs_that_residents_texts_only(env, council_server, twilio, caplog):

    url = council_server(api_key="k")
    settings = load_settings(environ=sms_env(env, ASSIST_BACKOFFICE__URL=url, ASSIST_BACKOFFICE__API_KEY="k"))
    store = Store.open(settings)
    damaged = store.enqueue(draft(idempotency_key="a"))
    fine = store.enqueue(draft(idempotency_key="b", notify_phone="+447700900123"))
    store.db.conn.execute("UPDATE submissions SET notify_phone = ? WHERE id = ?", (DAMAGED, damaged.id))
    for _ in range(2):  # the submissions sent and their reference texts queued, then the texts sent
        worker_round(store, settings, text_sender=TextSender(store, settings, twilio_base_url=twilio.url))
    assert store.counts()["accepted"] == 2
    assert [request["To"] for request in twilio.requests] == ["+447700900123"]
    assert fine.display_reference in twilio.requests[0]["Body"]
    lines = [record.getMessage() for record in caplog.records if UNOPENABLE in record.getMessage()]
    assert lines == [f"{damaged.display_reference}: its texting number {UNOPENABLE}; no text is sent for it"]
    store.close()
