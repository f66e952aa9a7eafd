"""What the webhook remembers of each number between its messages.

A text conversation is a run of short messages from one number a minute or so apart. Reading the
number's row, its sealed conversation and its count for the hour back from the store for every
one of them (three look-ups and a decryption) cost more than the rest of the step. So the bot
keeps, in this process's memory, each recent number's row, its conversation (in clear, as last
saved) and its count this hour. Every change is still written to the store, in the same
transaction as the message that made it: the store stays the truth, and this is a copy of it.

The copy is trusted only while nothing else has written to the store since the bot's last batch:
neither another process (SQLite's `PRAGMA data_version` moves when another connection commits)
nor anything else on this process's own connection (its `total_changes` moves: a delivery
callback marking a number opted out, a staff command, a test). Then everything is forgotten and
read again. This is safe, and cheap, because one process takes a SQLite store's inbound texts:
`assist sms serve` runs one uvicorn worker (docs/sms.md). The sync worker's writes to the same
file are noticed like any other and just empty the memory. On PostgreSQL, where several webhook
processes share the database, nothing tells one process cheaply what the others wrote, so the
memory is never trusted there: every batch reads its numbers back from the store.

Phone numbers themselves are kept here too (each one's keyed hash, and its answer to the flow's
phone question), and forgotten with the rest: so a number the purge removes from the store, in
the worker's process, is gone from this one by its next batch.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from sms.conversation.state import Idle, State, from_dict
from sync import flow
from sync.store.db import Conn
from sync.texting import conversations, intake, numbers

#: Numbers remembered at most; past that the memory starts afresh (a few megabytes).
LIMIT = 20_000


#: json.dumps(state, sort_keys=True, ensure_ascii=False), made once rather than for every message.
_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False)


def dump(state: dict[str, Any]) -> str:
    """A conversation's saved form as JSON, keys in order."""
    return _ENCODER.encode(state)


@dataclass(frozen=True)
class Known:
    """One number as last written to the store."""

    number: numbers.Number
    conversation: State  # the conversation as saved (Idle for none)
    expires_at: str | None  # when the conversation expires; None for none
    seen: str  # the number's last_seen_at
    rate: tuple[str, int, bool]  # this number's rate-limit window: (hour, messages, warned)


class Memory:
    """Known numbers by keyed hash, and the store's state when they were last written."""

    def __init__(self, store) -> None:
        self.store = store
        self.known: dict[str, Known] = {}
        self._hashes: dict[str, str] = {}
        self._phones: dict[str, str | None] = {}
        self._mark: tuple[int, int] | None = None
        self._version = 0

    def number_hash(self, e164: str) -> str:
        """The number's keyed hash (numbers.number_hash), remembered too."""
        found = self._hashes.get(e164)
        if found is None:
            if len(self._hashes) >= LIMIT:
                self._hashes.clear()
            found = self._hashes[e164] = numbers.number_hash(self.store, e164)
        return found

    def phone(self, e164: str) -> str | None:
        """The flow's phone answer for the number a text came from (None if it is not one a
        resident can be called back on): reading a phone number costs more than the rest of a
        step, and a resident texts many times."""
        if e164 not in self._phones:
            if len(self._phones) >= LIMIT:
                self._phones.clear()
            try:
                self._phones[e164] = flow.phone_number(e164)
            except flow.Invalid:
                self._phones[e164] = None
        return self._phones[e164]

    def check(self, conn: Conn) -> None:
        """At the start of a batch, inside its write transaction (so nobody else can write until
        it commits): forget everything if anything but the bot wrote since its last batch."""
        if self.store.db.on_postgres:  # no cheap way to know what other processes wrote: trust nothing
            self._forget_all()
            return
        self._version = conn.execute("PRAGMA data_version").fetchone()[0]
        if self._mark != (self._version, _changes(conn)):
            self._forget_all()

    def recall(self, conn: Conn, e164: str, hashed: str, now: str, hour: str) -> Known:
        """The number as stored, made if new (inside the batch's transaction, in the message's
        savepoint, so that a message that fails leaves no number behind)."""
        found = self.known.get(hashed)
        if found is not None:
            return found
        number = numbers.number_row(conn, self.store, e164, now, hashed=hashed)
        conversation = conversations.load_conversation(conn, self.store, number.id) if not number.created else None
        count, warned = intake.rate_count(conn, f"number:{hashed}", hour)
        return Known(number, from_dict(conversation.state) if conversation else Idle(),
                     conversation.expires_at if conversation else None, now, (hour, count, warned))

    def committed(self, conn: Conn, changed: dict[str, Known]) -> None:
        """The batch that wrote `changed` is committed: remember them as the store now has them."""
        if len(self.known) + len(changed) > LIMIT:
            self.known.clear()
        self.known.update(changed)
        if not self.store.db.on_postgres:
            self._mark = (self._version, _changes(conn))

    def forget(self) -> None:
        """The batch failed (rolled back): what it changed is not in the store."""
        self._forget_all()
        self._mark = None

    def _forget_all(self) -> None:
        self.known.clear()
        self._hashes.clear()
        self._phones.clear()


def _changes(conn: Conn) -> int:
    """Rows this SQLite connection has changed since it opened (the memory is trusted on SQLite only)."""
    assert isinstance(conn, sqlite3.Connection)
    return conn.total_changes
