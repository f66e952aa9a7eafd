"""Taking messages in batches: one write transaction each (group commit), every message in its
own savepoint, so one message's failure touches no other.

For each message this layer loads the conversation (from the bot's memory, or the store), counts
it against the rate limits, runs the conversation's pure step (sms/conversation/) and writes what
the step says (the conversation, the number's language or opt-out, take-up events) together
with the message's claim: an atomic insert of its MessageSid carrying its reply, so a retried
webhook never acts twice. A confirmed request is saved in the same transaction.

Durability: a batch that saved a request (or a follow-up) is followed, before any reply leaves,
by the worker's "sync now" request written with synchronous=FULL, whose commit puts SQLite's whole
log on disk, the batch included; a batch with an opt-out or opt-in is committed with
synchronous=FULL itself. Other batches are committed with synchronous=NORMAL (WAL: no fsync of
their own): a power cut can lose the last steps, always together with their claims, so Twilio's
retry is taken afresh from the state it started from.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sms import keywords as kw
from sms import templates as tpl
from sms.conversation import gate
from sms.conversation.context import Context, Result
from sms.conversation.converse import respond
from sms.conversation.report import CHANNEL
from sms.conversation.state import State, as_saved, to_dict
from sms.memory import Known, dump
from sms.messages import Inbound, Reply
from sync import flow
from sync.store import db as db_module
from sync.store import events, iso
from sync.store.db import StoreError
from sync.store.followups import FollowUps
from sync.texting import conversations, intake, numbers, segments

if TYPE_CHECKING:
    from sms.bot import Bot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Read:
    """A message as the bot reads it, once: its text cleaned (escapes and invisible characters
    gone, cut just past the longest message taken) and matched against the keywords."""

    text: str
    match: kw.Match | None

    @classmethod
    def of(cls, inbound: Inbound, keywords: kw.Keywords) -> Read:
        text = flow.clean_text(inbound.body or "")[:segments.MAX_MESSAGE_CHARS + 1]
        return cls(text, keywords.match(text) if text else None)

    def may_change_opt_out(self, known: Known | None) -> bool:
        """Whether this message may opt its number out or back in (`known`: the number as the bot
        last knew it), so that every opt-out and opt-in is foreseen and committed with
        synchronous=FULL; YES opts in only a number that opted out."""
        if self.match and self.match.action in (kw.OPT_OUT, kw.OPT_IN):
            return True
        return kw.fold(self.text) in kw.TWILIO_OPT_IN and (known is None or known.number.opted_out)


class SeenBefore(Exception):
    """This MessageSid was claimed before: undo the step, answer as then."""


class Batch:
    """What the messages of one batch share: the time, and the service-wide rate count."""

    def __init__(self, bot: Bot, now: datetime, size: int) -> None:
        self.now = now
        self.iso = iso(now)
        self.expires = iso(now + bot.expiry)
        self.hour = now.strftime("%Y-%m-%dT%H")
        self.minute = now.strftime("%Y-%m-%dT%H:%M")
        self.size = size
        self.index = 0
        self.global_before = 0
        self.global_warned = False
        settings = bot.settings
        # What every message's Context holds alike (all but the number's language, office and phone).
        self.context = dict(languages=bot.languages, keywords=bot.keywords, catalogue=bot.catalogue(),
                            recogniser=bot.recogniser, language_names=bot.language_names,
                            council=settings.council.name, phone=settings.council.phone, today=now.date(),
                            expiry_hours=settings.sms.conversation_expiry_hours)

    def count(self, conn) -> None:
        """Count the whole batch against the service-wide limit, in one statement."""
        total, self.global_warned = intake.count_message(conn, "global", self.minute, self.iso, self.size)
        self.global_before = total - self.size

    @property
    def global_count(self) -> int:
        return self.global_before + self.index + 1


def take(bot: Bot, inbounds: list[Inbound]) -> list[Reply]:
    """Step and claim each message in one transaction; replies are returned once committed."""
    bot.catalogue(check=True)  # once per batch: a new catalogue from the worker is taken up here
    batch = Batch(bot, bot.store.clock(), len(inbounds))
    reads = [Read.of(inbound, bot.keywords) for inbound in inbounds]
    hashes = [bot.memory.number_hash(inbound.sender) for inbound in inbounds]
    _durability(bot, any(read.may_change_opt_out(bot.memory.known.get(hashed)) for read, hashed in zip(reads, hashes)))
    results: list[Reply] = []
    written = Written(batch, bot.store)
    conn = bot.store.db.conn
    try:
        # On PostgreSQL several webhook processes take texts at once: each batch locks only the
        # numbers it holds (in order, so two batches never wait on each other in a circle), so
        # one resident's texts are taken one after the other whichever process gets them.
        with db_module.write(bot.store.db, exclusive=False) as conn:
            db_module.lock_keys(bot.store.db, hashes)
            bot.memory.check(conn)
            batch.count(conn)
            for inbound, read, hashed in zip(inbounds, reads, hashes):
                results.append(_one(bot, conn, batch, written, Message(inbound, read, hashed)))
                batch.index += 1
            written.write(conn)
    except BaseException:
        bot.memory.forget()
        raise
    if written.saved or (written.opted and not bot.synchronous_full):
        _durable(bot)
    bot.memory.committed(conn, written.known)
    taken = [f"{inbound.sid}: {reply.action}" for inbound, reply in zip(inbounds, results)
             if reply.action not in ("repeat", "apologised")]
    if taken:  # one line a batch, as it is one transaction
        log.info("%s", " | ".join(taken))
    return results


@dataclass(frozen=True)
class Message:
    inbound: Inbound
    read: Read
    hashed: str  # the sender's keyed hash


def _one(bot: Bot, conn, batch: Batch, written: Written, message: Message) -> Reply:
    """One message in its own savepoint: stepped and claimed, or undone."""
    inbound = message.inbound
    conn.execute("SAVEPOINT message")
    try:
        known = written.known.get(message.hashed) or bot.memory.recall(conn, inbound.sender, message.hashed,
                                                                       batch.iso, batch.hour)
        turn = Turn(bot, conn, batch, known, message)
        reply = turn.take()
        written.add(turn)
        return reply
    except SeenBefore:
        conn.execute("ROLLBACK TO message")
        log.info("%s: seen before; answered as then, nothing done again", inbound.sid)
        return Reply(intake.inbound_reply(conn, bot.store, inbound.sid) or "", tpl.MIXED, "repeat")
    except Exception:
        conn.execute("ROLLBACK TO message")
        log.exception("%s: could not handle the message; apologised", inbound.sid)
        return bot.apology()
    finally:
        conn.execute("RELEASE message")


class StoreOffice:
    """The conversation's Office (sms/conversation/context.py) over the store, for one message."""

    def __init__(self, store, number_id: int, sid: str) -> None:
        self.store, self.number_id, self.sid = store, number_id, sid

    def lookup(self, reference: str):
        return self.store.lookup(reference)

    def enqueue(self, draft):
        try:
            return self.store.enqueue(draft)
        except StoreError as error:
            log.error("%s: could not save the request (%s)", self.sid, type(error).__name__)
            return None

    def replied_to(self, within: timedelta) -> str | None:
        return FollowUps(self.store).replied_to(self.number_id, within)

    def add_follow_up(self, reference: str, comment: str):
        return FollowUps(self.store).add(reference, "not_fixed", comment, channel=CHANNEL)


