"""The number's language: asked at first contact, changed at any time with LANG.

At first contact every offered language's question is sent, each language named in itself, and
the first message is kept (`stash`) and answered once a language is chosen. A first message that
seems to be in one of them (sms/guess.py) gets that language offered first, asked in it and in
English (both, for Arabic and Urdu written with the letters they share). LANG in the middle of
a report asks again and then repeats the question in hand in the new language.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from sms import keywords as kw
from sms import templates as tpl
from sms.conversation import notices, report
from sms.conversation.context import Context, Result, Words
from sms.conversation.state import (
    Asking,
    ChoosingGroup,
    ChoosingLanguage,
    ChoosingPlace,
    ChoosingService,
    ChoosingStreet,
    Confirming,
    Idle,
    State,
)
from sms.guess import guess
from sync.store import events

#: How a message is answered once its language is known (sms/conversation/converse.py).
Converse = Callable[[Context, State, str, "kw.Match | None"], Result]
#: Keywords that are not a message to keep for after the language menu.
_NOT_KEPT = (kw.LANGUAGE, kw.GREETING, kw.OPT_IN)


def first_contact(ctx: Context, state: State, text: str, match: kw.Match | None, converse: Converse) -> Result:
    """No language yet: ask it (the language the message seems to be in offered first), keeping
    the message to answer once it is chosen."""
    named = ctx.choose_language(match.argument) if match and match.action == kw.LANGUAGE and match.argument else None
    keep = not (match and match.action in _NOT_KEPT)
    if isinstance(state, ChoosingLanguage):
        chosen = named or ctx.choose_language(text, tpl.menu_order(ctx.languages, state.first))
        if chosen:
            return _chosen(ctx.speaking(chosen), state, converse)
        return _menu(ctx, replace(state, stash=text) if keep else state, "language asked again")
    if named:
        spoken = ctx.speaking(named)
        welcome = Result(state, spoken.say("welcome"), f"language chosen: {named}", language=named)
        return notices.before(spoken, notices.LANGUAGE_SET, welcome)
    first = _seems(ctx, text)
    return _menu(ctx, ChoosingLanguage(session=state.session, stash=text if keep else "", first=first),
                 "language asked" + (f" ({', '.join(first)} first)" if first else ""))


def _seems(ctx: Context, text: str) -> tuple[str, ...]:
    """The offered languages a first message seems to be in (its place's words left out)."""
    if not any(char.isalpha() for char in text):
        return ()
    place = ctx.recogniser().place(text)
    return guess(text, ctx.languages, place.candidates() if place else ())


def first_help(ctx: Context, state: State) -> Result:
    """HELP before a language is chosen: help at once, in English and the first other language
    offered (tpl.first_help); the language menu comes with the next message."""
    text = tpl.first_help(ctx.languages, ctx.council, ctx.phone)
    return Result(state, Words(text, True), "help before a language", reply_language=tpl.MIXED)


def _chosen(ctx: Context, state: ChoosingLanguage, converse: Converse) -> Result:
    """The first language chosen: the kept message answered in it, or the welcome."""
    language = ctx.lang
    if not state.stash:
        welcome = Result(Idle(), ctx.say("welcome"), f"language chosen: {language}", language=language)
        return notices.before(ctx, notices.LANGUAGE_SET, welcome)
    reader = replace(ctx, also_read=state.first)  # the kept message is read in the language it seemed to be in too
    answered = converse(reader, Idle(session=state.session), state.stash, ctx.keywords.match(state.stash))
    return notices.before(ctx, notices.LANGUAGE_SET, replace(answered, language=language))


def _menu(ctx: Context, state: State, action: str) -> Result:
    first = state.first if isinstance(state, ChoosingLanguage) else ()
    return Result(state, Words(tpl.language_menu(ctx.languages, first), True), action, reply_language=tpl.MIXED)


def asked(ctx: Context, state: State, argument: str) -> Result:
    """LANG [language] in a conversation: the language it names, or the menu."""
    chosen = ctx.choose_language(argument) if argument else None
    if chosen:
        return change(ctx, state, chosen)
    return _menu(ctx, ChoosingLanguage(session=state.session, resume=state), "language asked")


def pick(ctx: Context, state: ChoosingLanguage, text: str, match: kw.Match | None) -> Result:
    """ChoosingLanguage (the language known): a language from the menu, then back to the report."""
    chosen = ctx.choose_language(text)
    if chosen:
        resume = replace(state.resume, session=state.session) if state.resume is not None else Idle()
        return change(ctx, resume, chosen)
    return _menu(ctx, state, "language asked again")


def change(ctx: Context, state: State, chosen: str) -> Result:
    """The number's language changes mid-conversation: the question in hand comes again in it."""
    spoken = ctx.speaking(chosen)
    again = replace(_current(spoken, state), action=f"language changed: {chosen}", language=chosen)
    return notices.before(spoken, notices.LANGUAGE_SET, again).after(spoken.event(state, events.LANGUAGE))


def _current(ctx: Context, state: State) -> Result:
    """The question in hand again (after a language change), or the welcome."""
    if isinstance(state, Asking):
        return report.ask(ctx, state)
    if isinstance(state, Confirming):
        return report.read_back(ctx, state)
    if isinstance(state, (ChoosingGroup, ChoosingService, ChoosingPlace, ChoosingStreet)):  # menus are not repeated
        return Result(Idle(), ctx.say("welcome"), "welcome", ctx.abandon(state, "restart"))
    return Result(state, ctx.say("welcome"), "welcome")
