"""Personal data has one life: the council's status notes are sealed at rest, and after the
retention period nothing a resident, a volunteer or the council wrote about a request is left
anywhere on disk, in clear or in a stale page of the file or its write-ahead log."""

from __future__ import annotations

import hashlib
import logging

import pytest

from kiosk.statuses import latest_notes
from sync import reference
from sync.store import PURGED_VOLUNTEER, audit, volunteers
from sync.texting import notices
from tests.helpers import draft, worker_round
from tests.sync.open311.worker_support import make

SAM = volunteers.Volunteer("Sam", "volunteer")
NOTE = "Spoke to Mrs Markerfield at 07712 900111"


def raw_bytes(settings) -> bytes:
    """The store file and its write-ahead log, as anyone with a copy of the disk would read them."""
    return b"".join(path.read_bytes() for path in settings.store_path.parent.glob("assist.db*"))


def accepted(store, **changes) -> tuple[int, str]:
    saved = store.enqueue(draft(**changes))
    [item] = [claimed for claimed in store.claim("w") if claimed.id == saved.id]
    store.mark_sending(item.id, "w")
    store.mark_accepted(item.id, "w", f"council-{item.id}")
    return item.id, saved.reference


def plant_clear_note(store, submission_id: int, notes: str, status: str = "in_progress") -> None:
    """A council note as an earlier version recorded it: in clear."""
    store.db.conn.execute("INSERT INTO status_history (submission_id, status, notes, at, source) "
                          "VALUES (?, ?, ?, '2026-11-24T09:00:00.000000Z', 'council')", (submission_id, status, notes))


def clear_notes(store) -> list[str]:
    return [row[0] for row in store.db.conn.execute("SELECT notes FROM status_history WHERE source = 'council' "
                                                    "AND notes IS NOT NULL")]


def test_a_council_note_is_shown_to_the_resident_and_recorded_once_but_never_kept_in_clear(store, settings):
    submission_id, ref = accepted(store)
    assert store.record_status(submission_id, "in_progress", NOTE)
    assert not store.record_status(submission_id, "in_progress", NOTE)  # the same note fetched again
    assert store.record_status(submission_id, "in_progress", NOTE + ", booked Friday")  # a new one

    found = store.lookup(ref)
    assert latest_notes(found) == NOTE + ", booked Friday"  # what the kiosk and the SMS reply show
    assert [entry.notes for entry in found.history if entry.source == "council"] == [NOTE, NOTE + ", booked Friday"]
    assert notices.queue_status_text(store, submission_id, "in_progress", NOTE) is not None  # texted to the resident
    guessable = hashlib.sha256(f"in_progress\x1f{NOTE}".encode()).hexdigest()[:16]  # a plain hash could be guessed
    store.db.conn.execute("PRAGMA wal_checkpoint(FULL)")
    raw = raw_bytes(settings)
    assert b"Markerfield" not in raw and guessable.encode() not in raw and clear_notes(store) == []


def test_a_note_sealed_under_another_key_leaves_the_rest_of_the_status_shown(store, settings, caplog):
    """A note another key sealed (a damaged or foreign value; the store itself opens only with its
    own key) is left out, the rest of the status shown, and one line says so by reference."""
    from cryptography.fernet import Fernet

    from sync.crypto import Vault

    submission_id, ref = accepted(store)
    store.record_status(submission_id, "in_progress", NOTE)
    foreign = Vault(Fernet.generate_key())
    store.db.conn.execute("UPDATE status_history SET notes_sealed = ? WHERE submission_id = ? AND source = 'council'",
                          (foreign.seal(NOTE), submission_id))
    with caplog.at_level(logging.WARNING):
        found = store.lookup(ref)
        assert store.record_status(submission_id, "in_progress", "Crew booked")  # not mistaken for the same
    assert found.council_status == "in_progress" and latest_notes(found) is None
    assert [entry.status for entry in found.history] == ["queued", "accepted", "in_progress"]
    assert f"council note of {reference.display(ref)} cannot be opened with this store's key" in caplog.text


def test_clear_notes_of_an_earlier_version_are_resealed_in_batches_and_a_crash_loses_none(store, settings, monkeypatch):
    submission_id, ref = accepted(store)
    notes = [f"Legacy note {n}: call Mr Oldmarker on 07700 90000{n}" for n in range(5)]
    for note in notes:
        plant_clear_note(store, submission_id, note)

    real_seal, calls = store.vault.seal, []

    def seal_then_lose_power(value):
        calls.append(value)
        if len(calls) == 4:  # in the second batch of two
            raise OSError("power cut")
        return real_seal(value)

    monkeypatch.setattr(store.vault, "seal", seal_then_lose_power)
    monkeypatch.setattr("sync.store.notes.RESEAL_BATCH", 2)
    with pytest.raises(OSError):
        store.seal_clear_notes()
    assert len(clear_notes(store)) == 3  # the first batch is sealed, the interrupted one untouched
    assert [entry.notes for entry in store.lookup(ref).history if entry.source == "council"] == notes  # both forms

    monkeypatch.setattr(store.vault, "seal", real_seal)
    assert store.seal_clear_notes() == 3  # carries on where it stopped
    assert store.seal_clear_notes() == 0
    assert clear_notes(store) == []
    assert [entry.notes for entry in store.lookup(ref).history if entry.source == "council"] == notes
    assert b"Oldmarker" not in raw_bytes(settings)


