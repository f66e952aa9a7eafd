"""A text as the bot takes it from the webhook, and its reply."""

from __future__ import annotations

from dataclasses import dataclass


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