class Turn:
    """One message's step, inside the write transaction that claims it: the conversation's
    result, and what it says to write."""

    result: Result  # what the step did, once taken (Written.add reads it)

    def __init__(self, bot: Bot, conn, batch: Batch, known: Known, message: Message) -> None:
        self.bot, self.conn, self.batch, self.known, self.message = bot, conn, batch, known, message
        self.number = known.number
        self.hashed = message.hashed
        self.state: State = known.conversation
        self.rate = known.rate  # the number's window, once counted
        self.warned_busy = False  # this turn gave the service-wide "busy" answer for the minute

    @property
    def language(self) -> str | None:
        """The number's language as it stands (LANG changes it mid-turn), while it is one offered."""
        return self.number.language if self.number.language in self.bot.languages else None

    def context(self) -> Context:
        inbound, memory = self.message.inbound, self.bot.memory
        return Context(**self.batch.context, language=self.language,
                       office=StoreOffice(self.bot.store, self.number.id, inbound.sid),
                       sender_phone=lambda: memory.phone(inbound.sender))

    def take(self) -> Reply:
        """Step, write, and claim the MessageSid with the reply (raises SeenBefore for a repeat)."""
        inbound, read, ctx = self.message.inbound, self.message.read, self.context()
        result = (gate.opting(ctx, self.state, read.text, read.match, self.number.opted_out)
                  or self.rate_limit(ctx)
                  or gate.sized(ctx, self.state, read.text, length=len(inbound.body or ""),
                                limit=segments.MAX_MESSAGE_CHARS, media=inbound.num_media)
                  or respond(ctx, self.state, read.text, read.match, expired=self.expired()))
        self.apply(result)
        reply_language = result.reply_language or self.language or tpl.MIXED
        shared = result.reply.shared
        text = (tpl.final_shared if shared else tpl.final)(result.reply.text, reply_language)
        if not intake.claim_inbound(self.conn, inbound.sid, self.batch.iso, self.number.id,
                                   self.bot.store.vault.seal(text)):
            raise SeenBefore()
        return Reply(text, reply_language, result.action, shared=shared)

    def expired(self) -> bool:
        return self.known.expires_at is not None and self.known.expires_at <= self.batch.iso

    def rate_limit(self, ctx: Context) -> Result | None:
        """Count the message against its number's hourly limit and the service's per minute."""
        batch, sms = self.batch, self.bot.settings.sms
        hour, count, warned = self.rate if self.rate[0] == batch.hour else (batch.hour, 0, False)
        count += 1
        self.rate = (hour, count, warned)
        if count > sms.rate_limit_per_number_per_hour:
            self.rate = (hour, count, True)
            return gate.limited(ctx, self.state, "rate_limited", warned)
        if batch.global_count > sms.rate_limit_global_per_minute:
            if not batch.global_warned:
                intake.mark_warned(self.conn, "global", batch.minute)
                self.warned_busy = True  # the batch knows once this turn is kept (Written.add)
            return gate.limited(ctx, self.state, "busy", batch.global_warned)
        return None

    def apply(self, result: Result) -> None:
        """Write what the step says beside its conversation (which Written saves at the end)."""
        conn, number_id = self.conn, self.number.id
        if result.opted == kw.OPT_OUT:
            numbers.set_opted_out(conn, number_id, self.batch.iso, "keyword")
            self.number = replace(self.number, opted_out=True)
        elif result.opted == kw.OPT_IN:
            numbers.set_opted_in(conn, number_id)
            self.number = replace(self.number, opted_out=False, cannot_receive=False)
        if result.language:
            numbers.set_language(conn, number_id, result.language)
            self.number = replace(self.number, language=result.language)
        self.state = result.state
        self.result = result


