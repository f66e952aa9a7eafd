"""What a step of the conversation reads, and what it gives back.

A handler is handed a `Context` (the catalogue, the recogniser, the number's language, the
council's name, and an `Office` for the few things only the store can answer) and returns a
`Result`: the new state, the reply, the take-up events and the action for the log. It writes
nothing itself; the batch layer (sms/batch.py) writes what the result says, in the transaction
that claims the message.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, Callable, Protocol

from locales import translator
from sms import keywords as kw
from sms import templates as tpl
from sms.conversation.state import Report, State
from sms.recognise import Recogniser
from sync.catalogue import Catalogue, Service
from sync.flow import Draft
from sync.store import events


class Office(Protocol):
    """What the conversation asks of the store: looking a request up, saving one, follow-ups.
    `enqueue` returns the saved request (with its display_reference); `add_follow_up` raises
    sync.store.followups.Refusal when it cannot be taken."""

    def lookup(self, reference: str) -> Any: ...

    def enqueue(self, draft: Draft) -> Any: ...

    def replied_to(self, within: timedelta) -> str | None: ...

    def add_follow_up(self, reference: str, comment: str) -> Any: ...


@dataclass(frozen=True)
class Words:
    """A reply, or part of one. `shared`: built only from templates and the catalogue (a
    question, a menu, help), the same for anyone, so the web layer may keep its TwiML."""

    text: str = ""
    shared: bool = False


@dataclass(frozen=True)
class Event:
    """One take-up event of the report in hand: never anything the resident typed."""

    session: str
    name: str
    service: str | None
    language: str
    step: str | None = None


@dataclass(frozen=True)
class Result:
    """What one step did."""

    state: State
    reply: Words = Words()
    action: str = "answered"
    events: tuple[Event, ...] = ()
    saved: bool = False  # a request or follow-up was saved: on disk before the reply leaves
    language: str | None = None  # the number's language, as chosen or changed by this step
    reply_language: str | None = None  # the reply's, when not the number's (the menu's: tpl.MIXED)
    opted: str | None = None  # kw.OPT_OUT or kw.OPT_IN: the number opted out, or back in

    def after(self, earlier: tuple[Event, ...]) -> Result:
        """The same result, with events that came before it."""
        return replace(self, events=(*earlier, *self.events)) if earlier else self


@dataclass(frozen=True)
class Context:
    """Everything a handler may read for one message."""

    languages: tuple[str, ...]  # offered, the first the default
    language: str | None  # the number's; None until chosen
    keywords: kw.Keywords
    catalogue: Catalogue
    recogniser: Callable[[], Recogniser]  # made when first needed: most messages need none
    language_names: dict[str, frozenset[str]]
    council: str
    phone: str  # the council's
    today: date
    expiry_hours: int
    office: Office
    sender_phone: Callable[[], str | None]  # the flow's phone answer for the number texting, if any
    new_session: Callable[[], str] = field(default=events.new_session)
    also_read: tuple[str, ...] = ()  # languages the message may be in besides the number's (a kept first one)

    @property
    def lang(self) -> str:
        """The language replies are written in (English until one is chosen)."""
        return self.language or "en"

    @property
    def event_language(self) -> str:
        return self.language or self.languages[0]

    @property
    def t(self):
        return translator(self.lang)

    def speaking(self, language: str) -> Context:
        return replace(self, language=language)

    def keyword_language(self, match: kw.Match) -> str:
        """The language of a keyword that belongs to one offered language; else the number's."""
        if len(match.languages) == 1 and match.languages[0] in self.languages:
            return match.languages[0]
        return self.event_language

    # -- replies -----------------------------------------------------------------------------------

    def say(self, name: str, **params: Any) -> Words:
        """A fixed template: shared unless it is filled with values (a place, a reference)."""
        if not params:
            return Words(tpl.fixed(name, self.lang, self.council, self.phone), True)
        return Words(tpl.render(name, self.lang, council=self.council, phone=self.phone, **params))

    def join(self, *parts: Words) -> Words:
        kept = [part for part in parts if part.text]
        return Words(tpl.join(self.lang, *(part.text for part in kept)), all(part.shared for part in kept))

    def choose_language(self, text: str, order: tuple[str, ...] = ()) -> str | None:
        """The offered language a reply names: its number in the menu (numbered in `order`, if
        given), its code, or its name in itself, in English or in any offered language."""
        folded = kw.fold(text)
        if folded.isdigit():
            index = int(folded) - 1
            shown = order or self.languages
            return shown[index] if 0 <= index < len(shown) else None
        return next((code for code, names in self.language_names.items() if folded in names), None)

    def service(self, state: State) -> Service | None:
        """The service of the report in hand, if it is still offered."""
        return self.catalogue.get(state.service) if isinstance(state, Report) else None

    # -- take-up events ----------------------------------------------------------------------------

    def event(self, state: State, name: str, *, step: str | None = None,
              service: str | None = None) -> tuple[Event, ...]:
        """`name` for the report in hand (its service unless given), if there is one."""
        if state.session is None:
            return ()
        code = service or (state.service if isinstance(state, Report) else None)
        return (Event(state.session, name, code, self.event_language, step),)

    def abandon(self, state: State, why: str, service: str | None = None) -> tuple[Event, ...]:
        """The report in hand ends unsent: "restart" or "expired"."""
        return self.event(state, events.ABANDONED, step=why, service=service)

    def begin(self, state: State) -> tuple[str, tuple[Event, ...]]:
        """The session of a report beginning (the one in hand, if any) and its first event."""
        if state.session is not None:
            return state.session, ()
        session = self.new_session()
        return session, (Event(session, events.STARTED, None, self.event_language),)
