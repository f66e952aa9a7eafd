"""The text conversation: one inbound message in, one reply out, state kept in the store.

Everything a resident is asked comes from the shared catalogue and question flow (`sync/flow.py`):
a service is asked here exactly as on the kiosk, its list answers as numbered options, and every
answer is checked by the flow's own validation. The bot adds only what texting needs:

* **Language first.** A number's language is asked at first contact (each offered language's
  question, each language named in itself) and remembered; the first message is kept and
  answered once the language is chosen. LANG (IAITH) changes it at any time.
* **Keywords** (sms/keywords.py) in every offered language: opt-out and opt-in, HELP, NEW,
  STATUS with a reference, REPORT, SKIP for optional questions.
* **One-shot messages** ("missed bin 12 High St"): the recogniser (sms/recognise.py) finds the
  service and place, the resident's words become the description, and only what is missing is
  asked. Several possible addresses are offered as numbered choices, never guessed.
* **Read-back**: before anything is sent the answers are read back (long ones shortened) and
  the bot waits for YES; then the request is saved to the outbox and its reference texted back.

One conversation per number, sealed in the store, cleared after `sms.conversation_expiry_hours`
(the resident is told if they come back). Messages are taken in batches, one write transaction
each (group commit): every message in its own savepoint, stepped, then claimed by its MessageSid
with an atomic insert that carries its reply, so a retried webhook never acts twice; a confirmed
request is saved to the outbox in the same transaction, so a step, its claim and its request are
committed together or not at all. What the bot knows of recent numbers is kept in memory between
messages and written through (sms/memory.py). Logs carry MessageSids and references, never
numbers or words.

Durability: a batch that saved a request is followed, before any reply leaves, by the worker's
"sync now" request written with synchronous=FULL, whose commit puts SQLite's whole log on disk,
the batch included; a batch with an opt-out or opt-in is committed with synchronous=FULL itself.
Other batches are committed with synchronous=NORMAL (WAL: no fsync of their own, the store stays
consistent): a power cut can lose the last steps, always together with their MessageSid claims
(a retry is then taken afresh from the state it started from), and the resident is asked again
what was lost; the read-back before YES shows every answer once more.

Session events for the take-up report (sync/events.py) are written in the same transaction: a
session is one report, from its menu or its service to its submission, or to NEW, a NO at the
read-back, a report begun over it or a withdrawn service ("restart"), or expiry ("expired"). Its
random id is kept in the conversation's state. Nothing the resident typed is ever recorded.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from babel import Locale

import locales
from locales import translator
from sms import keywords as kw
from sms import templates as tpl
from sms.memory import Known, Memory, dump
from sms.recognise import PlaceGuess, Recogniser, _tokens
from sync import flow
from sync import reference as reference_module
from sync.flow import Invalid, Question
from sync.open311.followups import FollowUps, Refusal
from sync.places.gazetteer import Place
from sync.store import db as db_module
from sync.store import events, iso
from sync.store.db import StoreError
from sync.texting import conversations, intake, numbers, wording
from sync.texting.segments import MAX_MESSAGE_CHARS, budget, normalise, segments

log = logging.getLogger(__name__)

#: The language of a reply written in several languages at once (its budget is 3 segments).
MIXED = "mixed"
CHANNEL = "sms"
CONFIRM = Question("confirm", "yesno", flow.UPDATES.prompt, required=True, choices=flow.YES_NO)
_DIGITS = re.compile(r"^\s*(\d{1,3})\s*[.)]?\s*$")


@dataclass(frozen=True)
class Inbound:
    sid: str
    sender: str  # the From number, E.164 from Twilio
    body: str
    num_media: int = 0


@dataclass(frozen=True)
class Reply:
    text: str  # "" sends nothing
    language: str
    action: str  # what happened, for the log (never the resident's words)
    #: Built only from templates and the catalogue (a question, a menu, HELP): the same for
    #: anyone, so the web layer may keep its TwiML. Never true of a reply that carries a
    #: resident's place, words or reference.
    shared: bool = False


@dataclass(frozen=True)
class Read:
    """A message as the bot reads it, once: its text cleaned (escapes and invisible characters
    gone, cut just past the longest message taken) and matched against the keywords."""

    text: str
    match: kw.Match | None

    @classmethod
    def of(cls, inbound: Inbound, keywords: kw.Keywords) -> "Read":
        text = flow.clean_text(inbound.body or "")[:MAX_MESSAGE_CHARS + 1]
        return cls(text, keywords.match(text) if text else None)

    def may_change_opt_out(self, known: Known | None) -> bool:
        """Whether this message may opt its number out or back in (`known`: the number as the bot
        last knew it, if it does). Judged on the text as the turn will read it, so that every
        opt-out and opt-in the turn acts on is foreseen and committed with synchronous=FULL; YES
        opts in only a number that opted out."""
        match = self.match
        if match and match.action in (kw.OPT_OUT, kw.OPT_IN):
            return True
        return kw.fold(self.text) in kw.TWILIO_OPT_IN and (known is None or known.number.opted_out)


class Bot:
    def __init__(self, store, settings) -> None:
        self.store = store
        self.settings = settings
        self.languages = tuple(locales.enabled(list(settings.languages.enabled), settings.languages.reviewed_only))
        self.keywords = kw.keywords(self.languages)
        self.expiry = timedelta(hours=settings.sms.conversation_expiry_hours)
        self.memory = Memory(store)
        self._catalogue = None
        self._recogniser: Recogniser | None = None
        self._language_names = {code: language_names(code, self.languages) for code in self.languages}
        self._full = True  # the store opens with synchronous=FULL

    # -- what the conversation is built from ----------------------------------------------------

    def catalogue(self, *, check: bool = False):
        """The catalogue in force; `check` looks for a new one from the worker (once a batch)."""
        if self._catalogue is not None and not check:
            return self._catalogue
        current = self.store.catalogue()  # the same object until the worker saves a new one
        if current is not self._catalogue:
            self._catalogue = current
            self._recogniser = None
        return self._catalogue

    def recogniser(self) -> Recogniser:
        catalogue = self.catalogue()
        if self._recogniser is None:
            self._recogniser = Recogniser(self.store.db, catalogue, self.languages)
        return self._recogniser

    # -- one message -------------------------------------------------------------------------------

    def handle(self, inbound: Inbound) -> Reply:
        return self.handle_many([inbound])[0]

    def handle_many(self, inbounds: list[Inbound]) -> list[Reply]:
        """Take a batch of messages in one write transaction (one commit for all: group commit),
        each in its own savepoint, so one message's failure touches no other. Each message is
        stepped and then claimed by its MessageSid with an atomic insert that carries its reply:
        a MessageSid seen before (a retry, or a replay) rolls its step back and gets the reply
        it got then, so nothing is done twice. Replies are returned only once committed."""
        self.catalogue(check=True)  # once per batch: a new catalogue from the worker is taken up here
        batch = Batch(self.store.clock(), len(inbounds), self.expiry)
        reads = [Read.of(inbound, self.keywords) for inbound in inbounds]
        hashes = [self.memory.number_hash(inbound.sender) for inbound in inbounds]
        self._durability(any(read.may_change_opt_out(self.memory.known.get(hashed))
                             for read, hashed in zip(reads, hashes)))
        results: list[Reply] = []
        written = Written(batch, self.store)
        conn = self.store.db.conn
        try:
            with db_module.write(self.store.db) as conn:
                self.memory.check(conn)
                batch.count(conn)
                for inbound, read, hashed in zip(inbounds, reads, hashes):
                    conn.execute("SAVEPOINT message")
                    try:
                        known = written.known.get(hashed) or self.memory.recall(conn, inbound.sender, hashed,
                                                                                batch.iso, batch.hour)
                        turn = Turn(self, conn, known, inbound, read, batch, hashed)
                        results.append(turn.step())
                        written.add(turn)
                    except _SeenBefore:
                        conn.execute("ROLLBACK TO message")
                        previous = intake.inbound_reply(conn, self.store, inbound.sid)
                        log.info("%s: seen before; answered as then, nothing done again", inbound.sid)
                        results.append(Reply(previous or "", MIXED, "repeat"))
                    except Exception:
                        conn.execute("ROLLBACK TO message")
                        log.exception("%s: could not handle the message; apologised", inbound.sid)
                        results.append(self.apology())
                    finally:
                        conn.execute("RELEASE message")
                    batch.index += 1
                written.write(conn)
        except BaseException:
            self.memory.forget()
            raise
        if written.saved or (written.opted and not self._full):
            self._durable()
        self.memory.committed(conn, written.known)
        taken = [f"{inbound.sid}: {reply.action}" for inbound, reply in zip(inbounds, results)
                 if reply.action not in ("repeat", "apologised")]
        if taken:  # one line a batch, as it is one transaction: a line a message cost a tenth of its time
            log.info("%s", " | ".join(taken))
        return results

    def _durable(self) -> None:
        """A request was saved: ask the worker to send it at once, with synchronous=FULL, which
        also puts the batch that saved it on disk before its reference is texted back. (The same
        for an opt-out or opt-in in a batch that did not foresee it: the bot's memory of the number
        was out of date.)"""
        self._durability(True)
        try:
            self.store.request("sync_now")
        except StoreError as error:  # the request is saved; the worker sends it on its next round
            log.error("could not ask the worker to send at once (%s)", type(error).__name__)
            db_module.flush_wal(self.store.db)  # the batch on disk all the same, before any reply

    def _durability(self, full: bool) -> None:
        """synchronous=FULL for what must survive a power cut (a saved request, an opt-out);
        NORMAL (WAL: no fsync at commit) for a conversation step, which a power cut can only
        lose together with its MessageSid claim, so that Twilio's retry replays it exactly."""
        if full != self._full:
            self.store.db.conn.execute(f"PRAGMA synchronous = {'FULL' if full else 'NORMAL'}")
            self._full = full

    def apology(self) -> Reply:
        language = self.languages[0]
        text = tpl.final(tpl.render("error", language, phone=self.settings.council.phone), language)
        return Reply(text, language, "apologised")

    def choose_language(self, text: str) -> str | None:
        """The offered language a reply names: its number in the menu, its code, or its name in
        itself, in English or in any offered language."""
        folded = kw.fold(text)
        if folded.isdigit():
            index = int(folded) - 1
            return self.languages[index] if 0 <= index < len(self.languages) else None
        return next((code for code, names in self._language_names.items() if folded in names), None)


