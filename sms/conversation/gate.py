"""What is answered before the conversation: opting out and back in, the rate limits' replies,
and messages too long or empty. A number with no language yet is answered in every language."""

from __future__ import annotations

from typing import Any

from sms import keywords as kw
from sms import templates as tpl
from sms.conversation.context import Context, Result, Words
from sms.conversation.state import Idle, State


def opting(ctx: Context, state: State, text: str, match: kw.Match | None, opted_out: bool) -> Result | None:
    """Opting out and back in come before everything, rate limits included; a number that has
    opted out is answered only to opt in or for help."""
    if match and match.action == kw.OPT_OUT:
        if match.twilio:  # Twilio confirms its own keywords, and blocks any reply of ours
            return Result(Idle(), Words(), "opted out", opted=kw.OPT_OUT)
        spoken = ctx.speaking(ctx.keyword_language(match))
        return Result(Idle(), spoken.say("opted_out", start=kw.shown(kw.OPT_IN, spoken.lang)), "opted out",
                      opted=kw.OPT_OUT, reply_language=spoken.lang)
    if not opted_out:
        return None
    if (match and match.action == kw.OPT_IN) or kw.fold(text) in kw.TWILIO_OPT_IN:
        spoken = ctx.speaking(ctx.keyword_language(match) if match else ctx.event_language)
        return Result(state, spoken.say("opted_in"), "opted in", opted=kw.OPT_IN, reply_language=spoken.lang)
    if match and match.action == kw.HELP:
        spoken = ctx.speaking(ctx.keyword_language(match))
        return Result(state, spoken.say("opted_out_help", start=kw.shown(kw.OPT_IN, spoken.lang)),
                      "help while opted out", reply_language=spoken.lang)
    return Result(state, Words(), "opted out: not answered")


def limited(ctx: Context, state: State, name: str, warned: bool) -> Result:
    """A rate limit reached (`name`: rate_limited or busy): said once, then nothing."""
    if warned:
        return Result(state, Words(), f"{name}: not answered")
    return Result(state, _short(ctx, name), name)


def sized(ctx: Context, state: State, text: str, *, length: int, limit: int, media: int) -> Result | None:
    """A message over `limit` characters, or with nothing to read (a picture alone)."""
    if length > limit:
        return Result(state, _short(ctx, "too_long", max=limit), "too long")
    if not text:
        name = "media" if media else "empty"
        return Result(state, _short(ctx, name), "media only" if media else "empty")
    return None


def _short(ctx: Context, name: str, **params: Any) -> Words:
    """A short message in the number's language, or in every offered language before one is chosen."""
    if ctx.language:
        return ctx.say(name, **params)
    return Words(tpl.mixed(name, ctx.languages, council=ctx.council, phone=ctx.phone, **params))
