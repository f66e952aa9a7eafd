"""Staff at the kiosk dashboard: correct and resend what the council refused, or cancel it with a
reason; each audited in the same transaction as the change."""

from __future__ import annotations

import json
import sqlite3

import pytest

from sync import reference
from sync.store import Store, TransitionError, audit, volunteers
from tests.helpers import draft
from tests.sync.open311.worker_support import API_KEY, drain, make

SAM = volunteers.Volunteer("Sam", "volunteer")


def refused_by_the_council(store, settings):
    """A pothole report without its required `size`: the council refuses it."""
    ref = store.enqueue(draft(attributes={"surface": "road"})).reference
    assert drain(store, settings)[0].needs_attention == 1
    return ref


def council_row(url):
    conn = sqlite3.connect(f"file:{url.db_path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT attributes, address_string, description FROM requests").fetchall()
    finally:
        conn.close()


def last_entry(store):
    entry = audit.recent(store, 1)[0]
    return entry.actor, entry.action, entry.outcome, entry.subject, entry.detail


def test_the_dashboard_shows_the_councils_reason_and_a_correction_reaches_the_council(tmp_path, council_server):
    url = council_server(api_key=API_KEY)
    settings, store = make(tmp_path, url)
    ref = refused_by_the_council(store, settings)
    [waiting] = store.listing(["needs_attention"])
    assert "size" in waiting["last_error"] and store.counts()["needs_attention"] == 1

    volunteers.correct(store, SAM, ref, attributes={"size": "medium"},
                       location={"address_string": "outside 6 Station Road, Brackenford"},
                       note="size asked of the resident by phone")
    shown = store.lookup(ref)
    assert shown.state == "queued" and shown.history[-1].notes == "size asked of the resident by phone"
    assert store.take_request("sync_now")
    assert last_entry(store) == ("Sam", "correct", "ok", reference.display(ref), "location, attributes")
    assert "medium" not in json.dumps([entry.detail for entry in audit.recent(store, 10)])

    assert drain(store, settings)[0].accepted == 1
    [(attributes, address, description)] = council_row(url)
    assert json.loads(attributes) == {"size": "medium", "surface": "road"}
    assert address == "outside 6 Station Road, Brackenford" and description.startswith(f"[assist reference {reference.display(ref)}] Deep pothole")
    assert store.lookup(ref).state == "accepted"


def test_a_resend_without_changes_reaches_the_council_as_it_was(tmp_path, council_server):
    url = council_server(api_key=API_KEY)
    settings, store = make(tmp_path, url)
    ref = store.enqueue(draft()).reference
    [item] = store.claim("w")
    store.mark_sending(item.id, "w")
    store.mark_needs_attention(item.id, "w", "the council could not be searched after a lost answer")
    volunteers.resend(store, SAM, ref, "the council confirmed it never arrived")
    assert last_entry(store) == ("Sam", "resend", "ok", reference.display(ref), "the council confirmed it never arrived")
    assert drain(store, settings)[0].accepted == 1
    [(attributes, address, _)] = council_row(url)
    assert json.loads(attributes) == {"size": "large", "surface": "road"} and address.startswith("outside 4 Station")


def test_a_cancel_keeps_its_reason_in_the_history_and_the_audit_log(store):
    ref = store.enqueue(draft()).reference
    volunteers.cancel(store, SAM, ref, "  resident withdrew it  ")
    found = store.lookup(ref)
    assert found.state == "cancelled" and found.history[-1].notes == "resident withdrew it"
    assert last_entry(store)[:3] == ("Sam", "cancel", "ok") and last_entry(store)[4] == "resident withdrew it"


def test_a_cancel_without_a_reason_is_refused_and_audited(store):
    ref = store.enqueue(draft()).reference
    for reason in ("", "   "):
        with pytest.raises(ValueError, match="needs a reason"):
            volunteers.cancel(store, SAM, ref, reason)
    assert store.lookup(ref).state == "queued"
    assert last_entry(store)[:3] == ("Sam", "cancel", "refused")


def test_correcting_or_resending_what_does_not_need_attention_is_refused_and_changes_nothing(store):
    saved = store.enqueue(draft())
    for name, action in (("correct", lambda: volunteers.correct(store, SAM, saved.reference, description="new")),
                         ("resend", lambda: volunteers.resend(store, SAM, saved.reference, "checked"))):
        with pytest.raises(TransitionError, match="is queued: only a request that needs attention"):
            action()
        assert last_entry(store)[:3] == ("Sam", name, "refused")
    [item] = store.claim("w")
    store.mark_sending(item.id, "w")  # may be at the council already: never sent twice by hand
    with pytest.raises(TransitionError, match="is sending"):
        volunteers.resend(store, SAM, saved.reference)
    assert store.personal(saved.reference)["payload"]["description"].startswith("Deep pothole")
    assert [entry.status for entry in store.lookup(saved.reference).history] == ["queued"]


def test_no_change_without_its_audit_entry(store):
    ref = store.enqueue(draft()).reference
    store.db.conn.execute("ALTER TABLE audit_log RENAME TO audit_log_gone")  # the entry cannot be written
    with pytest.raises(sqlite3.OperationalError):
        volunteers.cancel(store, SAM, ref, "duplicate")
    assert store.lookup(ref).state == "queued"


def test_sync_now_is_left_for_the_worker_and_audited(store):
    volunteers.sync_now(store, SAM)
    assert store.take_request("sync_now") and last_entry(store)[:3] == ("Sam", "sync_now", "ok")


def test_the_command_line_is_audited_as_cli(run, settings):
    store = Store.open(settings)
    stuck = store.enqueue(draft(idempotency_key="stuck")).reference
    [item] = store.claim("w")
    store.mark_sending(item.id, "w")
    store.mark_needs_attention(item.id, "w", "400: size is required")
    assert run("outbox", "requeue", stuck, "--note", "size added").exit_code == 0
    assert last_entry(store)[:3] == ("cli", "resend", "ok") and store.take_request("sync_now")
    empty = run("outbox", "cancel", stuck, "--reason", " ")
    assert empty.exit_code == 1 and "needs a reason" in empty.output
    assert last_entry(store)[:3] == ("cli", "cancel", "refused")
    assert run("outbox", "cancel", stuck, "--reason", "duplicate").exit_code == 0
    assert last_entry(store)[:3] == ("cli", "cancel", "ok") and store.lookup(stuck).state == "cancelled"
    store.close()


def test_a_request_being_exported_cannot_be_cancelled_under_the_exporter(store):
    """Otherwise the export would fail after writing its file, and the rest could be sent twice."""
    ref = store.enqueue(draft()).reference
    store.hold_for_export("exporter")
    with pytest.raises(TransitionError, match="being sent or exported"):
        volunteers.cancel(store, SAM, ref, "resident withdrew it")
    assert store.lookup(ref).state == "queued"
    assert last_entry(store)[1:3] == ("cancel", "refused")