def language_names(code: str, languages: tuple[str, ...]) -> frozenset[str]:
    """What a resident may call a language, folded: its code, its own name, its English name
    and its name in each offered language."""
    names = {code, kw.fold(locales.native_name(code))}
    for other in ("en", *languages):
        try:
            names.add(kw.fold(Locale.parse(code).get_display_name(other) or ""))
        except (ValueError, TypeError):
            continue
    return frozenset(names)


class _SeenBefore(Exception):
    """This MessageSid was claimed before: undo the step, answer as then."""


class Batch:
    """What the messages of one batch share: the time, and the service-wide rate count."""

    def __init__(self, now: datetime, size: int, expiry: timedelta) -> None:
        self.now = now
        self.iso = iso(now)
        self.expires = iso(now + expiry)
        self.hour = now.strftime("%Y-%m-%dT%H")
        self.minute = now.strftime("%Y-%m-%dT%H:%M")
        self.size = size
        self.index = 0
        self.global_before = 0
        self.global_warned = False

    def count(self, conn) -> None:
        """Count the whole batch against the service-wide limit, in one statement."""
        total, self.global_warned = intake.count_message(conn, "global", self.minute, self.iso, self.size)
        self.global_before = total - self.size

    @property
    def global_count(self) -> int:
        return self.global_before + self.index + 1


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

    def add(self, turn: "Turn") -> None:
        """Keep what a message that succeeded changed (its savepoint released)."""
        batch, known = self.batch, turn.known
        conversation, expires_at = known.conversation, known.expires_at
        if turn.state is not None and (dumped := dump(turn.state)) != conversation:
            conversation, expires_at = dumped, batch.expires if turn.state else None
            self.states[known.number.id] = dumped
        rate = known.rate
        if turn.rate is not None:
            rate = turn.rate
            self.rates[turn.hashed] = (f"number:{turn.hashed}", *rate, batch.iso)
        seen = known.seen
        if seen[:13] != batch.iso[:13]:  # once an hour is enough for the purge
            self.seen.add(known.number.id)
            seen = batch.iso
        device = self.store.device_id
        self.events += [(session, CHANNEL, device, batch.iso, event, service, language, step, 0)
                        for session, event, service, language, step in turn.events]
        self.saved = self.saved or turn.saved
        self.opted = self.opted or turn.opted
        batch.global_warned = batch.global_warned or turn.warned_busy
        self.known[turn.hashed] = Known(turn.number, conversation, expires_at, seen, rate)

    def write(self, conn) -> None:
        if self.states:
            conversations.save_conversations(conn, self.store, self.states.items(), self.batch.iso, self.batch.expires)
        if self.rates:
            intake.set_counts(conn, self.rates.values())
        if self.seen:
            numbers.touch_numbers(conn, self.seen, self.batch.iso)
        if self.events:
            events.insert(conn, self.events)


