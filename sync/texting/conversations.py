"""Conversations: one per number, its state sealed with the store key, kept until it expires.

The SMS bot reads a number's conversation when it first meets the number in a batch, and writes
every changed one back at the end of the batch (sms/memory.py, sms/batch.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

from sync.store.db import Conn

if TYPE_CHECKING:
    from sync.store import Store


@dataclass
class Conversation:
    state: dict[str, Any]  # {} for none
    expires_at: str | None  # None for none


def load_conversation(conn: Conn, store: Store, number_id: int) -> Conversation:
    """The number's conversation as stored, expired or not (the caller decides what expiry means)."""
    row = conn.execute("SELECT state, expires_at FROM sms_conversations WHERE number_id = ?", (number_id,)).fetchone()
    if row is None:
        return Conversation({}, None)
    return Conversation(store.vault.open(row[0]) or {}, row[1])


def save_conversations(conn: Conn, store: Store, states: Iterable[tuple[int, str]], now: str,
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
            "INSERT INTO sms_conversations (number_id, state, started_at, updated_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (number_id) DO UPDATE SET state = excluded.state, "
            "updated_at = excluded.updated_at, expires_at = excluded.expires_at", kept)
