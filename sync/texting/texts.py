"""Texting, the store's side: phone numbers, text conversations, the outbound texts queue and
what the SMS provider says happened to each text. Used by the SMS channel (`sms/`) and by the
sync worker, which alone sends (`sync/sender.py`).

Everything here is personal data and is treated like the outbox:

* A phone number is stored sealed with the store key, beside a keyed hash (HMAC-SHA256) used to
  find it again. The hash key is random, made once per store and itself sealed with the store
  key, so a copy of the file without the key cannot even test whether a number is in it.
* Each number carries its language preference (asked at first contact and remembered, as the
  Welsh Language Standards expect), whether it has opted out of all texts, and whether it has
  been found unable to receive texts (a landline, an unknown number).
* Inbound messages are claimed by their MessageSid with an atomic INSERT ... ON CONFLICT DO
  NOTHING, so a retried webhook is answered again without acting twice.
* One conversation per number, its state sealed, with an expiry.
* Outbound texts are queued with a dedupe key (one status text per change, one reference text
  per submission), claimed with a lease like the outbox, written `sending` before they leave
  (a text found `sending` after a crash is never sent again: a resident is never texted twice),
  retried with backoff on 429, 5xx and lost connections, and given up once stale.
* Delivery statuses from the provider are taken once per (MessageSid, status) and only move a
  text's status forward, whatever order they arrive in.

Also here: SMS segment counting (GSM-7 with its extension table, else UCS-2 counted in UTF-16
code units), the normalisation that keeps text out of UCS-2 for nothing (smart quotes, dashes,
the ellipsis), the fitting of a message into its segment budget, and the status-update texts the
worker queues.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
import sqlite3
import unicodedata
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable, Mapping

from locales import N_, translator
from sync import reference as reference_module
from sync.store import UNOPENABLE, UNOPENABLE_ERRORS, iso, parse_iso
from sync.store import db as db_module

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# Segments

#: The GSM 03.38 default alphabet (one septet each). The escape character is left out: it is
#: only ever the first half of an extension character.
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: The extension table: each costs two septets (escape + character).
GSM_EXTENSION = frozenset("^{}\\[~]|€\f")
GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
#: Most Twilio can send in one message (its limit), and the longest body we read.
MAX_MESSAGE_CHARS = 1600

_REPLACEMENTS = {
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u00b4\u0060", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043", "-"),
    "\u2026": "...", "\u2022": "-", "\u00b7": "-",
    **dict.fromkeys("\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000\t", " "),
    **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff\u00ad", ""),
}
_TRANSLATE = str.maketrans(_REPLACEMENTS)
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def normalise(text: str) -> str:
    """Text as it should be sent: composed (so é is one GSM character, not e + an accent that
    forces UCS-2), with smart quotes, dashes, the ellipsis and invisible characters replaced by
    plain ones, as GOV.UK Notify does. Letters outside GSM that a language needs (Welsh ŵ, ŷ,
    â...) are kept: they make the text UCS-2, which is what they cost."""
    text = unicodedata.normalize("NFC", str(text)).translate(_TRANSLATE)
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return text


_GSM = GSM_BASIC | GSM_EXTENSION


def is_gsm(text: str) -> bool:
    return _GSM.issuperset(text)


def encoding(text: str) -> str:
    return "GSM-7" if is_gsm(text) else "UCS-2"


def _extension_count(text: str) -> int:
    return sum(text.count(char) for char in GSM_EXTENSION) if not GSM_EXTENSION.isdisjoint(text) else 0


def units(text: str) -> int:
    """Septets (GSM-7) or UTF-16 code units (UCS-2) the text costs."""
    if is_gsm(text):
        return len(text) + _extension_count(text)
    return len(text.encode("utf-16-le")) // 2


def segments(text: str) -> int:
    """How many SMS segments the text is sent as (0 for no text). Parts are packed as phones
    pack them: an extension character's two septets, or an emoji's surrogate pair, are never
    split across two parts."""
    if not text:
        return 0
    gsm = is_gsm(text)
    total = units(text)
    single, part = (GSM_SINGLE, GSM_PART) if gsm else (UCS2_SINGLE, UCS2_PART)
    if total <= single:
        return 1
    if total == len(text):  # every character costs one unit: nothing to keep together
        return -(-total // part)
    count, used = 1, 0
    for char in text:
        cost = (2 if char in GSM_EXTENSION else 1) if gsm else (2 if ord(char) > 0xFFFF else 1)
        if used + cost > part:
            count, used = count + 1, 0
        used += cost
    return count


def budget(language: str) -> int:
    """Most segments a message may take: English 2 (and most replies 1); other languages 3,
    since their letters often force UCS-2 (67 characters a part). A message in several
    languages at once counts as another language."""
    return 2 if language == "en" else 3


def fits(text: str, language: str) -> bool:
    return segments(text) <= budget(language)


def shorten(value: str, limit: int) -> str:
    """`value` in at most `limit` characters, cut at a word where one is near, marked with '...'."""
    value = " ".join(str(value).split())
    if len(value) <= limit:
        return value
    if limit <= 3:
        return value[:max(limit, 0)]
    cut = value[:limit - 3]
    space = cut.rfind(" ")
    if space >= (limit - 3) * 2 // 3:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "..."


def truncate_to(text: str, max_segments: int) -> str:
    """The last resort: cut the text itself until it fits `max_segments`."""
    if segments(text) <= max_segments:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with "..." after it
        middle = (low + high + 1) // 2
        if segments(text[:middle].rstrip() + "...") <= max_segments:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + "..."


def fit(build: Callable[[dict[str, str]], str], params: Mapping[str, Any], shrink: Iterable[str],
        max_segments: int, *, minimum: int = 12) -> str:
    """`build(params)` normalised, within `max_segments`: the `shrink` values are shortened, in
    that order, each only as far as needed (down to `minimum` characters, then left out); only
    if that is not enough is the text itself cut. Read-backs and council notes go through here."""
    values = {key: normalise(str(value)) for key, value in params.items()}
    text = normalise(build(values))
    if segments(text) <= max_segments:
        return text
    for key in shrink:
        original = values.get(key, "")
        if not original:
            continue
        low, high, best = minimum, len(original) - 1, None
        while low <= high:
            middle = (low + high) // 2
            trial = normalise(build({**values, key: shorten(original, middle)}))
            if segments(trial) <= max_segments:
                best, low = middle, middle + 1
            else:
                high = middle - 1
        if best is not None:
            values[key] = shorten(original, best)
            return normalise(build(values))
        values[key] = ""
        text = normalise(build(values))
        if segments(text) <= max_segments:
            return text
    return truncate_to(normalise(build(values)), max_segments)


# ---------------------------------------------------------------------------------------------
# Status texts: what the worker queues when the council updates a request

#: Council statuses (Open311, FixMyStreet) as a resident reads them, after "is now:".
STATUS_LABELS = {
    "open": N_("open"),
    "in_progress": N_("in progress"),
    "planned": N_("planned"),
    "for_triage": N_("waiting to be looked at"),
    "reopen": N_("opened again"),
    "investigating": N_("being looked into"),
    "action_scheduled": N_("scheduled for work"),
    "closed": N_("closed"),
    "fixed": N_("fixed"),
    "duplicate": N_("closed: it was already reported"),
    "not_councils_responsibility": N_("passed on: it is not the council's responsibility"),
    "no_further_action": N_("closed with no further action"),
    "cancelled": N_("cancelled"),
    "internal_referral": N_("passed to another council team"),
    "unable_to_fix": N_("closed: it could not be fixed"),
    "queued": N_("waiting to be sent to the council"),
    "sending": N_("being sent to the council"),
    "awaiting_id": N_("sent to the council"),
    "accepted": N_("with the council"),
    "needs_attention": N_("being checked by staff"),
    "exported": N_("sent to the council by another route"),
}

STATUS_TEXT = N_("{council}: your request {reference} ({service}) is now: {status}.")
STATUS_NOTE = N_("{text}\nThe council says: {notes}")
REFERENCE_TEXT = N_("{council}: thank you for your request ({service}). Your reference is {reference}. "
                    "We will text you when it is updated.")
STOP_LINE = N_("{text} Reply STOP to stop these texts.")
#: The longest values the status and reference texts are tested with (tests/sms).
LONGEST = {"council": "Rhondda Cynon Taf County Borough Council", "reference": "K7Q-4MB-XP9P",
           "service": "Passed to another council team for action", "notes": "x" * 1000}


def status_label(status: str, t) -> str:
    label = STATUS_LABELS.get(status)
    return t(label) if label else status.replace("_", " ")


def status_text(t, *, council: str, reference: str, service: str, status: str, notes: str | None,
                language: str) -> str:
    """A status update within the language's budget: the council's note, then the service
    name, then the council's name are shortened as needed (in that order)."""
    def build(values: dict[str, str]) -> str:
        text = t(STATUS_TEXT).format(council=values["council"], reference=values["reference"],
                                     service=values["service"], status=values["status"])
        if values.get("notes"):
            text = t(STATUS_NOTE).format(text=text, notes=values["notes"])
        return text

    return fit(build, {"council": council, "reference": reference, "service": service,
                       "status": status_label(status, t), "notes": " ".join((notes or "").split())},
               ("notes", "service", "council"), budget(language))


