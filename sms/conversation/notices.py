"""Words owed to a resident: a notice that must not be lost when it does not fit its reply.

"Thank you: we will text you in Polish" comes with the kept first report's first question, and
in UCS-2 the two often exceed the budget together. The question matters more, so the notice is
carried in the conversation's state (`State.notice`) and said with the next reply that has room:
never dropped without a word.
"""

from __future__ import annotations

from dataclasses import replace

from sms import keywords as kw
from sms import templates as tpl
from sms.conversation.context import Context, Result, Words

#: The notices a conversation can owe, by name.
LANGUAGE_SET = "language_set"


def words(ctx: Context, notice: str) -> Words:
    """A notice in the number's language."""
    if notice == LANGUAGE_SET:
        return ctx.say("language_set", lang=kw.shown(kw.LANGUAGE, ctx.lang))
    return Words()


def before(ctx: Context, notice: str, result: Result) -> Result:
    """`result` with `notice` said first, if they fit together; else the notice owed to a later reply."""
    said = words(ctx, notice)
    if not said.text:
        return result
    if result.reply.text and tpl.fits(ctx.lang, said.text, result.reply.text):
        return replace(result, reply=ctx.join(said, result.reply))
    return replace(result, state=replace(result.state, notice=notice))


def settle(ctx: Context, owed: str, result: Result) -> Result:
    """A reply to a number that was owed `owed`: said now if there is room (unless the language
    changed this step, which says its own), else still owed."""
    if not owed or result.language not in (None, ctx.lang) or result.state.notice:
        return result
    return before(ctx, owed, result)
