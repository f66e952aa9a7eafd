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
(the resident is told if they come back). Each inbound MessageSid is claimed atomically in the
same transaction as the conversation step, so a retried webhook never acts twice. Logs carry
MessageSids and references, never numbers or words.

Durability: a saved request, and any opt-out or opt-in, is committed with synchronous=FULL (on
disk before the reference or the confirmation is texted back). A plain conversation step is
committed with synchronous=NORMAL (WAL: no fsync of its own, the store stays consistent): a power
cut can lose the last steps, always together with their MessageSid claims (a retry is then taken
afresh from the state it started from), and the resident is asked again what was lost; the
read-back before YES shows every answer once more.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from babel import Locale

import locales
from locales import translator
from sync import db as db_module
from sync import flow
from sync import reference as reference_module
from sync import texts
from sync.db import StoreError
from sync.flow import Invalid, Question
from sync.gazetteer import Place
from sync.store import iso

from sms import keywords as kw
from sms import templates as tpl
from sms.recognise import PlaceGuess, Recogniser, _tokens

log = logging.getLogger(__name__)

#: The language of a reply written in several languages at once (its budget is 3 segments).
MIXED = "mixed"
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


class Bot:
    def __init__(self, store, settings) -> None:
        self.store = store
        self.settings = settings
        self.languages = tuple(locales.enabled(list(settings.languages.enabled), settings.languages.reviewed_only))
        self.keywords = kw.keywords(self.languages)
        self.expiry = timedelta(hours=settings.sms.conversation_expiry_hours)
        self._catalogue = None
        self._recogniser: Recogniser | None = None
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
        batch = Batch(self.store.clock(), len(inbounds))
        self._durability(any(self._changes_opt_out(inbound.body) for inbound in inbounds))
        hashes = [texts.number_hash(self.store, inbound.sender) for inbound in inbounds]
        results: list[Reply | None] = [None] * len(inbounds)
        turns: list[Turn | None] = [None] * len(inbounds)
        with db_module.write(self.store.db) as conn:
            batch.count(conn)
            for index, inbound in enumerate(inbounds):
                conn.execute("SAVEPOINT message")
                try:
                    results[index], turns[index] = self._step(conn, inbound, hashes[index], batch)
                except _SeenBefore:
                    conn.execute("ROLLBACK TO message")
                    previous = texts.inbound_reply(conn, self.store, inbound.sid)
                    log.info("%s: seen before; answered as then, nothing done again", inbound.sid)
                    results[index] = Reply(previous or "", MIXED, "repeat")
                except Exception:
                    conn.execute("ROLLBACK TO message")
                    log.exception("%s: could not handle the message; apologised", inbound.sid)
                    results[index] = self.apology()
                finally:
                    conn.execute("RELEASE message")
                batch.index += 1
        submitting = [index for index, turn in enumerate(turns) if turn is not None and turn.submitting]
        if submitting:
            self._durability(True)
            for index, text in zip(submitting, self._submit([turns[index] for index in submitting])):
                results[index] = Reply(text, turns[index].reply_language, turns[index].action)
        for index, turn in enumerate(turns):
            if turn is not None:
                log.info("%s: %s", inbounds[index].sid, turn.action)
        return results

    def _changes_opt_out(self, body: str) -> bool:
        """Judged on the text as the turn will read it (escapes and invisible characters gone), so
        that every opt-out the turn acts on is committed with synchronous=FULL."""
        text = flow.clean_text(body or "")
        match = self.keywords.match(text)
        return bool(match and match.action in (kw.OPT_OUT, kw.OPT_IN)) or kw.fold(text) in kw.TWILIO_OPT_IN

    def _durability(self, full: bool) -> None:
        """synchronous=FULL for what must survive a power cut (a saved request, an opt-out);
        NORMAL (WAL: no fsync at commit) for a conversation step, which a power cut can only
        lose together with its MessageSid claim, so that Twilio's retry replays it exactly."""
        if full != self._full:
            self.store.db.conn.execute(f"PRAGMA synchronous = {'FULL' if full else 'NORMAL'}")
            self._full = full

    def _sync_requested(self) -> bool:
        """Whether a "sync now" is already waiting for the worker (then one more adds nothing)."""
        return self.store.db.conn.execute("SELECT 1 FROM requests WHERE name = 'sync_now'").fetchone() is not None

    def apology(self) -> Reply:
        language = self.languages[0]
        text = tpl.final(tpl.render("error", language, phone=self.settings.council.phone), language)
        return Reply(text, language, "apologised")

    def _step(self, conn, inbound: Inbound, hashed: str, batch: "Batch") -> tuple[Reply, "Turn"]:
        number = texts.number_row(conn, self.store, inbound.sender, batch.iso, hashed=hashed)
        turn = Turn(self, conn, number, inbound, batch, hashed)
        text = turn.run()
        if turn.submitting:  # saved after the commit (sync/store.py's own transaction); no reply yet
            turn.state["mode"] = "submitting"
            texts.save_conversation(conn, self.store, number.id, turn.state, batch.now, self.expiry)
            if not texts.claim_inbound(conn, inbound.sid, batch.iso, number.id, None):
                raise _SeenBefore()
            return Reply("", turn.reply_language, turn.action), turn
        text = tpl.final(text or "", turn.reply_language)
        if turn.state is not None and json.dumps(turn.state, sort_keys=True) != turn.loaded:  # None: not touched
            texts.save_conversation(conn, self.store, number.id, turn.state, batch.now, self.expiry)
        if not texts.claim_inbound(conn, inbound.sid, batch.iso, number.id, self.store.vault.seal(text)):
            raise _SeenBefore()
        return Reply(text, turn.reply_language, turn.action), turn

    def _submit(self, turns: list["Turn"]) -> list[str]:
        """Save confirmed requests to the outbox (each in its own transaction, idempotent on its
        conversation), ask the worker to send at once, then end the conversations and record the
        replies, all in one transaction."""
        catalogue = self.catalogue()
        finished: list[tuple[Turn, dict, str]] = []
        saved_any = False
        for turn in turns:
            state, language = turn.state, turn.language
            service = catalogue.get(state.get("service", ""))
            try:
                if service is None:
                    raise ValueError("the service is no longer offered")
                draft = flow.to_draft(service, state["answers"], channel="sms", language=language,
                                      catalogue_version=catalogue.version, idempotency_key=f"sms:{state['conv']}")
                saved = self.store.enqueue(draft)
            except (StoreError, ValueError, KeyError) as error:
                log.error("%s: could not save the request (%s)", turn.inbound.sid, type(error).__name__)
                state["mode"] = "confirm"
                text = tpl.render("error", language, phone=self.settings.council.phone)
                turn.action = "save failed"
                finished.append((turn, state, tpl.final(text, language)))
                continue
            saved_any = True
            template = "sent_updates" if state["answers"].get("updates_by_text") == "yes" else "sent"
            text = tpl.render(template, language, reference=saved.display_reference)
            turn.action = f"saved {saved.display_reference} ({service.code})"
            finished.append((turn, {}, tpl.final(text, language)))
        if saved_any and not self._sync_requested():
            self.store.request("sync_now")
        now = self.store.clock()
        with db_module.write(self.store.db) as conn:
            for turn, state, text in finished:
                texts.save_conversation(conn, self.store, turn.number.id, state, now, self.expiry)
                texts.record_inbound(conn, self.store, turn.inbound.sid, turn.number.id, text)
        return [text for _turn, _state, text in finished]