def test_the_sync_worker_reseals_clear_notes_in_its_first_round(tmp_path, council_server):
    settings, store = make(tmp_path, council_server())
    try:
        submission_id, ref = accepted(store)
        plant_clear_note(store, submission_id, NOTE)

        worker_round(store, settings)
        assert clear_notes(store) == [] and latest_notes(store.lookup(ref)) == NOTE
    finally:
        store.close()


def test_after_the_retention_purge_no_clear_copy_is_left_in_the_file_its_log_or_the_logs(store, settings, clock,
                                                                                          caplog):
    caplog.set_level(logging.DEBUG)
    markers = {"description": "Zebradescr", "contact": "Zebracontact", "volunteer": "Zebravolunteer",
               "echoed": "Zebraechoed", "cancel": "Zebracancel", "note": "Zebranote", "legacy": "Zebralegacy"}
    # Refused by a council that echoed the form, then cancelled by staff with a reason.
    refused = store.enqueue(draft(description=f"Pothole {markers['description']}", idempotency_key="refused",
                                  contact={"name": f"Ann {markers['contact']}", "phone": "+447700900123"},
                                  assisted_by=f"Val {markers['volunteer']}", assist_consent="resident_types"))
    [item] = store.claim("w")
    store.mark_sending(item.id, "w")
    store.mark_needs_attention(item.id, "w", f"400 from the council: first_name=Ann; last_name={markers['echoed']}")
    volunteers.cancel(store, SAM, refused.reference, f"resident {markers['cancel']} withdrew it")
    # Accepted, with the council's notes: one recorded now, one left in clear by an earlier version.
    submission_id, ref = accepted(store, idempotency_key="accepted", assisted_by="Val Zebravolunteer",
                                  assist_consent="volunteer_types")
    plant_clear_note(store, submission_id, f"Rang Mr {markers['legacy']}", status="open")
    store.record_status(submission_id, "in_progress", f"Spoke to Mrs {markers['note']}")
    assert latest_notes(store.lookup(ref)) == f"Spoke to Mrs {markers['note']}"  # shown until the purge
    waiting = store.enqueue(draft(idempotency_key="waiting"))  # not sent yet: nothing of it may go
    store.seal_clear_notes()
    assert any(marker.encode() in raw_bytes(settings) for marker in ("Zebraechoed", "Zebracancel", "Zebravolunteer"))

    clock.advance(days=91)
    purged = store.purge()
    assert purged["expired"] == 2 and purged["audited_reasons"] == 1

    after = store.lookup(refused.reference)
    assert after.state == "cancelled" and all(entry.notes is None for entry in after.history)
    assert [entry.status for entry in after.history] == ["queued", "needs_attention", "cancelled"]
    assert all(entry.notes is None for entry in store.lookup(ref).history)
    row = store.db.conn.execute("SELECT last_error, cancel_reason, assisted_by, assist_consent FROM submissions "
                                "WHERE reference = ?", (refused.reference,)).fetchone()
    assert tuple(row) == (None, None, PURGED_VOLUNTEER, "resident_types")  # that a volunteer helped is kept
    cancel_entry = next(entry for entry in audit.recent(store, 10) if entry.action == "cancel")
    assert (cancel_entry.actor, cancel_entry.outcome, cancel_entry.detail) == ("Sam", "ok", None)
    assert store.personal(waiting.reference)["payload"]["description"]  # a request not yet sent keeps everything

    while_open = raw_bytes(settings)
    store.close()
    for where in (while_open, raw_bytes(settings), caplog.text.encode()):
        found = [name for name, marker in markers.items() if marker.encode() in where]
        assert not found, f"clear copies left: {found}"


def test_a_note_that_comes_after_its_request_was_purged_lives_the_retention_period(store, clock):
    submission_id, ref = accepted(store)
    clock.advance(days=91)
    assert store.purge()["expired"] == 1
    store.record_status(submission_id, "in_progress", NOTE)  # the request is still open at the council
    store.purge()
    assert latest_notes(store.lookup(ref)) == NOTE  # the resident can still read it
    clock.advance(days=91)
    assert store.purge()["notes"] == 1
    found = store.lookup(ref)
    assert latest_notes(found) is None and found.council_status == "in_progress"


def test_a_store_purged_by_an_earlier_version_loses_the_reasons_and_names_it_kept(store, clock):
    ref = store.enqueue(draft(assisted_by="Val Helper", assist_consent="resident_types")).reference
    store.cancel(ref, "resident Mrs Keptreason withdrew it")
    clock.advance(days=91)
    store.db.conn.execute("UPDATE submissions SET payload = NULL, contact = NULL, notify_phone = NULL, "
                          "purged_at = '2026-12-01T00:00:00.000000Z'")  # what an earlier purge did, and no more
    assert store.purge()["expired"] == 1
    assert store.lookup(ref).history[-1].notes is None
    row = store.db.conn.execute("SELECT cancel_reason, assisted_by, purged_at FROM submissions").fetchone()
    assert tuple(row) == (None, PURGED_VOLUNTEER, "2026-12-01T00:00:00.000000Z")
    assert store.purge()["expired"] == 0  # and once is enough
