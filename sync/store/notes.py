"""The council's status notes: personal data with one life, like the rest of a submission.

A council writes to the resident in its notes ("Spoke to Mrs X at 07712 ..."), so a note is
sealed with the store key when it is recorded (`status_history.notes_sealed`), opened only for
the channels that show it to the resident (the kiosk's status screen, SMS status replies and
texts), and purged with its submission. Notes we write ourselves (a cancel reason, the council's
reason for a refusal, a staff note) stay in `status_history.notes`, where staff can read them,
and are purged with the submission too.

Earlier versions kept council notes in clear. The sync worker reseals them when it starts
(`seal_clear`), in small batches each committed whole: a crash loses nothing and the next start
carries on. Until it is done, readers take a note in either form.
"""

from __future__ import annotations

import logging
from typing import Iterable

from sync.crypto import KeyProblem, Vault
from sync.store import db as db_module
from sync.store.db import Conn

log = logging.getLogger(__name__)

#: Notes resealed per transaction: small enough that a kiosk writing meanwhile waits a moment only.
RESEAL_BATCH = 500


def opened(vault: Vault, sealed: bytes | None, clear: str | None, *, reference: str = "") -> str | None:
    """A note in either form. One that cannot be opened with this key is left out, with a log
    line naming the reference: the rest of the status is still shown."""
    if sealed is None:
        return clear
    try:
        note: str | None = vault.open(sealed)
    except KeyProblem:
        log.warning("a council note of %s cannot be opened with this store's key; shown without it",
                    reference or "a submission")
        return None
    return note


def seal_clear(db: db_module.Database, vault: Vault, batch: int | None = None) -> int:
    """Seal the council notes an earlier version kept in clear; returns how many. Resumable:
    each batch (of RESEAL_BATCH) is sealed and its clear text removed in one transaction."""
    batch = batch or RESEAL_BATCH
    total = 0
    while True:
        with db_module.write(db) as conn:
            rows = conn.execute("SELECT id, notes FROM status_history WHERE source = 'council' AND notes IS NOT NULL "
                                "LIMIT ?", (batch,)).fetchall()
            conn.executemany("UPDATE status_history SET notes_sealed = ?, notes = NULL WHERE id = ?",
                             [(vault.seal(notes), row_id) for row_id, notes in rows])
        total += len(rows)
        if len(rows) < batch:
            break
    if total:
        log.info("sealed %d council status notes an earlier version kept in clear", total)
        db_module.truncate_wal(db)
    return total


def purge(conn: Conn, purged_ids: Iterable[int], cutoff: str) -> int:
    """Inside `Store.purge`'s transaction: every note of the submissions purged just now (ours
    and the council's), and council notes older than `cutoff` that came after their submission
    was purged (a request still open past the retention period). Returns how many rows lost a note."""
    count = 0
    for submission_id in purged_ids:
        count += conn.execute("UPDATE status_history SET notes = NULL, notes_sealed = NULL WHERE submission_id = ? "
                              "AND (notes IS NOT NULL OR notes_sealed IS NOT NULL)", (submission_id,)).rowcount
    for form in ("notes_sealed IS NOT NULL", "source = 'council' AND notes IS NOT NULL"):  # sealed, or not yet
        count += conn.execute(f"UPDATE status_history SET notes = NULL, notes_sealed = NULL WHERE {form} AND at < ? "
                              "AND submission_id IN (SELECT id FROM submissions WHERE purged_at IS NOT NULL)",
                              (cutoff,)).rowcount
    return count