def reference_text(t, *, council: str, reference: str, service: str, language: str, stop_line: bool) -> str:
    def build(values: dict[str, str]) -> str:
        text = t(REFERENCE_TEXT).format(council=values["council"], reference=values["reference"],
                                        service=values["service"])
        return t(STOP_LINE).format(text=text) if stop_line else text

    return fit(build, {"council": council, "reference": reference, "service": service},
               ("service", "council"), budget(language))


# ---------------------------------------------------------------------------------------------
# Numbers

#: Twilio's delivery statuses in the order a message goes through them; the finals share a rank.
DELIVERY_RANK = {
    "accepted": 0, "scheduled": 1, "queued": 2, "sending": 3, "sent": 4,
    "delivered": 5, "undelivered": 5, "failed": 5, "canceled": 5, "partially_delivered": 5,
    "read": 6,
    # GOV.UK Notify's, for the same column
    "created": 2, "pending": 4, "permanent-failure": 5, "temporary-failure": 5, "technical-failure": 5,
}
#: The statuses after which nothing more will be heard of a text (the last rank).
SETTLED = frozenset(status for status, rank in DELIVERY_RANK.items() if rank >= 5)
#: Delivery error codes that mean the number cannot receive texts (Twilio: unknown destination,
#: landline or unreachable carrier).
CANNOT_RECEIVE_DELIVERY_CODES = frozenset({"30005", "30006"})
#: GOV.UK Notify's status for a text the phone network would not deliver: a wrong number, or one
#: that cannot take texts (Notify's own words: "the provider could not deliver the message").
NOTIFY_PERMANENT_FAILURE = "permanent-failure"
#: Notify's status for a text it could not send at all ("you'll have to try sending it again").
NOTIFY_TECHNICAL_FAILURE = "technical-failure"
OPTED_OUT_CODE = "21610"

