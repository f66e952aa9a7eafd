"""The texts a resident asked for when they made a request: their reference (kiosk and paper
residents; an SMS resident has it in the conversation already), and each council update.

The worker queues these (sync/open311/worker.py); they go out through the outbound queue like
any other text, once each, in the language the resident chose.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from locales import shipped, translator
from sync import reference as reference_module
from sync.config import Settings, load_settings
from sync.store import UNOPENABLE, UNOPENABLE_ERRORS, iso
from sync.texting.numbers import keyed_digest
from sync.texting.outbound import Queued, queue_text
from sync.texting.wording import Translate, reference_text, status_text

if TYPE_CHECKING:
    from sync.store import Store

log = logging.getLogger(__name__)

#: References whose texting number did not open, already logged (once per process, not every round).
_UNOPENED_LOGGED: set[str] = set()


@dataclass(frozen=True)
class _Submission:
    """What a notice needs of a submission; the number stays sealed until a text is queued."""

    reference: str
    service_code: str
    language: str
    sealed_phone: bytes | None
    channel: str


def _submission(store: Store, submission_id: int) -> _Submission | None:
    row = store.db.conn.execute(
        "SELECT reference, service_code, language, notify_phone, channel FROM submissions WHERE id = ?",
        (submission_id,)).fetchone()
    if row is None:
        return None
    reference, service_code, language, sealed_phone, channel = row
    return _Submission(reference, service_code, language if language in shipped() else "en", sealed_phone, channel)


def _service_name(store: Store, code: str, t: Translate) -> str:
    service = store.catalogue().get(code)
    return t(service.name) if service else code.replace("_", " ")


def _texting_number(store: Store, reference: str, sealed: bytes) -> str | None:
    """A submission's texting number, or None (logged once, by reference) when it cannot be
    opened: no text is queued for it, and nothing else stops."""
    try:
        number: str = store.vault.open(sealed)
    except UNOPENABLE_ERRORS:
        if reference not in _UNOPENED_LOGGED:
            _UNOPENED_LOGGED.add(reference)
            log.error("%s: its texting number %s; no text is sent for it", reference_module.display(reference),
                      UNOPENABLE)
        return None
    return number


def _first_open(store: Store, submission_id: int, status: str) -> bool:
    """Whether this is the council's first word and it is "open": the resident has their reference already."""
    if status != "open":
        return False
    earlier = store.db.conn.execute(
        "SELECT count(*) FROM status_history WHERE submission_id = ? AND source = 'council' AND status != 'open'",
        (submission_id,)).fetchone()[0]
    return not earlier


def queue_status_text(store: Store, submission_id: int, status: str, notes: str | None, *,
                      settings: Settings | None = None) -> Queued | None:
    """The worker calls this when `store.record_status` has recorded a council update: the
    resident is texted if they asked for texts (the submission's sealed `notify_phone`).

    Returns None when there is nothing to send: no texting number, or the council's first
    "open" (the resident already has their reference; an "open" after another status, a reopened
    request, is sent). Each (status, notes) is texted once, however often it is recorded.
    """
    found = _submission(store, submission_id)
    if found is None or found.sealed_phone is None or _first_open(store, submission_id, status):
        return None
    settings = settings or load_settings()
    t = translator(found.language)
    body = status_text(t, council=settings.council.name, reference=reference_module.display(found.reference),
                       service=_service_name(store, found.service_code, t), status=status, notes=notes,
                       language=found.language)
    # Keyed, like the numbers: a plain hash of a short note ("Spoke to Mr X") could be guessed back.
    digest = keyed_digest(store, f"{status}\x1f{notes or ''}")[:16]
    number = _texting_number(store, found.reference, found.sealed_phone)
    if number is None:
        return None
    return queue_text(store, number, body, kind="status", dedupe_key=f"status:{submission_id}:{digest}",
                      language=found.language, submission_id=submission_id)


def queue_reference_text(store: Store, submission_id: int, *, settings: Settings | None = None) -> Queued | None:
    """Text a resident their reference (a kiosk or paper resident who asked for texts); once
    per submission. SMS residents are not texted again: they had it in the conversation."""
    found = _submission(store, submission_id)
    if found is None or found.sealed_phone is None or found.channel == "sms":
        return None
    settings = settings or load_settings()
    t = translator(found.language)
    body = reference_text(t, council=settings.council.name, reference=reference_module.display(found.reference),
                          service=_service_name(store, found.service_code, t), language=found.language,
                          stop_line=settings.sms.provider == "twilio")
    number = _texting_number(store, found.reference, found.sealed_phone)
    if number is None:
        return None
    return queue_text(store, number, body, kind="reference", dedupe_key=f"reference:{submission_id}",
                      language=found.language, submission_id=submission_id)


def queue_reference_texts(store: Store, *, settings: Settings | None = None,
                          within: timedelta = timedelta(hours=24)) -> int:
    """Queue the reference text for every recent submission (kiosk, paper) whose resident asked
    for texts and has not had it yet; the worker calls this each round. Returns how many."""
    since = iso(store.clock() - within)
    rows = store.db.conn.execute(
        "SELECT s.id FROM submissions AS s WHERE s.notify_phone IS NOT NULL AND s.created_at >= ? "
        "AND s.channel != 'sms' AND NOT EXISTS (SELECT 1 FROM sms_texts AS t WHERE t.dedupe_key = "
        "'reference:' || s.id)", (since,)).fetchall()
    queued = 0
    for (submission_id,) in rows:
        result = queue_reference_text(store, submission_id, settings=settings)
        queued += bool(result and result.created)
    return queued
