"""One message's step: keywords first, then the handler of the mode the conversation is in.

`respond` is the whole of it for a message that passed the batch layer's gates (opt-out, rate
limits, size): an expired conversation is ended, a number with no language is asked for one,
and the rest goes to `converse`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from sms import keywords as kw
from sms.conversation import language, notices, report
from sms.conversation.context import Context, Event, Result
from sms.conversation.menus import group_menu, one_shot, pick_group, pick_service
from sms.conversation.state import (
    Asking,
    ChoosingGroup,
    ChoosingLanguage,
    ChoosingPlace,
    ChoosingService,
    ChoosingStreet,
    Confirming,
    Idle,
    Report,
    State,
)
from sms.conversation.tracking import not_fixed, status
from sync import reference as reference_module


def respond(ctx: Context, state: State, text: str, match: kw.Match | None, *, expired: bool) -> Result:
    """The reply to `text` (cleaned, never empty) from a number in `state`; `expired`: the
    conversation was left too long and ends now (the resident is told)."""
    earlier: tuple[Event, ...] = ()
    owed = state.notice
    if owed:
        state = replace(state, notice="")
    if expired:
        earlier = ctx.abandon(state, "expired", state.service if isinstance(state, Report) else None)
        state = Idle()
    chosen = None
    if ctx.language is None and len(ctx.languages) == 1:
        chosen = ctx.languages[0]
    elif ctx.language is None and match and match.action == kw.NOT_FIXED:
        chosen = ctx.keyword_language(match)  # a reply to a status text: no menu first
    if chosen:
        ctx = ctx.speaking(chosen)
    if ctx.language is None and match and match.action == kw.HELP:
        return language.first_help(ctx, state).after(earlier)
    if ctx.language is None:
        return language.first_contact(ctx, state, text, match, converse).after(earlier)
    result = converse(ctx, state, text, match)
    if expired and not result.saved:
        spoken = ctx.speaking(result.language or ctx.lang)
        result = replace(result, reply=spoken.join(spoken.say("expired", hours=ctx.expiry_hours), result.reply),
                         action=result.action + " (after an expired conversation)")
    if chosen and result.language is None:
        result = replace(result, language=chosen)
    return notices.settle(ctx, owed, result).after(earlier)


def converse(ctx: Context, state: State, text: str, match: kw.Match | None) -> Result:
    """A message from a number whose language is known."""
    if match:
        done = keyword(ctx, state, match)
        if done is not None:
            return done
    return HANDLERS[type(state)](ctx, state, text, match)


def keyword(ctx: Context, state: State, match: kw.Match) -> Result | None:
    """What a keyword does in any mode; None when it is the mode's to answer."""
    action = match.action
    if action == kw.LANGUAGE:
        return language.asked(ctx, state, match.argument)
    if action == kw.HELP:
        return Result(state, ctx.say("help"), "help")
    if action == kw.NEW:
        return Result(Idle(), ctx.say("started_again"), "started again", ctx.abandon(state, "restart"))
    if action == kw.STATUS:
        return status(ctx, state, match.argument)
    if action == kw.NOT_FIXED:
        return not_fixed(ctx, state, match.argument)
    if action == kw.REPORT:
        fresh = Idle()
        begun = one_shot(ctx, fresh, match.argument) if match.argument else group_menu(ctx, fresh)
        return begun.after(ctx.abandon(state, "restart"))
    if action in (kw.GREETING, kw.OPT_IN) and isinstance(state, Idle):
        return Result(state, ctx.say("welcome"), "welcome")
    return None


def idle(ctx: Context, state: State, text: str, match: kw.Match | None) -> Result:
    """Idle: a reference is a status request; anything else a new report."""
    if reference_module.parse(text):
        return status(ctx, state, text)
    return one_shot(ctx, state, text)


#: The handler of each mode: it says what the mode accepts.
HANDLERS: dict[type, Callable[..., Result]] = {
    Idle: idle,
    ChoosingLanguage: language.pick,
    ChoosingGroup: pick_group,
    ChoosingService: pick_service,
    Asking: report.answer,
    ChoosingPlace: report.pick_place,
    ChoosingStreet: report.pick_street,
    Confirming: report.confirm,
}
