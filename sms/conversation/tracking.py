"""Requests already sent: STATUS with a reference, and NOTFIXED follow-ups."""

from __future__ import annotations

import re
from datetime import timedelta

from sms import templates as tpl
from sms.conversation.context import Context, Result, Words
from sms.conversation.state import Idle, State
from sync import reference as reference_module
from sync.store.followups import Refusal

#: How long after a status text a reply that names no reference is taken as about its request.
REPLY_WINDOW = timedelta(days=3)
#: What split_reference gives for something that looks like a reference but is not a valid one.
MISTYPED = "mistyped"
_REFERENCE_LIKE = re.compile(r"^[A-Za-z0-9]{10}$")


def status(ctx: Context, state: State, text: str) -> Result:
    """The progress of the request a reference names."""
    if not text.strip():
        return Result(state, ctx.say("status_how", example=tpl.EXAMPLE_REFERENCE), "status: how")
    canonical = reference_module.parse(text) or next(
        (found for token in text.split() if (found := reference_module.parse(token))), None)
    if canonical is None:
        return Result(state, ctx.say("mistyped", example=tpl.EXAMPLE_REFERENCE), "status: mistyped reference")
    found = ctx.office.lookup(canonical)
    display = reference_module.display(canonical)
    if found is None:
        return Result(state, ctx.say("not_found", reference=display), f"status: {display} not found")
    t = ctx.t
    service = ctx.catalogue.get(found.service_code)
    latest = found.history[-1] if found.history else None
    council = [entry for entry in found.history if entry.source == "council"]
    when = (latest.at if latest else found.updated_at).date()
    text = tpl.status_reply(ctx.lang, reference=display, service=t(service.name) if service else found.service_code,
                            status=found.council_status or found.state, date=t.date(when, format="medium"),
                            notes=council[-1].notes if council else None)
    return Result(state, Words(text), f"status of {display}")


def not_fixed(ctx: Context, state: State, argument: str) -> Result | None:
    """NOTFIXED [reference] [comment]: the resident says a request is not fixed. Without a
    reference, a reply to the last status text sent to this number (within REPLY_WINDOW) is
    about the request it named. None when the message is not a follow-up after all (a report
    or an answer that begins with the same words): the conversation takes it."""
    canonical, comment = split_reference(argument)
    if canonical == MISTYPED:
        return Result(state, ctx.say("mistyped", example=tpl.EXAMPLE_REFERENCE), "not fixed: mistyped reference")
    if canonical is None:
        replied = ctx.office.replied_to(REPLY_WINDOW)
        if replied is None or (argument and not isinstance(state, Idle)):
            if argument:
                return None
            return Result(state, ctx.say("followup_how", example=tpl.EXAMPLE_REFERENCE), "not fixed: how")
        canonical, comment = replied, argument
    display = reference_module.display(canonical)
    try:
        added = ctx.office.add_follow_up(canonical, comment)
    except Refusal as refusal:
        name = "not_found" if refusal.outcome == "unknown" else "followup_not_yet"
        return Result(state, ctx.say(name, reference=display), f"not fixed: {display} {refusal.outcome}")
    return Result(state, ctx.say("followup_saved", reference=display), f"not fixed: {display} follow-up {added.number}",
                  saved=True)  # durable before the reply leaves, and the worker asked to send it now


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
