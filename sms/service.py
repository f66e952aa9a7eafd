"""What the SMS app holds while it runs (on `app.state.sms`): the store, the bot, and the
batcher that takes concurrent webhooks together.

Messages are taken in batches (group commit): those that arrive while the store is busy go
together into the next write transaction, each in its own savepoint, and every reply is sent
only once its batch is committed (sms/batch.py). The store is used from the event loop's own
thread: a step is tens of microseconds of SQLite and a little Python, and handing it to another
thread cost more (thread switches, the GIL) than it saved; the SQLite busy timeout (5 s) bounds
any wait for another process's write, well inside Twilio's 15 s. One process takes a store's
inbound texts (one uvicorn worker): the bot keeps what it knows of recent numbers in memory
(sms/memory.py), and notices, and forgets it, when anything else writes to the store.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3

from twilio.twiml.messaging_response import MessagingResponse

from sms import templates as tpl
from sms.bot import Bot
from sms.messages import Inbound, Reply
from sync.config import Settings
from sync.store.db import StoreError, describe_error
from sync.texting import numbers

log = logging.getLogger(__name__)

#: Shared replies' TwiML kept at most (questions, menus and help in every language fit easily).
SHARED_TWIML_LIMIT = 2048
#: Pages of write-ahead log (4 KiB each) the webhook's connection lets grow before it checkpoints
#: (SQLite's default is 1,000): the log file stays at most about 40 MB.
WAL_CHECKPOINT_PAGES = 10_000
#: Messages taken in one transaction at most.
MAX_BATCH = 64


def twiml(text: str) -> str:
    """The reply as TwiML, built by twilio's MessagingResponse (an empty one sends nothing)."""
    response = MessagingResponse()
    if text:
        response.message(text)
    return str(response)


class SmsService:
    """The store (opened here unless given), the bot, the batcher and the kept TwiML."""

    def __init__(self, settings: Settings, store=None) -> None:
        self.settings = settings
        self._own_store = store is None
        self.store = store
        self.batcher = Batcher(self)
        self.bot: Bot | None = None  # made by open(), with the store
        self.shared_twiml: dict[str, str] = {}

    def open(self) -> None:
        if self.store is None:
            from sync.store import Store

            self.store = Store.open(self.settings)
        if self.bot is None:
            self.bot = Bot(self.store, self.settings)
        numbers.number_key(self.store)  # made once, up front
        # The webhook is the store's busiest writer, and most of what it writes (conversations, rate
        # counts, recent claims) is written again within seconds: checkpointing the write-ahead log
        # less often copies each such page to the database once instead of many times.
        if not self.store.db.on_postgres:
            self.store.db.conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")

    def close(self) -> None:
        if self._own_store and self.store is not None:
            self.store.close()
            self.store = None

    def reply_twiml(self, reply: Reply | None) -> str:
        """The reply's TwiML. Most replies are questions, menus and help, the same for everyone
        (Reply.shared): their TwiML is kept, as building it is a tenth of a message's time. Any
        other reply, which may carry a resident's place, words or reference, is built afresh and
        forgotten, so nothing personal outlives the purge in this process's memory."""
        if reply is None:  # the bot could not even be made: an apology in the first language
            return twiml(tpl.final(tpl.render("error", "en", phone=self.settings.council.phone), tpl.MIXED))
        if not reply.shared:
            return twiml(reply.text)
        found = self.shared_twiml.get(reply.text)
        if found is None:
            if len(self.shared_twiml) >= SHARED_TWIML_LIMIT:
                self.shared_twiml.clear()
            found = self.shared_twiml[reply.text] = twiml(reply.text)
        return found


class Batcher:
    """Group commit: inbound messages that arrive while the store is busy are taken together in
    the next batch (one transaction, one commit), so the store keeps up with many concurrent
    webhooks. At low load a batch is one message and nothing waits."""

    def __init__(self, service: SmsService, max_batch: int = MAX_BATCH) -> None:
        self.service = service
        self.max_batch = max_batch
        self.pending: list[tuple[Inbound, asyncio.Future]] = []
        self.draining = False

    async def submit(self, message: Inbound) -> Reply | None:
        future = asyncio.get_running_loop().create_future()
        self.pending.append((message, future))
        if not self.draining:
            self.draining = True
            asyncio.get_running_loop().create_task(self.drain())
        return await future

    async def drain(self) -> None:
        try:
            while self.pending:
                for _ in range(3):  # let requests already arrived be read and join this batch
                    await asyncio.sleep(0)
                batch, self.pending = self.pending[:self.max_batch], self.pending[self.max_batch:]
                results = self.take([item for item, _ in batch])
                for (_item, future), result in zip(batch, results):
                    if not future.done():
                        future.set_result(result)
        finally:
            self.draining = False

    def take(self, messages: list[Inbound]) -> list[Reply | None]:
        """The bot's replies, or an apology for each when the batch could not be taken."""
        bot = self.service.bot
        try:
            if bot is None:
                raise StoreError("the store is not open")
            return list(bot.handle_many(messages))
        except (StoreError, sqlite3.Error) as error:  # busy, full, unusable: one line, no traceback
            log.warning("a batch of %d message(s) could not be saved (%s); apologised", len(messages),
                        describe_error(error))
        except Exception:
            log.exception("a batch of %d message(s) could not be handled; apologised", len(messages))
        return [bot.apology() if bot else None] * len(messages)
