"""The text bot: what its conversations are built from, and the messages it takes and gives.

A `Bot` belongs to one SMS app and one store. It holds the languages, keywords and catalogue in
force, the recogniser of one-shot messages (made again when the worker saves a new catalogue,
its street index kept), and its memory of recent numbers (sms/memory.py). Messages are taken in
batches by the batch layer (sms/batch.py), which runs the conversation (sms/conversation/) for
each. Logs carry MessageSids and references, never numbers or words.
"""

from __future__ import annotations

from datetime import timedelta

from babel import Locale

import locales
from sms import batch
from sms import keywords as kw
from sms import templates as tpl
from sms.memory import Memory
from sms.messages import Inbound, Reply
from sms.places import Places
from sms.recognise import Recogniser
from sync.catalogue import Catalogue


class Bot:
    def __init__(self, store, settings) -> None:
        self.store = store
        self.settings = settings
        self.languages = tuple(locales.enabled(list(settings.languages.enabled), settings.languages.reviewed_only))
        self.keywords = kw.keywords(self.languages)
        self.expiry = timedelta(hours=settings.sms.conversation_expiry_hours)
        self.memory = Memory(store)
        self.places = Places(store.db.places)  # the gazetteer index, kept across catalogues
        self.language_names = {code: language_names(code, self.languages) for code in self.languages}
        self.synchronous_full = True  # the store opens with synchronous=FULL (sms/batch.py)
        self._catalogue: Catalogue | None = None
        self._recogniser: Recogniser | None = None

    def catalogue(self, *, check: bool = False) -> Catalogue:
        """The catalogue in force; `check` looks for a new one from the worker (once a batch)."""
        if self._catalogue is not None and not check:
            return self._catalogue
        current = self.store.catalogue()  # the same object until the worker saves a new one
        if current is not self._catalogue:
            self._catalogue = current
            self._recogniser = None
        return current

    def recogniser(self) -> Recogniser:
        catalogue = self.catalogue()
        if self._recogniser is None:
            self._recogniser = Recogniser(self.store.db, catalogue, self.languages, places=self.places)
        return self._recogniser

    def handle_many(self, inbounds: list[Inbound]) -> list[Reply]:
        """Take a batch of messages in one write transaction (sms/batch.py)."""
        return batch.take(self, inbounds)

    def apology(self) -> Reply:
        language = self.languages[0]
        text = tpl.final(tpl.render("error", language, phone=self.settings.council.phone), language)
        return Reply(text, language, "apologised")


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