class Turn:
    """One step of one conversation, inside the write transaction that claims the message."""

    def __init__(self, bot: Bot, conn, known: Known, inbound: Inbound, read: Read, batch: Batch, hashed: str) -> None:
        self.bot = bot
        self.conn = conn
        self.known = known
        self.number = known.number
        self.inbound = inbound
        self.read = read
        self.batch = batch
        self.now = batch.now
        self.hashed = hashed
        self.settings = bot.settings
        self.store = bot.store
        self.language = self.number.language if self.number.language in bot.languages else None
        self.reply_language = self.language or MIXED
        self.state: dict[str, Any] | None = None  # None until the conversation is loaded (or ended)
        self.rate: tuple[str, int, bool] | None = None  # the number's window, once counted
        self.session: str | None = None  # the report in hand (session events)
        self.events: list[tuple[str, str, str | None, str, str | None]] = []
        self.saved = False
        self.opted = False  # opted out or back in
        self.warned_busy = False  # this turn gave the service-wide "busy" answer for the minute
        self.action = "answered"
        # Whether the reply is shared (Reply.shared): some part was built only from templates and
        # the catalogue, and no part was filled in with anything else.
        self.shared = False
        self.personal = False

    # -- helpers ------------------------------------------------------------------------------

    @property
    def t(self):
        return translator(self.language or "en")

    def say(self, name: str, **params: Any) -> str:
        council, phone = self.settings.council.name, self.settings.council.phone
        if not params:
            return self.fixed(tpl.fixed(name, self.language or "en", council, phone))
        return self.filled(tpl.render(name, self.language or "en", council=council, phone=phone, **params))

    def fixed(self, text: str) -> str:
        """`text` is built only from templates and the catalogue."""
        self.shared = True
        return text

    def filled(self, text: str) -> str:
        """`text` carries values (a place, a reference, a date): the reply is not shared."""
        self.personal = True
        return text

    def set_language(self, language: str) -> None:
        numbers.set_language(self.conn, self.number.id, language)
        self.number = replace(self.number, language=language)
        self.language = language
        self.reply_language = language

    def keyword_language(self, match: kw.Match) -> str:
        if len(match.languages) == 1 and match.languages[0] in self.bot.languages:
            return match.languages[0]
        return self.language or self.bot.languages[0]

    # -- session events -----------------------------------------------------------------------------

    def event(self, name: str, *, step: str | None = None, service: str | None = None) -> None:
        """Record `name` for the report in hand (its service unless given): never anything the
        resident typed."""
        if self.session is not None:
            code = service or (self.state or {}).get("service")
            self.events.append((self.session, name, code, self.language or self.bot.languages[0], step))

    def begin(self) -> None:
        """A report begins, unless one is already in hand; its service is not known yet."""
        if self.session is None:
            self.session = events.new_session()
            self.events.append((self.session, events.STARTED, None, self.language or self.bot.languages[0], None))

    def abandon(self, why: str, service: str | None = None) -> None:
        """The report in hand ends unsent: "restart" or "expired"."""
        self.event(events.ABANDONED, step=why, service=service)
        self.session = None

    # -- the step ---------------------------------------------------------------------------------

    def step(self) -> Reply:
        """Run the step and claim its MessageSid with the reply (raises _SeenBefore for a repeat)."""
        raw = self.run() or ""
        shared = self.shared and not self.personal
        text = (tpl.final_shared if shared else tpl.final)(raw, self.reply_language)
        if self.state:
            if self.session:
                self.state["session"] = self.session
            else:
                self.state.pop("session", None)
        if not intake.claim_inbound(self.conn, self.inbound.sid, self.batch.iso, self.number.id,
                                   self.store.vault.seal(text)):
            raise _SeenBefore()
        return Reply(text, self.reply_language, self.action, shared=shared)

    def run(self) -> str:
        inbound = self.inbound
        text, match = self.read.text, self.read.match
        now = self.batch.iso

        # Opting out and back in come before everything, rate limits included.
        if match and match.action == kw.OPT_OUT:
            numbers.set_opted_out(self.conn, self.number.id, now, "keyword")
            self.opted = True
            self.number = replace(self.number, opted_out=True)
            self.state = {}  # the conversation ends with the opt-out
            self.action = "opted out"
            if match.twilio:
                return ""  # Twilio confirms its own keywords, and blocks any reply of ours
            self.language = self.keyword_language(match)
            self.reply_language = self.language
            return self.say("opted_out", start=kw.shown(kw.OPT_IN, self.language))
        if self.number.opted_out:
            if (match and match.action == kw.OPT_IN) or kw.fold(text) in kw.TWILIO_OPT_IN:
                numbers.set_opted_in(self.conn, self.number.id)
                self.opted = True
                self.number = replace(self.number, opted_out=False, cannot_receive=False)
                self.action = "opted in"
                self.language = self.keyword_language(match) if match else (self.language or self.bot.languages[0])
                self.reply_language = self.language
                return self.say("opted_in")
            if match and match.action == kw.HELP:
                self.language = self.keyword_language(match)
                self.reply_language = self.language
                self.action = "help while opted out"
                return self.say("opted_out_help", start=kw.shown(kw.OPT_IN, self.language))
            self.action = "opted out: not answered"
            return ""

        limited = self.rate_limit()
        if limited is not None:
            return limited

        if len(inbound.body or "") > MAX_MESSAGE_CHARS:
            self.action = "too long"
            return self.say("too_long", max=MAX_MESSAGE_CHARS) if self.language else self.mixed("too_long", max=MAX_MESSAGE_CHARS)
        if not text:
            self.action = "media only" if inbound.num_media else "empty"
            name = "media" if inbound.num_media else "empty"
            return self.say(name) if self.language else self.mixed(name)

        self.state = json.loads(self.known.conversation)
        self.session = self.state.get("session")
        expired = self.known.expires_at is not None and self.known.expires_at <= now
        if expired:
            self.abandon("expired", self.state.get("service"))
            self.state = {}
        if self.language is None and len(self.bot.languages) == 1:
            self.set_language(self.bot.languages[0])
        if self.language is None and match and match.action == kw.NOT_FIXED:
            self.set_language(self.keyword_language(match))  # a reply to a status text: no menu first
        if self.language is None:
            return self.first_contact(text, match)
        reply = self.converse(text, match)
        if expired and not self.saved:
            hours = self.settings.sms.conversation_expiry_hours
            reply = tpl.join(self.language, self.say("expired", hours=hours), reply)
            self.action += " (after an expired conversation)"
        return reply

    def mixed(self, name: str, **params: Any) -> str:
        """A short message in every offered language, for a number whose language is not known
        yet, as far as the budget allows (the first language always)."""
        parts = []
        for code in self.bot.languages:
            values = {"council": self.settings.council.name, "phone": self.settings.council.phone, **params}
            part = tpl.render(name, code, **values)
            trial = "\n".join([*parts, part])
            if parts and segments(normalise(trial)) > budget(MIXED):
                break
            parts.append(part)
        return "\n".join(dict.fromkeys(parts))

    def rate_limit(self) -> str | None:
        batch = self.batch
        per_number = self.settings.sms.rate_limit_per_number_per_hour
        per_minute = self.settings.sms.rate_limit_global_per_minute
        hour, count, warned = self.known.rate if self.known.rate[0] == batch.hour else (batch.hour, 0, False)
        count += 1
        self.rate = (hour, count, warned)
        name = None
        if count > per_number:
            name = "rate_limited"
            self.rate = (hour, count, True)
        elif batch.global_count > per_minute:
            name, warned = "busy", batch.global_warned
            if not warned:
                intake.mark_warned(self.conn, "global", batch.minute)
                self.warned_busy = True  # the batch knows once this turn is kept (Written.add)
        if name is None:
            return None
        if warned:
            self.action = f"{name}: not answered"
            return ""
        self.action = name
        return self.say(name) if self.language else self.mixed(name)

    # -- language -----------------------------------------------------------------------------

    def choose_language(self, text: str) -> str | None:
        return self.bot.choose_language(text)

    def language_menu(self) -> str:
        self.reply_language = MIXED
        return self.fixed(tpl.language_menu(self.bot.languages))

    def first_contact(self, text: str, match: kw.Match | None) -> str:
        """No language yet: ask it, keeping the message to answer once it is chosen."""
        if self.state.get("mode") == "language":
            chosen = self.choose_language(text)
            if match and match.action == kw.LANGUAGE and match.argument:
                chosen = self.choose_language(match.argument) or chosen
            if chosen:
                self.set_language(chosen)
                stash = self.state.get("stash", "")
                self.state = {}
                self.action = f"language chosen: {chosen}"
                done = self.say("language_set", lang=kw.shown(kw.LANGUAGE, chosen))
                if stash:
                    stashed_match = self.bot.keywords.match(stash)
                    reply = self.converse(stash, stashed_match)
                    return tpl.join(chosen, done, reply)
                return tpl.join(chosen, done, self.say("welcome"))
            if not (match and match.action in (kw.LANGUAGE, kw.GREETING, kw.OPT_IN)):
                self.state["stash"] = text
            self.action = "language asked again"
            return self.language_menu()
        keep = not (match and match.action in (kw.LANGUAGE, kw.GREETING, kw.OPT_IN))
        if match and match.action == kw.LANGUAGE and match.argument:
            chosen = self.choose_language(match.argument)
            if chosen:
                self.set_language(chosen)
                self.action = f"language chosen: {chosen}"
                return tpl.join(chosen, self.say("language_set", lang=kw.shown(kw.LANGUAGE, chosen)), self.say("welcome"))
        self.state = {"mode": "language", "stash": text if keep else ""}
        self.action = "language asked"
        return self.language_menu()

    # -- the conversation with a known language -----------------------------------------------------

    def converse(self, text: str, match: kw.Match | None) -> str:
        mode = self.state.get("mode")
        if match:
            if match.action == kw.LANGUAGE:
                chosen = self.choose_language(match.argument) if match.argument else None
                if chosen:
                    return self.change_language(chosen)
                self.state = {"mode": "language", "resume": self.state}
                self.action = "language asked"
                return self.language_menu()
            if match.action == kw.HELP:
                self.action = "help"
                return self.say("help")
            if match.action == kw.NEW:
                self.abandon("restart")
                self.state = {}
                self.action = "started again"
                return self.say("started_again")
            if match.action == kw.STATUS:
                return self.status(match.argument)
            if match.action == kw.NOT_FIXED and (reply := self.not_fixed(match.argument, mode)) is not None:
                return reply
            if match.action == kw.REPORT:
                self.abandon("restart")
                self.state = {}
                return self.one_shot(match.argument) if match.argument else self.group_menu()
            if match.action in (kw.GREETING, kw.OPT_IN) and mode in (None, "idle"):
                self.action = "welcome"
                return self.say("welcome")
        if mode == "language":
            chosen = self.choose_language(text)
            if chosen:
                self.state = self.state.get("resume") or {}
                return self.change_language(chosen)
            self.action = "language asked again"
            return self.language_menu()
        if mode == "group":
            return self.pick_group(text)
        if mode == "services":
            return self.pick_service(text)
        if mode == "asking":
            return self.answer(text, match)
        if mode == "choose_place":
            return self.pick_place(text)
        if mode == "choose_street":
            return self.pick_street(text)
        if mode == "confirm":
            return self.confirm(text)
        if reference_module.parse(text):
            return self.status(text)
        return self.one_shot(text)

    def change_language(self, chosen: str) -> str:
        """The number's language changes mid-conversation: the question in hand comes again in it."""
        self.set_language(chosen)
        self.event(events.LANGUAGE)
        self.action = f"language changed: {chosen}"
        return tpl.join(chosen, self.say("language_set", lang=kw.shown(kw.LANGUAGE, chosen)), self.current())

    def current(self) -> str:
        """The question in hand again (after a language change), or the welcome."""
        mode = self.state.get("mode")
        if mode == "asking":
            return self.ask()
        if mode == "confirm":
            return self.read_back()
        if mode in ("group", "services", "choose_place", "choose_street"):  # menus are not repeated
            self.abandon("restart")
            self.state = {}
        return self.say("welcome")

    # -- menus ---------------------------------------------------------------------------------

    def groups(self) -> list[str]:
        return list(self.bot.catalogue().groups())

    def group_menu(self, head: str = "") -> str:
        self.begin()
        self.state = {"mode": "group", **({"pending": self.state["pending"]} if "pending" in self.state else {})}
        self.action = "menu of groups"
        t = self.t
        title = head or t(tpl.GROUP_MENU)
        return self.fixed(tpl.menu_text(title, [t(group) for group in self.groups()], self.language, more=False))

    def pick_group(self, text: str) -> str:
        choice = _DIGITS.match(text)
        groups = self.groups()
        if choice and 1 <= int(choice.group(1)) <= len(groups):
            self.state.update(mode="services", group=int(choice.group(1)) - 1, page=0)
            return self.service_menu()
        recognised = self.one_shot(text, menu_fallback=False)
        if recognised:
            return recognised
        return self.group_menu()

    def services_in_group(self) -> list:
        groups = self.groups()
        index = self.state.get("group", 0)
        if not 0 <= index < len(groups):
            return []
        return self.bot.catalogue().groups()[groups[index]]

    def service_menu(self) -> str:
        t = self.t
        services = self.services_in_group()
        names = [t(service.name) for service in services]
        pages = tpl.pages(names, t(tpl.SERVICE_MENU), self.language)
        page = min(self.state.get("page", 0), len(pages) - 1)
        self.state["page"] = page
        self.action = "menu of services"
        return self.fixed(tpl.menu_text(t(tpl.SERVICE_MENU), [names[i] for i in pages[page]], self.language,
                                        more=page + 1 < len(pages)))

    def pick_service(self, text: str) -> str:
        t = self.t
        services = self.services_in_group()
        names = [t(service.name) for service in services]
        pages = tpl.pages(names, t(tpl.SERVICE_MENU), self.language) if names else [[]]
        page = min(self.state.get("page", 0), len(pages) - 1)
        choice = _DIGITS.match(text)
        if choice:
            number = int(choice.group(1))
            shown = pages[page]
            if 1 <= number <= len(shown):
                return self.start(services[shown[number - 1]].code, None, pending=self.state.get("pending"))
            if number == len(shown) + 1 and page + 1 < len(pages):
                self.state["page"] = page + 1
                return self.service_menu()
        recognised = self.one_shot(text, menu_fallback=False)
        return recognised or self.service_menu()

    # -- starting a report ---------------------------------------------------------------------------

    def one_shot(self, text: str, *, menu_fallback: bool = True) -> str:
        """A message that may say what and where: start the service it names, asking only what
        is missing; a place alone gets the menu; anything else, how to use the service."""
        recognition = self.bot.recogniser().recognise(text, self.language)
        catalogue = self.bot.catalogue()
        if recognition.service and catalogue.get(recognition.service):
            return self.start(recognition.service, recognition.place, attributes=recognition.attributes,
                              description=text)
        if not menu_fallback:
            return ""
        place = recognition.place
        if place is not None and place.kind in ("address", "street") and self._mostly_place(text, place):
            location = self.location_from(place)
            if location:
                self.state = {"pending": location}
                head = self.say("problem_at", place=flow.display(flow.LOCATION, location, self.t))
                return self.group_menu(head)
        self.action = "not understood"
        return self.say("not_understood")

    @staticmethod
    def _mostly_place(text: str, place: PlaceGuess) -> bool:
        words = set(_tokens(text))
        place_words = set(_tokens(" ".join(place.candidates())))
        return bool(words) and len(words & place_words) * 2 >= len(words)

    def location_from(self, place: PlaceGuess, words: str = "") -> dict | None:
        """The flow's location answer for one place (None for a choice still to make)."""
        if place.kind == "address":
            return flow.validate(flow.LOCATION, place.places[0])
        if place.kind == "street":
            description = place.candidates()[0]
            if words and kw.fold(words) not in kw.fold(description):
                description = f"{words} ({description})"
            return flow.validate(flow.LOCATION, description[:flow.STRING_MAX])
        return None

    def start(self, code: str, place: PlaceGuess | None, *, attributes: dict | None = None,
              description: str = "", pending: dict | None = None) -> str:
        if self.state.get("service"):  # a new report replaces the one in hand
            self.abandon("restart")
        self.begin()
        service = self.bot.catalogue().get(code)
        answers: dict[str, Any] = {}
        if phone := self.bot.memory.phone(self.inbound.sender):
            answers["phone"] = phone
        if pending:
            answers["location"] = pending
        answers.update(attributes or {})
        if description:
            try:
                question = next(q for q in flow.questions(service) if q.key == "description")
                answers["description"] = flow.validate(question, description)
            except (Invalid, StopIteration):
                pass
        self.state = {"mode": "asking", "service": code, "answers": answers, "conv": uuid.uuid4().hex}
        self.event(events.SERVICE)
        t = self.t
        prefix = t(service.name) + "."
        if service.urgent_notice:
            prefix += " " + self.say("urgent")
        if place is not None and "location" not in answers:
            location = self.location_from(place)
            if location is not None:
                answers["location"] = location
            else:
                return self.offer_places(place, prefix)
        return self.ask(prefix=prefix)

    # -- questions -------------------------------------------------------------------------------

    def service(self):
        return self.bot.catalogue().get(self.state.get("service", ""))

    def ask(self, *, prefix: str = "", error: str = "") -> str:
        service = self.service()
        if service is None:  # the catalogue changed under the conversation
            self.abandon("restart")
            self.state = {}
            self.action = "service withdrawn"
            return self.say("started_again")
        self.state["mode"] = "asking"
        question = flow.next_question(service, self.state["answers"])
        if question is None:
            return self.read_back()
        self.state["question"] = question.key
        self.event(events.QUESTION, step=question.key)
        self.action = f"asked {question.key} ({service.code})"
        return self.fixed(tpl.question_text(question, self.language, phone=self.settings.council.phone, prefix=prefix,
                                            error=error))

    def answer(self, text: str, match: kw.Match | None) -> str:
        service = self.service()
        if service is None:
            return self.ask()
        question = flow.next_question(service, self.state["answers"])
        if question is None:
            return self.read_back()
        if question.kind == "location":
            return self.answer_location(text, match)
        raw: Any = text
        if match and match.action == kw.SKIP:
            raw = ""
        elif question.kind == "yesno":
            if self.bot.keywords.means(text, kw.YES):
                raw = "yes"
            elif self.bot.keywords.means(text, kw.NO):
                raw = "no"
        try:
            value = flow.validate(question, raw, translate=self.t.gettext, today=self.now.date())
        except Invalid as invalid:
            if question.choices and not (match and match.action == kw.SKIP):
                # not an answer to the list, but perhaps a new report: that replaces this one
                recognition = self.bot.recogniser().recognise(text, self.language)
                if recognition.service and (recognition.place or recognition.score >= 97):
                    return self.start(recognition.service, recognition.place, attributes=recognition.attributes,
                                      description=text)
            self.action = f"asked {question.key} again ({service.code})"
            return self.ask(error=invalid.render(self.t))
        self.state["answers"][question.key] = value
        return self.ask()

    def answer_location(self, text: str, match: kw.Match | None) -> str:
        if match and match.action == kw.SKIP:
            text = ""
        place = self.bot.recogniser().place(text) if text else None
        if place is not None:
            location = self.location_from(place, words=text)
            if location is None:
                return self.offer_places(place, "")
            self.state["answers"]["location"] = location
            return self.ask()
        try:
            self.state["answers"]["location"] = flow.validate(flow.LOCATION, text)
        except Invalid as invalid:
            return self.ask(error=invalid.render(self.t))
        return self.ask()

    def offer_places(self, place: PlaceGuess, prefix: str) -> str:
        """Several places fit: numbered choices (short addresses), or several streets' towns."""
        t = self.t
        if place.places:
            self.state["mode"] = "choose_place"
            self.state["options"] = [place_dict(item) for item in place.places]
            labels = [short_address(item.address) for item in place.places]
            head = " ".join(part for part in (prefix, t(tpl.WHICH_ADDRESS)) if part)
            self.action = f"offered {len(labels)} addresses"
        else:
            self.state["mode"] = "choose_street"
            self.state["options"] = [list(pair) for pair in place.streets]
            self.state["number"] = place.number
            street = place.streets[0][0]
            labels = [town or street for _street, town in place.streets]
            head = " ".join(part for part in (prefix, self.say("which_street", street=street)) if part)
            self.action = f"offered {len(labels)} streets"
        return self.filled(tpl.options_text(head, labels, "", self.language))

    def pick_place(self, text: str) -> str:
        options = self.state.get("options") or []
        choice = _DIGITS.match(text)
        if choice and 1 <= int(choice.group(1)) <= len(options):
            self.state["answers"]["location"] = flow.validate(flow.LOCATION, Place(**options[int(choice.group(1)) - 1]))
            self.state.pop("options", None)
            return self.ask()
        self.state.pop("options", None)
        return self.answer_location(text, self.bot.keywords.match(text))

    def pick_street(self, text: str) -> str:
        options = self.state.get("options") or []
        choice = _DIGITS.match(text)
        if choice and 1 <= int(choice.group(1)) <= len(options):
            street, town = options[int(choice.group(1)) - 1]
            number = self.state.get("number") or ""
            words = f"{number} {street}, {town}".strip() if town else f"{number} {street}".strip()
            self.state["answers"]["location"] = flow.validate(flow.LOCATION, words)
            for key in ("options", "number"):
                self.state.pop(key, None)
            return self.ask()
        for key in ("options", "number"):
            self.state.pop(key, None)
        return self.answer_location(text, self.bot.keywords.match(text))

    # -- read-back and sending -------------------------------------------------------------------

    def read_back(self) -> str:
        service = self.service()
        answers = self.state["answers"]
        t = self.t
        items = [t(service.name)]
        for question in flow.questions(service, answers):
            if question.key in ("phone", "consent", "updates_by_text"):
                continue
            value = answers.get(question.key)
            if value in (None, "", []):
                continue
            items.append(flow.display(question, value, t))
        self.state["mode"] = "confirm"
        self.event(events.CHECK)
        self.action = f"read back ({service.code})"
        return self.filled(tpl.read_back(items, self.language))

    def confirm(self, text: str) -> str:
        if self.service() is None:
            return self.ask()  # withdrawn since the read-back
        answer = None
        if self.bot.keywords.means(text, kw.YES):
            answer = "yes"
        elif self.bot.keywords.means(text, kw.NO):
            answer = "no"
        else:
            try:
                answer = flow.validate(CONFIRM, text, translate=self.t.gettext)
            except Invalid:
                answer = None
        if answer == "yes":
            return self.submit()
        if answer == "no":
            self.abandon("restart")
            self.state = {}
            self.action = "not sent"
            return self.say("not_sent")
        self.action = "asked to confirm again"
        return self.say("confirm_again")

    def submit(self) -> str:
        """Save the confirmed request to the outbox, in the batch's transaction (idempotent on
        the conversation), and give its reference; if it cannot be saved, say so and stay at the
        read-back, so that YES can be sent again."""
        service, state, catalogue = self.service(), self.state, self.bot.catalogue()
        try:
            draft = flow.to_draft(service, state["answers"], channel=CHANNEL, language=self.language,
                                  catalogue_version=catalogue.version, idempotency_key=f"sms:{state['conv']}")
            saved = self.store.enqueue(draft)
        except (StoreError, ValueError, KeyError) as error:
            log.error("%s: could not save the request (%s)", self.inbound.sid, type(error).__name__)
            self.action = "save failed"
            return self.say("error")
        self.saved = True
        self.event(events.SUBMITTED)
        self.session = None
        self.state = {}
        self.action = f"saved {saved.display_reference} ({service.code})"
        template = "sent_updates" if state["answers"].get("updates_by_text") == "yes" else "sent"
        return self.say(template, reference=saved.display_reference)

    # -- status ------------------------------------------------------------------------------------

    def status(self, text: str) -> str:
        if not text.strip():
            self.action = "status: how"
            return self.say("status_how", example=tpl.EXAMPLE_REFERENCE)
        canonical = reference_module.parse(text) or next(
            (found for token in text.split() if (found := reference_module.parse(token))), None)
        if canonical is None:
            self.action = "status: mistyped reference"
            return self.say("mistyped", example=tpl.EXAMPLE_REFERENCE)
        found = self.store.lookup(canonical)
        display = reference_module.display(canonical)
        if found is None:
            self.action = f"status: {display} not found"
            return self.say("not_found", reference=display)
        t = self.t
        service = self.bot.catalogue().get(found.service_code)
        latest = found.history[-1] if found.history else None
        council = [entry for entry in found.history if entry.source == "council"]
        notes = council[-1].notes if council else None
        status = wording.status_label(found.council_status or found.state, t)
        when = (latest.at if latest else found.updated_at).date()
        self.action = f"status of {display}"
        return self.filled(tpl.status_reply(self.language, reference=display,
                                            service=t(service.name) if service else found.service_code,
                                            status=status, date=t.date(when, format="medium"), notes=notes))


    # -- follow-ups --------------------------------------------------------------------------------

    def not_fixed(self, argument: str, mode: str | None) -> str | None:
        """NOTFIXED [reference] [comment]: the resident says a request is not fixed. Without a
        reference, a reply to the last status text sent to this number (within REPLY_WINDOW)
        is about the request it named. None when the message is not a follow-up after all (a
        report or an answer that begins with the same words): the conversation takes it."""
        canonical, comment = split_reference(argument)
        if canonical == MISTYPED:
            self.action = "not fixed: mistyped reference"
            return self.say("mistyped", example=tpl.EXAMPLE_REFERENCE)
        if canonical is None:
            replied = FollowUps(self.store).replied_to(self.number.id, REPLY_WINDOW)
            if replied is None or (argument and mode not in (None, "idle")):
                if argument:
                    return None
                self.action = "not fixed: how"
                return self.say("followup_how", example=tpl.EXAMPLE_REFERENCE)
            canonical, comment = replied, argument
        display = reference_module.display(canonical)
        try:
            added = FollowUps(self.store).add(canonical, "not_fixed", comment, channel=CHANNEL)
        except Refusal as refusal:
            self.action = f"not fixed: {display} {refusal.outcome}"
            if refusal.outcome == "unknown":
                return self.say("not_found", reference=display)
            return self.say("followup_not_yet", reference=display)
        self.saved = True  # durable before the reply leaves, and the worker asked to send it now
        self.action = f"not fixed: {display} follow-up {added.number}"
        return self.say("followup_saved", reference=display)


