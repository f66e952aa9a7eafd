"""A conversation's context without a store or a web server: the shipped catalogue, a
recogniser scripted by the test, and an office that keeps what it is asked to save."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest

from sms import keywords as kw
from sms.bot import language_names
from sms.conversation.context import Context
from sms.places import PlaceGuess
from sms.recognise import Recognition
from sync.catalogue import bundled

LANGUAGES = ("en", "cy")


@dataclass
class Saved:
    display_reference: str


@dataclass
class FakeOffice:
    """The store's side of a conversation: drafts saved, follow-ups taken, nothing found."""

    drafts: list[Any] = field(default_factory=list)
    follow_ups: list[tuple[str, str]] = field(default_factory=list)

    def lookup(self, reference: str) -> None:
        return None

    def enqueue(self, draft) -> Saved:
        self.drafts.append(draft)
        return Saved("K7Q-4MB-XP9P")

    def replied_to(self, within: timedelta) -> str | None:
        return None

    def add_follow_up(self, reference: str, comment: str):
        self.follow_ups.append((reference, comment))
        return type("Added", (), {"number": len(self.follow_ups)})()


@dataclass
class FakeRecogniser:
    """Recognitions and places by the exact text; anything else is not understood."""

    recognitions: dict[str, Recognition] = field(default_factory=dict)
    places: dict[str, PlaceGuess] = field(default_factory=dict)

    def recognise(self, text: str, language: str | None = None, also: tuple[str, ...] = ()) -> Recognition:
        return self.recognitions.get(text, Recognition(None, 0.0, self.places.get(text)))

    def place(self, text: str) -> PlaceGuess | None:
        return self.places.get(text)


@pytest.fixture
def office() -> FakeOffice:
    return FakeOffice()


@pytest.fixture
def recogniser() -> FakeRecogniser:
    return FakeRecogniser()


@pytest.fixture
def context(office, recogniser):
    """make(language): a Context for a number speaking `language` (None: not chosen yet)."""
    catalogue = bundled()
    names = {code: language_names(code, LANGUAGES) for code in LANGUAGES}

    def make(language: str | None = "en") -> Context:
        return Context(languages=LANGUAGES, language=language, keywords=kw.keywords(LANGUAGES), catalogue=catalogue,
                       recogniser=lambda: recogniser, language_names=names, council="Brackenford Borough Council",
                       phone="01632 960000", today=date(2026, 11, 24), expiry_hours=24, office=office,
                       sender_phone=lambda: "+447911123456", new_session=lambda: "session-1")

    return make