class _SeenBefore(Exception):
    """This MessageSid was claimed before: undo the step, answer as then."""


class Batch:
    """What the messages of one batch share: the time, and the service-wide rate count."""

    def __init__(self, now: datetime, size: int) -> None:
        self.now = now
        self.iso = iso(now)
        self.hour = now.strftime("%Y-%m-%dT%H")
        self.minute = now.strftime("%Y-%m-%dT%H:%M")
        self.size = size
        self.index = 0
        self.global_before = 0
        self.global_warned = False

    def count(self, conn) -> None:
        """Count the whole batch against the service-wide limit, in one statement."""
        total, self.global_warned = texts.count_message(conn, "global", self.minute, self.iso, self.size)
        self.global_before = total - self.size

    @property
    def global_count(self) -> int:
        return self.global_before + self.index + 1


class Turn:
    """One step of one conversation, inside the write transaction that claims the message."""

    def __init__(self, bot: Bot, conn, number: texts.Number, inbound: Inbound, batch: Batch, hashed: str) -> None:
        self.bot = bot
        self.conn = conn
        self.number = number
        self.inbound = inbound
        self.batch = batch
        self.now = batch.now
        self.hashed = hashed
        self.loaded: str | None = None  # the conversation as loaded, to save it only if changed
        self.settings = bot.settings
        self.store = bot.store
        self.language = number.language if number.language in bot.languages else None
        self.reply_language = self.language or MIXED
        self.state: dict[str, Any] | None = None  # None until the conversation is loaded (or ended)
        self.submitting = False
        self.action = "answered"

    # -- helpers ------------------------------------------------------------------------------

    @property
    def t(self):
        return translator(self.language or "en")

    def say(self, name: str, **params: Any) -> str:
        values = {"council": self.settings.council.name, "phone": self.settings.council.phone}
        values.update(params)
        return tpl.render(name, self.language or "en", **values)

    def set_language(self, language: str) -> None:
        texts.set_language(self.conn, self.number.id, language)
        self.language = language
        self.reply_language = language

    def keyword_language(self, match: kw.Match) -> str:
        if len(match.languages) == 1 and match.languages[0] in self.bot.languages:
            return match.languages[0]
        return self.language or self.bot.languages[0]

    # -- the step ---------------------------------------------------------------------------------

    def run(self) -> str:
        inbound = self.inbound
        text = flow.clean_text(inbound.body or "")[:texts.MAX_MESSAGE_CHARS + 1]
        match = self.bot.keywords.match(text) if text else None
        now = self.batch.iso

        # Opting out and back in come before everything, rate limits included.
        if match and match.action == kw.OPT_OUT:
            texts.set_opted_out(self.conn, self.number.id, now, "keyword")
            self.state = {}  # the conversation ends with the opt-out
            self.action = "opted out"
            if match.twilio:
                return ""  # Twilio confirms its own keywords, and blocks any reply of ours
            self.language = self.keyword_language(match)
            self.reply_language = self.language
            return self.say("opted_out", start=kw.shown(kw.OPT_IN, self.language))
        if self.number.opted_out:
            if (match and match.action == kw.OPT_IN) or kw.fold(text) in kw.TWILIO_OPT_IN:
                texts.set_opted_in(self.conn, self.number.id)
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

        if len(inbound.body or "") > texts.MAX_MESSAGE_CHARS:
            self.action = "too long"
            return self.say("too_long", max=texts.MAX_MESSAGE_CHARS) if self.language else self.mixed("too_long", max=texts.MAX_MESSAGE_CHARS)
        if not text:
            self.action = "media only" if inbound.num_media else "empty"
            name = "media" if inbound.num_media else "empty"
            return self.say(name) if self.language else self.mixed(name)

        conversation = texts.load_conversation(self.conn, self.store, self.number.id, now)
        self.state = conversation.state
        self.loaded = json.dumps(conversation.state, sort_keys=True) if not conversation.expired else None
        if self.language is None and len(self.bot.languages) == 1:
            self.set_language(self.bot.languages[0])
        if self.language is None:
            return self.first_contact(text, match)
        reply = self.converse(text, match)
        if conversation.expired and not self.submitting:
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
            if parts and texts.segments(texts.normalise(trial)) > texts.budget(MIXED):
                break
            parts.append(part)
        return "\n".join(dict.fromkeys(parts))

    def rate_limit(self) -> str | None:
        batch = self.batch
        per_number = self.settings.sms.rate_limit_per_number_per_hour
        per_minute = self.settings.sms.rate_limit_global_per_minute
        scope, bucket = f"number:{self.hashed}", batch.hour
        count, warned = texts.count_message(self.conn, scope, bucket, batch.iso)
        name = None
        if count > per_number:
            name = "rate_limited"
        elif batch.global_count > per_minute:
            name, scope, bucket, warned = "busy", "global", batch.minute, batch.global_warned
        if name is None:
            return None
        if warned:
            self.action = f"{name}: not answered"
            return ""
        texts.mark_warned(self.conn, scope, bucket)
        if name == "busy":
            batch.global_warned = True
        self.action = name
        return self.say(name) if self.language else self.mixed(name)

    # -- language -----------------------------------------------------------------------------

    def choose_language(self, text: str) -> str | None:
        folded = kw.fold(text)
        if folded.isdigit():
            index = int(folded) - 1
            return self.bot.languages[index] if 0 <= index < len(self.bot.languages) else None
        for code in self.bot.languages:
            names = {code, kw.fold(locales.native_name(code))}
            for other in ("en", *self.bot.languages):
                try:
                    names.add(kw.fold(Locale.parse(code).get_display_name(other) or ""))
                except (ValueError, TypeError):
                    continue
            if folded in names:
                return code
        return None

    def language_menu(self) -> str:
        self.reply_language = MIXED
        return tpl.language_menu(self.bot.languages)

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
        if mode == "submitting":  # the last step was interrupted while saving: finish it now
            self.submitting = True
            self.action = "finishing an interrupted submission"
            return ""
        if match:
            if match.action == kw.LANGUAGE:
                chosen = self.choose_language(match.argument) if match.argument else None
                if chosen:
                    self.set_language(chosen)
                    self.action = f"language changed: {chosen}"
                    return tpl.join(chosen, self.say("language_set", lang=kw.shown(kw.LANGUAGE, chosen)), self.current())
                self.state = {"mode": "language", "resume": self.state}
                self.action = "language asked"
                return self.language_menu()
            if match.action == kw.HELP:
                self.action = "help"
                return self.say("help")
            if match.action == kw.NEW:
                self.state = {}
                self.action = "started again"
                return self.say("started_again")
            if match.action == kw.STATUS:
                return self.status(match.argument)
            if match.action == kw.REPORT:
                self.state = {}
                return self.one_shot(match.argument) if match.argument else self.group_menu()
            if match.action in (kw.GREETING, kw.OPT_IN) and mode in (None, "idle"):
                self.action = "welcome"
                return self.say("welcome")
        if mode == "language":
            chosen = self.choose_language(text)
            if chosen:
                self.set_language(chosen)
                self.state = self.state.get("resume") or {}
                self.action = f"language changed: {chosen}"
                return tpl.join(chosen, self.say("language_set", lang=kw.shown(kw.LANGUAGE, chosen)), self.current())
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

    def current(self) -> str:
        """The question in hand again (after a language change), or the welcome."""
        mode = self.state.get("mode")
        if mode == "asking":
            return self.ask()
        if mode == "confirm":
            return self.read_back()
        if mode in ("group", "services", "choose_place", "choose_street"):
            self.state = {}
        return self.say("welcome")

    # -- menus ---------------------------------------------------------------------------------

    def groups(self) -> list[str]:
        return list(self.bot.catalogue().groups())

    def group_menu(self, head: str = "") -> str:
        self.state = {"mode": "group", **({"pending": self.state["pending"]} if "pending" in self.state else {})}
        self.action = "menu of groups"
        t = self.t
        title = head or t(tpl.GROUP_MENU)
        return tpl.menu_text(title, [t(group) for group in self.groups()], self.language, more=False)

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
        return tpl.menu_text(t(tpl.SERVICE_MENU), [names[i] for i in pages[page]], self.language,
                             more=page + 1 < len(pages))

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
        service = self.bot.catalogue().get(code)
        answers: dict[str, Any] = {}
        try:
            answers["phone"] = flow.phone_number(self.inbound.sender)
        except Invalid:
            pass
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
            self.state = {}
            self.action = "service withdrawn"
            return self.say("started_again")
        self.state["mode"] = "asking"
        question = flow.next_question(service, self.state["answers"])
        if question is None:
            return self.read_back()
        self.state["question"] = question.key
        self.action = f"asked {question.key} ({service.code})"
        return tpl.question_text(question, self.language, phone=self.settings.council.phone, prefix=prefix,
                                 error=error)

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
        return tpl.options_text(head, labels, "", self.language)

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
        self.action = f"read back ({service.code})"
        return tpl.read_back(items, self.language)

    def confirm(self, text: str) -> str:
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
            self.submitting = True
            self.action = "confirmed"
            return ""
        if answer == "no":
            self.state = {}
            self.action = "not sent"
            return self.say("not_sent")
        self.action = "asked to confirm again"
        return self.say("confirm_again")

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
        status = texts.status_label(found.council_status or found.state, t)
        when = (latest.at if latest else found.updated_at).date()
        self.action = f"status of {display}"
        return tpl.status_reply(self.language, reference=display,
                                service=t(service.name) if service else found.service_code,
                                status=status, date=t.date(when, format="medium"), notes=notes)


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