class Written:
    """What a batch's messages changed, kept as each message succeeds and written together at the
    end of the batch's transaction: a few statements for the whole batch, not a few a message."""

    def __init__(self, batch: Batch, store) -> None:
        self.batch = batch
        self.store = store
        self.known: dict[str, Known] = {}  # each number as it will be once committed
        self.states: dict[int, str] = {}  # conversations to save, dumped ("{}" to end)
        self.rates: dict[str, tuple[str, str, int, bool, str]] = {}
        self.seen: set[int] = set()
        self.events: list[tuple] = []
        self.saved = False
        self.opted = False

    def add(self, turn: Turn) -> None:
        """Keep what a message that succeeded changed (its savepoint released)."""
        batch, known, result = self.batch, turn.known, turn.result
        state, expires_at = known.conversation, known.expires_at
        if turn.state != state:
            saved = to_dict(turn.state)
            state, expires_at = as_saved(turn.state, saved), batch.expires if saved else None
            self.states[known.number.id] = dump(saved)
        if turn.rate != known.rate:
            self.rates[turn.hashed] = (f"number:{turn.hashed}", *turn.rate, batch.iso)
        seen = known.seen
        if seen[:13] != batch.iso[:13]:  # once an hour is enough for the purge
            self.seen.add(known.number.id)
            seen = batch.iso
        device = self.store.device_id
        self.events += [(event.session, CHANNEL, device, batch.iso, event.name, event.service, event.language,
                         event.step, 0) for event in result.events]
        self.saved = self.saved or result.saved
        self.opted = self.opted or result.opted is not None
        batch.global_warned = batch.global_warned or turn.warned_busy
        self.known[turn.hashed] = Known(turn.number, state, expires_at, seen, turn.rate)

    def write(self, conn) -> None:
        if self.states:
            conversations.save_conversations(conn, self.store, self.states.items(), self.batch.iso, self.batch.expires)
        if self.rates:
            intake.set_counts(conn, self.rates.values())
        if self.seen:
            numbers.touch_numbers(conn, self.seen, self.batch.iso)
        if self.events:
            events.insert(conn, self.events)


def _durable(bot: Bot) -> None:
    """A request was saved: ask the worker to send it at once, with synchronous=FULL, which
    also puts the batch that saved it on disk before its reference is texted back. (The same
    for an opt-out or opt-in in a batch that did not foresee it: the bot's memory of the number
    was out of date.)"""
    _durability(bot, True)
    try:
        bot.store.request("sync_now")
    except StoreError as error:  # the request is saved; the worker sends it on its next round
        log.error("could not ask the worker to send at once (%s)", type(error).__name__)
        db_module.flush_wal(bot.store.db)  # the batch on disk all the same, before any reply


def _durability(bot: Bot, full: bool) -> None:
    """synchronous=FULL for what must survive a power cut (a saved request, an opt-out);
    NORMAL (WAL: no fsync at commit) for a conversation step, which a power cut can only
    lose together with its MessageSid claim, so that Twilio's retry replays it exactly."""
    if full != bot.synchronous_full:
        db_module.set_synchronous(bot.store.db, full)
        bot.synchronous_full = full