_number_keys: "weakref.WeakKeyDictionary[Any, bytes]" = weakref.WeakKeyDictionary()


def number_key(store) -> bytes:
    """The key of the numbers' keyed hash: random, made once per store, sealed with the store key."""
    key = _number_keys.get(store.db)
    if key is not None:
        return key
    conn = store.db.conn

    def load_or_make(connection: sqlite3.Connection) -> bytes:
        row = connection.execute("SELECT number_key FROM sms_secrets WHERE id = 1").fetchone()
        if row is None:
            fresh = base64.b64encode(os.urandom(32)).decode()
            connection.execute("INSERT INTO sms_secrets (id, number_key) VALUES (1, ?) ON CONFLICT (id) DO NOTHING",
                               (store.vault.seal(fresh),))
            row = connection.execute("SELECT number_key FROM sms_secrets WHERE id = 1").fetchone()
        return base64.b64decode(store.vault.open(row[0]))

    if conn.in_transaction:
        key = load_or_make(conn)
    else:
        with db_module.write(store.db) as connection:
            key = load_or_make(connection)
    _number_keys[store.db] = key
    return key


def number_hash(store, e164: str) -> str:
    return hmac.new(number_key(store), e164.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Number:
    id: int
    language: str | None
    opted_out: bool
    cannot_receive: bool
    created: bool


def number_row(conn: sqlite3.Connection, store, e164: str, now: str, *, hashed: str | None = None,
               seen: bool = True) -> Number:
    """The number's row, made if new (inside the caller's write transaction)."""
    hashed = hashed or number_hash(store, e164)
    if seen:
        row = conn.execute("UPDATE sms_numbers SET last_seen_at = ? WHERE number_hash = ? "
                           "RETURNING id, language, opted_out_at, cannot_receive_at, number IS NULL",
                           (now, hashed)).fetchone()
    else:
        row = conn.execute("SELECT id, language, opted_out_at, cannot_receive_at, number IS NULL FROM sms_numbers "
                           "WHERE number_hash = ?", (hashed,)).fetchone()
    if row is None:
        number_id = conn.execute(
            "INSERT INTO sms_numbers (number_hash, number, created_at, last_seen_at) VALUES (?, ?, ?, ?) "
            "RETURNING id", (hashed, store.vault.seal(e164), now, now)).fetchone()[0]
        return Number(number_id, None, False, False, created=True)
    if row[4]:  # purged to its hash alone (an opt-out remembered): seal the number again
        conn.execute("UPDATE sms_numbers SET number = ? WHERE id = ?", (store.vault.seal(e164), row[0]))
    return Number(row[0], row[1], row[2] is not None, row[3] is not None, created=False)


def set_language(conn: sqlite3.Connection, number_id: int, language: str) -> None:
    conn.execute("UPDATE sms_numbers SET language = ? WHERE id = ?", (language, number_id))


def set_opted_out(conn: sqlite3.Connection, number_id: int, now: str, by: str) -> None:
    """No more texts of any kind to this number, until it opts in again."""
    conn.execute("UPDATE sms_numbers SET opted_out_at = coalesce(opted_out_at, ?), opted_out_by = ? WHERE id = ?",
                 (now, by, number_id))
    conn.execute("UPDATE sms_texts SET state = 'suppressed', error = 'opted out', body = NULL, updated_at = ? "
                 "WHERE number_id = ? AND state = 'queued'", (now, number_id))


def set_opted_in(conn: sqlite3.Connection, number_id: int) -> None:
    conn.execute("UPDATE sms_numbers SET opted_out_at = NULL, opted_out_by = NULL, cannot_receive_at = NULL, "
                 "cannot_receive_reason = NULL WHERE id = ?", (number_id,))


def set_cannot_receive(conn: sqlite3.Connection, number_id: int, now: str, reason: str) -> None:
    conn.execute("UPDATE sms_numbers SET cannot_receive_at = coalesce(cannot_receive_at, ?), "
                 "cannot_receive_reason = ? WHERE id = ?", (now, reason, number_id))
    conn.execute("UPDATE sms_texts SET state = 'suppressed', error = ?, body = NULL, updated_at = ? "
                 "WHERE number_id = ? AND state = 'queued'", (f"cannot receive texts: {reason}", now, number_id))


def opt_out(store, e164: str, by: str = "staff") -> None:
    """Record an opt-out from outside a conversation (staff, or an import)."""
    hashed = number_hash(store, e164)
    with db_module.write(store.db) as conn:
        number = number_row(conn, store, e164, iso(store.clock()), hashed=hashed)
        set_opted_out(conn, number.id, iso(store.clock()), by)


def number_state(store, e164: str) -> dict[str, Any] | None:
    """What is recorded about a number (for staff and tests): never the number itself."""
    row = store.db.conn.execute(
        "SELECT id, language, opted_out_at, opted_out_by, cannot_receive_at, cannot_receive_reason "
        "FROM sms_numbers WHERE number_hash = ?", (number_hash(store, e164),)).fetchone()
    if row is None:
        return None
    keys = ("id", "language", "opted_out_at", "opted_out_by", "cannot_receive_at", "cannot_receive_reason")
    return dict(zip(keys, row))


# ---------------------------------------------------------------------------------------------
# Inbound messages, rate limits and conversations (inside the webhook's write transaction)

def claim_inbound(conn: sqlite3.Connection, message_sid: str, now: str, number_id: int | None = None,
                  reply: bytes | None = None) -> bool:
    """Atomically claim an inbound MessageSid with the (sealed) reply given to it: False if it
    was seen before (a retry), and nothing is written."""
    return conn.execute("INSERT INTO sms_inbound (message_sid, received_at, number_id, reply) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (message_sid) DO NOTHING", (message_sid, now, number_id, reply)).rowcount == 1


def inbound_reply(conn: sqlite3.Connection, store, message_sid: str) -> str | None:
    """The reply given to a MessageSid seen before ("" for none, None if still unanswered)."""
    row = conn.execute("SELECT reply FROM sms_inbound WHERE message_sid = ?", (message_sid,)).fetchone()
    return store.vault.open(row[0]) if row and row[0] is not None else None


def count_message(conn: sqlite3.Connection, scope: str, bucket: str, now: str, messages: int = 1) -> tuple[int, bool]:
    """Count messages in a rate-limit window: (messages so far, whether already warned)."""
    count, warned = conn.execute(
        "INSERT INTO sms_rate (scope, bucket, count, at) VALUES (?, ?, ?, ?) ON CONFLICT (scope, bucket) "
        "DO UPDATE SET count = count + excluded.count RETURNING count, warned",
        (scope, bucket, messages, now)).fetchone()
    return count, bool(warned)


def mark_warned(conn: sqlite3.Connection, scope: str, bucket: str) -> None:
    conn.execute("UPDATE sms_rate SET warned = 1 WHERE scope = ? AND bucket = ?", (scope, bucket))


def rate_count(conn: sqlite3.Connection, scope: str, bucket: str) -> tuple[int, bool]:
    """A rate-limit window as stored: (messages so far, whether already warned)."""
    row = conn.execute("SELECT count, warned FROM sms_rate WHERE scope = ? AND bucket = ?", (scope, bucket)).fetchone()
    return (row[0], bool(row[1])) if row else (0, False)


def set_counts(conn: sqlite3.Connection, rows: Iterable[tuple[str, str, int, bool, str]]) -> None:
    """Write rate-limit windows counted elsewhere, (scope, bucket, count, warned, at) each: one
    statement for a whole batch of messages."""
    conn.executemany(
        "INSERT INTO sms_rate (scope, bucket, count, warned, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope, bucket) "
        "DO UPDATE SET count = excluded.count, warned = max(warned, excluded.warned)",
        [(scope, bucket, count, 1 if warned else 0, at) for scope, bucket, count, warned, at in rows])


def touch_numbers(conn: sqlite3.Connection, number_ids: Iterable[int], now: str) -> None:
    """Numbers seen at `now` (their last contact, which the purge goes by)."""
    conn.executemany("UPDATE sms_numbers SET last_seen_at = ? WHERE id = ?", [(now, number_id) for number_id in number_ids])


@dataclass
class Conversation:
    state: dict[str, Any]  # {} for none
    expires_at: str | None  # None for none


def load_conversation(conn: sqlite3.Connection, store, number_id: int) -> Conversation:
    """The number's conversation as stored, expired or not (the caller decides what expiry means)."""
    row = conn.execute("SELECT state, expires_at FROM sms_conversations WHERE number_id = ?", (number_id,)).fetchone()
    if row is None:
        return Conversation({}, None)
    return Conversation(store.vault.open(row[0]) or {}, row[1])


def save_conversations(conn: sqlite3.Connection, store, states: Iterable[tuple[int, str]], now: str,
                       expires_at: str) -> None:
    """Keep each (number id, conversation state as JSON text), sealed, until `expires_at`; an
    empty state ("{}") ends the conversation. The caller has the text already (it compares it to
    see what changed), so it is sealed as it is. Two statements for a whole batch of messages."""
    kept, ended = [], []
    for number_id, state in states:
        if state != "{}":
            kept.append((number_id, store.vault.seal_json(state), now, now, expires_at))
        else:
            ended.append((number_id,))
    if ended:
        conn.executemany("DELETE FROM sms_conversations WHERE number_id = ?", ended)
    if kept:
        conn.executemany(
            "INSERT INTO sms_conversations (number_id, state, started_at, updated_at, expires_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (number_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at, "
            "expires_at = excluded.expires_at", kept)


# ---------------------------------------------------------------------------------------------
# The outbound queue

@dataclass(frozen=True)
class Queued:
    id: int | None
    state: str  # queued, suppressed, or the state of the text already queued under the same key
    created: bool


def queue_text(store, e164: str, body: str, *, kind: str, dedupe_key: str, language: str,
               submission_id: int | None = None) -> Queued:
    """Queue a text for the worker to send, once per `dedupe_key`. A number that opted out or
    cannot receive texts is never texted: the text is recorded as suppressed."""
    body = normalise(body)
    hashed = number_hash(store, e164)
    now = iso(store.clock())
    with db_module.write(store.db) as conn:
        number = number_row(conn, store, e164, now, hashed=hashed, seen=False)
        state = "suppressed" if number.opted_out or number.cannot_receive else "queued"
        error = ("opted out" if number.opted_out else "cannot receive texts") if state == "suppressed" else None
        inserted = conn.execute(
            "INSERT INTO sms_texts (dedupe_key, number_id, submission_id, kind, language, body, segments, state, "
            "next_attempt_at, error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
            (dedupe_key, number.id, submission_id, kind, language,
             store.vault.seal(body) if state == "queued" else None, segments(body), state, now, error, now, now),
        ).fetchone()
        if inserted is None:
            row = conn.execute("SELECT id, state FROM sms_texts WHERE dedupe_key = ?", (dedupe_key,)).fetchone()
            return Queued(row[0], row[1], created=False)
    log.info("text %s %s (%s, %d segment(s))", inserted[0], state, kind, segments(body))
    return Queued(inserted[0], state, created=True)


def _submission(store, submission_id: int) -> tuple | None:
    return store.db.conn.execute(
        "SELECT reference, service_code, language, notify_phone, channel FROM submissions WHERE id = ?",
        (submission_id,)).fetchone()


def _settings(settings):
    if settings is None:
        from sync.config import load_settings

        settings = load_settings()
    return settings


def _language(code: str | None) -> str:
    from locales import shipped

    return code if code in shipped() else "en"


def _service_name(store, code: str, t) -> str:
    service = store.catalogue().get(code)
    return t(service.name) if service else code.replace("_", " ")


#: References whose texting number did not open, already logged (once per process, not every round).
_UNOPENED_LOGGED: set[str] = set()


def _texting_number(store, reference: str, sealed: bytes) -> str | None:
    """A submission's texting number, or None (logged once, by reference) when it cannot be
    opened: no text is queued for it, and nothing else stops."""
    try:
        return store.vault.open(sealed)
    except UNOPENABLE_ERRORS:
        if reference not in _UNOPENED_LOGGED:
            _UNOPENED_LOGGED.add(reference)
            log.error("%s: its texting number %s; no text is sent for it", reference_module.display(reference),
                      UNOPENABLE)
        return None


def queue_status_text(store, submission_id: int, status: str, notes: str | None, *, settings=None) -> Queued | None:
    """The worker calls this when `store.record_status` has recorded a council update: the
    resident is texted if they asked for texts (the submission's sealed `notify_phone`).

    Returns None when there is nothing to send: no texting number, or the council's first
    "open" (the resident already has their reference; an "open" after another status, a reopened
    request, is sent). Each (status, notes) is texted once, however often it is recorded.
    """
    row = _submission(store, submission_id)
    if row is None or row[3] is None:
        return None
    reference, service_code, language, sealed_phone, _channel = row
    if status == "open":
        earlier = store.db.conn.execute(
            "SELECT count(*) FROM status_history WHERE submission_id = ? AND source = 'council' AND status != 'open'",
            (submission_id,)).fetchone()[0]
        if not earlier:
            return None
    settings = _settings(settings)
    language = _language(language)
    t = translator(language)
    body = status_text(t, council=settings.council.name, reference=reference_module.display(reference),
                       service=_service_name(store, service_code, t), status=status, notes=notes, language=language)
    # Keyed, like the numbers: a plain hash of a short note ("Spoke to Mr X") could be guessed back.
    digest = hmac.new(number_key(store), f"{status}\x1f{notes or ''}".encode(), hashlib.sha256).hexdigest()[:16]
    number = _texting_number(store, reference, sealed_phone)
    if number is None:
        return None
    return queue_text(store, number, body, kind="status",
                      dedupe_key=f"status:{submission_id}:{digest}", language=language, submission_id=submission_id)


def queue_reference_text(store, submission_id: int, *, settings=None) -> Queued | None:
    """Text a resident their reference (a kiosk or paper resident who asked for texts); once
    per submission. SMS residents are not texted again: they had it in the conversation."""
    row = _submission(store, submission_id)
    if row is None or row[3] is None or row[4] == "sms":
        return None
    reference, service_code, language, sealed_phone, _channel = row
    settings = _settings(settings)
    language = _language(language)
    t = translator(language)
    body = reference_text(t, council=settings.council.name, reference=reference_module.display(reference),
                          service=_service_name(store, service_code, t), language=language,
                          stop_line=settings.sms.provider == "twilio")
    number = _texting_number(store, reference, sealed_phone)
    if number is None:
        return None
    return queue_text(store, number, body, kind="reference",
                      dedupe_key=f"reference:{submission_id}", language=language, submission_id=submission_id)


def queue_reference_texts(store, *, settings=None, within: timedelta = timedelta(hours=24)) -> int:
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


@dataclass(frozen=True)
class OutboundText:
    """A text a sender holds the lease on: the only place a number is opened to be sent to."""

    id: int
    number: str
    body: str
    kind: str
    language: str
    attempts: int
    created_at: datetime
    dedupe_key: str


def claim_texts(store, owner: str, limit: int, *, lease: timedelta, give_up_after: timedelta) -> list[OutboundText]:
    """Take the lease on due texts, writing `sending` before any leaves. First: texts to numbers
    that opted out or cannot receive are suppressed, stale ones given up, and a text found
    `sending` after its lease lapsed (a sender crashed mid-send) is failed, never resent.

    A text whose number or body cannot be opened is failed (never sent) with the reason
    UNOPENABLE, which `assist sync status` counts, and the claim goes on without it."""
    now_moment = store.clock()
    now = iso(now_moment)
    with db_module.write(store.db) as conn:
        conn.execute(
            "UPDATE sms_texts SET state = 'suppressed', body = NULL, updated_at = ?, error = 'opted out or cannot "
            "receive texts' WHERE state = 'queued' AND number_id IN (SELECT id FROM sms_numbers WHERE "
            "opted_out_at IS NOT NULL OR cannot_receive_at IS NOT NULL)", (now,))
        conn.execute(
            "UPDATE sms_texts SET state = 'failed', body = NULL, updated_at = ?, error = coalesce(error || '; ', '') "
            "|| 'given up: not sent in time' WHERE state = 'queued' AND created_at < ?",
            (now, iso(now_moment - give_up_after)))
        lapsed = conn.execute(
            "UPDATE sms_texts SET state = 'failed', body = NULL, lease_owner = NULL, lease_expires_at = NULL, "
            "updated_at = ?, error = 'interrupted while sending; not sent again so as never to text twice' "
            "WHERE state = 'sending' AND lease_expires_at <= ? RETURNING id", (now, now)).fetchall()
    for (text_id,) in lapsed:
        log.warning("text %s was interrupted while sending; not sent again", text_id)
    while True:
        with db_module.write(store.db) as conn:
            rows = conn.execute(
                "UPDATE sms_texts SET state = 'sending', lease_owner = ?, lease_expires_at = ?, "
                "attempts = attempts + 1, updated_at = ? WHERE id IN (SELECT id FROM sms_texts WHERE state = 'queued' "
                "AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?) "
                "RETURNING id, number_id, body, kind, language, attempts, created_at, dedupe_key",
                (owner, iso(now_moment + lease), now, now, limit)).fetchall()
            opened, unreadable = _open_texts(conn, store, rows)
            for text_id in unreadable:
                conn.execute("UPDATE sms_texts SET state = 'failed', body = NULL, lease_owner = NULL, "
                             "lease_expires_at = NULL, updated_at = ?, error = ? WHERE id = ?",
                             (now, UNOPENABLE, text_id))
        for text_id in unreadable:
            log.error("text %s %s; failed, not sent", text_id, UNOPENABLE)
        if opened or not unreadable:  # a batch of nothing but unreadable texts: take the next one
            return sorted(opened, key=lambda text: text.id)


def _open_texts(conn: sqlite3.Connection, store, rows: list[tuple]) -> tuple[list[OutboundText], list[int]]:
    """The claimed rows opened as texts, and the ids of those whose number or body do not open."""
    numbers: dict[int, Any] = {}
    opened, unreadable = [], []
    for row in rows:
        try:
            if row[1] not in numbers:
                sealed = conn.execute("SELECT number FROM sms_numbers WHERE id = ?", (row[1],)).fetchone()
                numbers[row[1]] = store.vault.open(sealed[0]) if sealed else None
            body = store.vault.open(row[2])
        except UNOPENABLE_ERRORS:
            unreadable.append(row[0])
            continue
        opened.append(OutboundText(id=row[0], number=numbers[row[1]], body=body, kind=row[3], language=row[4],
                                   attempts=row[5], created_at=parse_iso(row[6]), dedupe_key=row[7]))
    return opened, unreadable


def unopenable_count(store) -> int:
    """Texts failed because they could not be opened with this store's key (`assist sync status`)."""
    return store.db.conn.execute("SELECT count(*) FROM sms_texts WHERE state = 'failed' AND error = ?",
                                 (UNOPENABLE,)).fetchone()[0]


def _finish(store, text_id: int, owner: str, changes: dict[str, Any]) -> bool:
    """Apply `changes` to a text this owner still holds; False if the lease was lost."""
    now = iso(store.clock())
    values = {"lease_owner": None, "lease_expires_at": None, "updated_at": now, **changes}
    with db_module.write(store.db) as conn:
        changed = conn.execute(
            f"UPDATE sms_texts SET {', '.join(f'{key} = ?' for key in values)} WHERE id = ? AND state = 'sending' "
            "AND lease_owner = ?", (*values.values(), text_id, owner)).rowcount
    return bool(changed)


def text_sent(store, text_id: int, owner: str, *, provider: str, provider_id: str, provider_status: str | None) -> bool:
    """The provider took the text: its id is kept to match delivery statuses, and the body goes
    (sent through Notify, it stays sealed until Notify says how it went: a technical failure
    there means it was not sent, and it is sent again)."""
    now = iso(store.clock())
    with db_module.write(store.db) as conn:
        changed = conn.execute(
            "UPDATE sms_texts SET state = 'sent', body = CASE WHEN :provider = 'notify' THEN body END, "
            "provider = :provider, provider_id = :provider_id, provider_status = coalesce(provider_status, :status), "
            "sent_at = :now, updated_at = :now, lease_owner = NULL, lease_expires_at = NULL, error = NULL, "
            "next_attempt_at = :ask WHERE id = :id AND state = 'sending' AND lease_owner = :owner",
            {"provider": provider, "provider_id": provider_id, "status": provider_status, "now": now,
             "ask": iso(store.clock() + DELIVERY_FIRST_CHECK), "id": text_id, "owner": owner}).rowcount
        if changed and provider_status:
            # a delivery status that arrived before this answer was recorded (statuses race the API)
            _apply_status(conn, provider_id)
    return bool(changed)


def text_retry(store, text_id: int, owner: str, error: str, *, attempts: int, retry_after: float | None = None) -> datetime:
    """A passing failure (429, 5xx, no connection): back to `queued`, due after a backoff."""
    delay = retry_after if retry_after is not None else store.backoff_delay(attempts)
    due = store.clock() + timedelta(seconds=max(delay, 1.0))
    _finish(store, text_id, owner, {"state": "queued", "next_attempt_at": iso(due), "error": error})
    return due


def text_failed(store, text_id: int, owner: str, error: str, *, number_problem: str | None = None) -> bool:
    """A permanent failure. `number_problem` "opted_out" or "cannot_receive" is recorded on
    the number too, so it is never texted again (until it opts back in)."""
    now = iso(store.clock())
    with db_module.write(store.db) as conn:
        row = conn.execute("SELECT number_id FROM sms_texts WHERE id = ? AND state = 'sending' AND lease_owner = ?",
                           (text_id, owner)).fetchone()
        if row is None:
            return False
        conn.execute("UPDATE sms_texts SET state = 'failed', body = NULL, error = ?, updated_at = ?, lease_owner = NULL, "
                     "lease_expires_at = NULL WHERE id = ?", (error, now, text_id))
        if number_problem == "opted_out":
            set_opted_out(conn, row[0], now, "provider")
        elif number_problem == "cannot_receive":
            set_cannot_receive(conn, row[0], now, error)
    return True


def record_delivery(store, message_sid: str, status: str, error_code: str | None = None) -> bool:
    """A delivery status callback. Each (MessageSid, status) is taken once; a text's status
    only moves forward, whatever order callbacks arrive in. Returns False for a repeat."""
    status = (status or "").strip().lower()[:40]
    error_code = (error_code or "").strip()[:16] or None
    now = iso(store.clock())
    with db_module.write(store.db) as conn:
        if conn.execute("INSERT INTO sms_status_events (message_sid, status, error_code, received_at) "
                        "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        (message_sid, status, error_code, now)).rowcount == 0:
            return False
        _apply_status(conn, message_sid)
        _settle_notify(conn, message_sid, now)
        if error_code or status == NOTIFY_PERMANENT_FAILURE:
            row = conn.execute("SELECT number_id FROM sms_texts WHERE provider_id = ?", (message_sid,)).fetchone()
            if row is not None:
                if error_code == OPTED_OUT_CODE:
                    set_opted_out(conn, row[0], now, "provider")
                elif error_code in CANNOT_RECEIVE_DELIVERY_CODES and status in ("undelivered", "failed"):
                    set_cannot_receive(conn, row[0], now, f"delivery error {error_code}")
                elif status == NOTIFY_PERMANENT_FAILURE:
                    set_cannot_receive(conn, row[0], now, "Notify: permanent failure")
    return True


# GOV.UK Notify does not call a kiosk back (it has no public address), so the worker asks it for
# each sent text's status, `next_attempt_at` saying when (for a text already sent, it is when to
# ask next): soon after sending, then less and less often, for as long as Notify can still
# change its mind (it gives up delivering after 72 hours).
DELIVERY_FIRST_CHECK = timedelta(minutes=1)
DELIVERY_CHECK_FOR = timedelta(hours=80)


def deliveries_to_check(store, provider: str, limit: int) -> list[tuple[int, str, datetime]]:
    """Sent texts whose delivery is not known yet and is due to be asked about: (id, the
    provider's id, when sent), the longest waiting first."""
    now_moment = store.clock()
    final = sorted(SETTLED)
    rows = store.db.conn.execute(
        "SELECT id, provider_id, sent_at FROM sms_texts WHERE state = 'sent' AND provider = ? AND next_attempt_at <= ? "
        f"AND sent_at >= ? AND provider_id IS NOT NULL AND coalesce(provider_status, '') NOT IN "
        f"({', '.join('?' * len(final))}) ORDER BY next_attempt_at, id LIMIT ?",
        (provider, iso(now_moment), iso(now_moment - DELIVERY_CHECK_FOR), *final, limit)).fetchall()
    return [(row[0], row[1], parse_iso(row[2])) for row in rows]


def delivery_checked(store, text_id: int, sent_at: datetime) -> datetime:
    """The text's status was asked for (answered or not): when to ask again, a quarter of its
    age from now (at least a minute), so a text to a phone that is off is asked about a few
    dozen times over its 72 hours, not every round."""
    now_moment = store.clock()
    due = now_moment + max(DELIVERY_FIRST_CHECK, (now_moment - sent_at) / 4)
    with db_module.write(store.db) as conn:
        conn.execute("UPDATE sms_texts SET next_attempt_at = ? WHERE id = ? AND state = 'sent'", (iso(due), text_id))
    return due


def _settle_notify(conn: sqlite3.Connection, notification_id: str, now: str) -> None:
    """A text sent through Notify whose fate is now known: its body goes, unless Notify's
    technical failure says it was never sent, when it is queued to be sent again (as a new
    notification; the old id is let go, so its late statuses touch nothing)."""
    row = conn.execute("SELECT id, provider_status FROM sms_texts WHERE provider_id = ? AND state = 'sent' "
                       "AND provider = 'notify' AND body IS NOT NULL", (notification_id,)).fetchone()
    if row is None or row[1] not in SETTLED:
        return
    if row[1] == NOTIFY_TECHNICAL_FAILURE:
        conn.execute("UPDATE sms_texts SET state = 'queued', provider_id = NULL, provider_status = NULL, "
                     "next_attempt_at = ?, updated_at = ?, error = 'Notify could not send it (technical failure): "
                     "sending again' WHERE id = ?", (now, now, row[0]))
    else:
        conn.execute("UPDATE sms_texts SET body = NULL, updated_at = ? WHERE id = ?", (now, row[0]))


def _apply_status(conn: sqlite3.Connection, message_sid: str) -> None:
    """Set the text's provider status to the furthest one received so far."""
    text = conn.execute("SELECT id, provider_status FROM sms_texts WHERE provider_id = ?", (message_sid,)).fetchone()
    if text is None:
        return
    best = text[1]
    for (status,) in conn.execute("SELECT status FROM sms_status_events WHERE message_sid = ? ORDER BY received_at",
                                  (message_sid,)):
        if DELIVERY_RANK.get(status, -1) > DELIVERY_RANK.get(best or "", -1):
            best = status
    if best != text[1]:
        conn.execute("UPDATE sms_texts SET provider_status = ? WHERE id = ?", (best, text[0]))


def text_states(store) -> dict[str, int]:
    """Texts by state, for `assist sms status` and /healthz."""
    found = dict(store.db.conn.execute("SELECT state, count(*) FROM sms_texts GROUP BY state").fetchall())
    return {state: found.get(state, 0) for state in ("queued", "sending", "sent", "failed", "suppressed")}


# ---------------------------------------------------------------------------------------------
# Purging

#: How long a MessageSid is remembered to answer Twilio's retries (which come within minutes).
INBOUND_KEPT = timedelta(days=2)
RATE_KEPT = timedelta(hours=3)


def purge(store, *, retention: timedelta | None = None) -> dict[str, int]:
    """Purge texting's personal data, beside `Store.purge`: expired conversations, old inbound
    claims and rate counts, finished texts and delivery events older than the retention period,
    and numbers not seen for that long. A number that opted out keeps only its keyed hash, so
    the opt-out is still honoured and the number itself is gone."""
    retention = retention or store.retention
    now_moment = store.clock()
    now = iso(now_moment)
    cutoff = iso(now_moment - retention)
    with db_module.write(store.db) as conn:
        counts = {
            "conversations": conn.execute("DELETE FROM sms_conversations WHERE expires_at <= ?", (now,)).rowcount,
            "inbound": conn.execute("DELETE FROM sms_inbound WHERE received_at < ?",
                                    (iso(now_moment - INBOUND_KEPT),)).rowcount,
            "rate": conn.execute("DELETE FROM sms_rate WHERE at < ?", (iso(now_moment - RATE_KEPT),)).rowcount,
            "texts": conn.execute("DELETE FROM sms_texts WHERE created_at < ? AND state NOT IN ('queued', 'sending')",
                                  (cutoff,)).rowcount,
            # a text Notify never gave a final word on keeps its body no longer than it is asked about
            "sent_bodies": conn.execute("UPDATE sms_texts SET body = NULL WHERE state = 'sent' AND body IS NOT NULL "
                                        "AND sent_at < ?", (iso(now_moment - DELIVERY_CHECK_FOR),)).rowcount,
            "events": conn.execute("DELETE FROM sms_status_events WHERE received_at < ?", (cutoff,)).rowcount,
        }
        idle = ("last_seen_at < ? AND id NOT IN (SELECT number_id FROM sms_texts) "
                "AND id NOT IN (SELECT number_id FROM sms_conversations)")
        counts["numbers"] = conn.execute(f"DELETE FROM sms_numbers WHERE {idle} AND opted_out_at IS NULL",
                                         (cutoff,)).rowcount
        counts["numbers_kept_as_opt_out"] = conn.execute(
            f"UPDATE sms_numbers SET number = NULL WHERE {idle} AND opted_out_at IS NOT NULL AND number IS NOT NULL",
            (cutoff,)).rowcount
    return counts


def segments_label(text: str) -> str:
    """"2 segments, GSM-7", for the simulator and logs."""
    count = segments(text)
    return f"{count} segment{'s' if count != 1 else ''}, {encoding(text)}"