#: How long after a status text a reply that names no reference is taken as about its request.
REPLY_WINDOW = timedelta(days=3)
#: What split_reference gives for something that looks like a reference but is not a valid one.
MISTYPED = "mistyped"
_REFERENCE_LIKE = re.compile(r"^[A-Za-z0-9]{10}$")


def split_reference(text: str) -> tuple[str | None, str]:
    """(canonical reference, the rest) when `text` begins with a reference, written in one to
    three groups ("K7Q-4MB-XP9Z", "k7q 4mb xp9z"); MISTYPED when it begins with what can only
    be a mistyped one; (None, text) otherwise."""
    tokens = text.split()
    for size in (1, 3, 2):
        if len(tokens) >= size and (found := reference_module.parse(" ".join(tokens[:size]))):
            return found, " ".join(tokens[size:])
    first = re.sub(r"[\-_.]", "", tokens[0]) if tokens else ""
    if _REFERENCE_LIKE.match(first) and any(char.isdigit() for char in first):
        return MISTYPED, ""
    return None, text.strip()


def place_dict(place: Place) -> dict[str, Any]:
    return {"uprn": place.uprn, "address": place.address, "postcode": place.postcode, "lat": place.lat,
            "lon": place.lon}


def short_address(address: str) -> str:
    """"Flat 2, 4 Station Road, Thornley Green, Brackenford, BF6 2AD" without the town and
    postcode where they repeat for every choice: kept to what tells the choices apart."""
    parts = [part.strip() for part in address.split(",")]
    if len(parts) >= 3:
        parts = parts[:-2] if len(parts) > 3 else parts[:-1]
    return ", ".join(parts)
