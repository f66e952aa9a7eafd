"""One resident's visit: what they chose and typed, held in memory only, and the order of the
pages their answers call for.

The question flow (`sync.flow`) decides which questions a service asks; this module only adds
the two pages a kiosk puts around them (the urgent notice first, and a page explaining why
contact details help before the first contact question) and remembers where the resident is.
A draft never touches the disk: it becomes a submission only when the resident presses Send,
through `Store.enqueue`. `wipe` forgets everything.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from locales import SOURCE_LANGUAGE
from sync import flow
from sync.catalogue import Service
from sync.store import events

URGENT = "urgent"  # the service's urgent notice, before any question
CONTACT = "contact"  # why contact details help, before the first contact question


@dataclass
class Session:
    language: str = SOURCE_LANGUAGE
    journey: str | None = None
    group: str | None = None
    service: Service | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    #: None until the contact page is answered; False when the resident chose not to give any.
    contact_wanted: bool | None = None
    #: One per draft, so that a double tap on Send saves one submission, not two.
    idempotency_key: str = field(default_factory=lambda: str(uuid.uuid4()))
    #: Links this visit's take-up events to each other (sync/store/events.py), and to nothing else.
    id: str = field(default_factory=events.new_session)
    #: Whether the visit's first event was recorded (it is, once a language is chosen).
    started: bool = False
    #: The volunteer helping, once the resident agreed, and what they agreed to
    #: ('resident_types' or 'volunteer_types'); None when the resident is on their own.
    assisted_by: str | None = None
    assist_consent: str | None = None

    @property
    def pristine(self) -> bool:
        """Nothing chosen or typed yet: a timeout has nothing to protect."""
        return self.journey is None and self.service is None and not self.answers

    def wipe(self, language: str = SOURCE_LANGUAGE) -> None:
        """Forget everything: the answers dictionary is emptied in place as well as dropped, so no
        screen or widget still holding it can show what the last resident typed."""
        self.answers.clear()
        self.answers = {}
        self.language = language
        self.journey = None
        self.service = None
        self.contact_wanted = None
        self.idempotency_key = str(uuid.uuid4())
        self.id = events.new_session()
        self.started = False
        self.assisted_by = None
        self.assist_consent = None

    @property
    def assisted(self) -> bool:
        return self.assisted_by is not None

    # -----------------------------------------------------------------------------------------
    # Choosing a service and answering its questions

    def choose_service(self, service: Service) -> None:
        """Start (or carry on with) `service`. Choosing another service starts a new draft."""
        if self.service is None or self.service.code != service.code:
            self.answers.clear()
            self.contact_wanted = None
            self.idempotency_key = str(uuid.uuid4())
        self.service = service

    def questions(self) -> list[flow.Question]:
        return flow.questions(self.service, self.answers) if self.service else []

    def question(self, key: str) -> flow.Question:
        return next(question for question in self.questions() if question.key == key)

    def answer(self, key: str, value: Any) -> None:
        self.answers[key] = value
        if key in flow.CONTACT_KEYS and value:
            self.contact_wanted = True
        self._prune()

    def skip_contact(self) -> None:
        """The resident would rather not give contact details: none are kept."""
        for key in flow.CONTACT_KEYS:
            self.answers[key] = None
        self.contact_wanted = False
        self._prune()

    def _prune(self) -> None:
        """Drop answers to questions that no longer apply (texts with no mobile number, consent
        with no contact details), so that check-your-answers and the draft agree."""
        while True:
            asked = {question.key for question in self.questions()}
            stale = [key for key in self.answers if key not in asked]
            if not stale:
                return
            for key in stale:
                del self.answers[key]

    # -----------------------------------------------------------------------------------------
    # The order of pages

    def pages(self) -> list[str]:
        """Every page of this service's journey, in order: the urgent notice (if any), the
        questions, with the contact page before the first contact question."""
        if self.service is None:
            return []
        pages = [URGENT] if self.service.urgent_notice else []
        for question in self.questions():
            if question.key == flow.CONTACT_KEYS[0]:
                pages.append(CONTACT)
            if self.contact_wanted is False and question.key in flow.CONTACT_KEYS:
                continue
            pages.append(question.key)
        return pages

    def first_page(self) -> str | None:
        pages = self.pages()
        return pages[0] if pages else None

    def page_after(self, page: str) -> str | None:
        """The page after `page`, or None when the next thing is to check the answers."""
        pages = self.pages()
        if page not in pages:
            return self.missing()
        index = pages.index(page)
        return pages[index + 1] if index + 1 < len(pages) else None

    def missing(self) -> str | None:
        """The first question still unanswered, or None when the draft is complete."""
        if self.service is None:
            return None
        question = flow.next_question(self.service, self.answers)
        return question.key if question else None

    def draft(self, catalogue_version: str) -> flow.Draft:
        assert self.service is not None
        draft = flow.to_draft(self.service, self.answers, channel="kiosk", language=self.language,
                              catalogue_version=catalogue_version, idempotency_key=self.idempotency_key)
        return replace(draft, assisted_by=self.assisted_by, assist_consent=self.assist_consent)
