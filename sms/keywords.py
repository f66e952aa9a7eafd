"""Keywords a resident can text, in every language offered.

Each action's words are one gettext message: the English words are the message id, and each
language's catalogue gives its own words (as many as people really use), so a language added
later brings its keywords with it. English words always work, whatever the language: they are
what posters and Twilio's own replies tell people to send.

Case, accents and surrounding punctuation are ignored ("Stop.", "stôp" and "STOP" are the same).
An opt-out or opt-in word counts only when it is the whole message, as Twilio and the mobile
networks require; STATUS, REPORT, LANG and NOTFIXED may be followed by more words.

CANCEL is one of Twilio's opt-out words, so it means "stop all texts" here too, never "abandon
this conversation": NEW (or MENU) abandons.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from locales import N_, translator

OPT_OUT, OPT_IN, HELP, LANGUAGE, NEW, STATUS, REPORT, SKIP, YES, NO, GREETING, NOT_FIXED = (
    "opt_out", "opt_in", "help", "language", "new", "status", "report", "skip", "yes", "no", "greeting", "not_fixed")

# TRANSLATORS: Comma-separated words that stop ALL texts from the council (an SMS opt-out). Keep the
# English words and add the words people use in your language (for Welsh: STOPIO, DIWEDD...).
# Upper case; each word on its own is the whole message.
OPT_OUT_WORDS = N_("STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT")
# TRANSLATORS: Comma-separated words that start texts again after an opt-out. Keep START.
OPT_IN_WORDS = N_("START, UNSTOP")
# TRANSLATORS: Comma-separated words asking the text service for help. The first is shown in messages.
HELP_WORDS = N_("HELP, INFO")
# TRANSLATORS: Comma-separated words to choose the language of the texts. The first is shown in messages.
LANGUAGE_WORDS = N_("LANG, LANGUAGE")
# TRANSLATORS: Comma-separated words that abandon the current conversation and start again. The
# first is shown in messages. Never use a word that means cancel: CANCEL stops all texts.
NEW_WORDS = N_("NEW, MENU, RESTART")
# TRANSLATORS: Comma-separated words that ask for the progress of a request, followed by its reference.
# The first is shown in messages.
STATUS_WORDS = N_("STATUS, CHECK, TRACK")
# TRANSLATORS: Comma-separated words that start reporting a problem. The first is shown in messages.
REPORT_WORDS = N_("REPORT")
# TRANSLATORS: Comma-separated words that leave an optional question unanswered. The first is shown in messages.
SKIP_WORDS = N_("SKIP, NONE, NO THANKS")
# TRANSLATORS: Comma-separated words meaning yes in a text message. The first is shown in messages.
YES_WORDS = N_("YES, Y, YEP, YEAH, YS, OK, OKAY, SEND")
# TRANSLATORS: Comma-separated words meaning no in a text message. The first is shown in messages.
NO_WORDS = N_("NO, N, NOPE, NAH")
# TRANSLATORS: Comma-separated greetings people text to start a conversation (lower case is fine).
GREETING_WORDS = N_("HI, HELLO, HELLO THERE, HEY, HIYA, GOOD MORNING, GOOD AFTERNOON, GOOD EVENING, HELP ME")

# TRANSLATORS: Comma-separated words saying a reported problem is not fixed (or broken again), followed
# by its reference and, if the resident likes, a short comment. The first is shown in messages.
NOT_FIXED_WORDS = N_("NOTFIXED, NOT FIXED, STILL BROKEN, STILL NOT FIXED, BROKEN AGAIN")

WORDS = {OPT_OUT: OPT_OUT_WORDS, OPT_IN: OPT_IN_WORDS, HELP: HELP_WORDS, LANGUAGE: LANGUAGE_WORDS, NEW: NEW_WORDS,
         STATUS: STATUS_WORDS, REPORT: REPORT_WORDS, SKIP: SKIP_WORDS, YES: YES_WORDS, NO: NO_WORDS,
         GREETING: GREETING_WORDS, NOT_FIXED: NOT_FIXED_WORDS}
#: Actions that may be followed by more words.
WITH_ARGUMENT = (STATUS, REPORT, LANGUAGE, NOT_FIXED)
#: Twilio handles these itself on long codes (it confirms an opt-out and blocks further texts),
#: so the bot records them but sends no reply of its own.
TWILIO_OPT_OUT = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"})
#: Words Twilio takes as opting back in; YES only counts for a number that has opted out.
TWILIO_OPT_IN = frozenset({"start", "unstop", "yes"})

#: One character of a word: a letter or digit, or a mark. Python's \w leaves marks out, and in
#: Gurmukhi, Bengali or Urdu a word's vowel signs are marks: without them ਹਾਂ ("yes") would fold to
#: ਹ and রাস্তা ("road") fall apart in four.
WORD_CHAR = "(?:[^\\W_]|[" + re.escape("".join(chr(code) for code in range(0x300, 0xE00)
                                                 if unicodedata.category(chr(code)).startswith("M"))) + "])"
_WORD_CHAR = re.compile(WORD_CHAR)
_ASCII_EDGE = re.compile(r"^[\W_]+|[\W_]+$")  # the same, for the commonest case, faster


def plain(text: str) -> str:
    """Lower case and accents off ("Stôp" -> "stop"): how keywords and the recogniser both compare."""
    text = str(text)
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def fold(text: str) -> str:
    """Lower case, accents off, punctuation trimmed from both ends, spaces single."""
    text = str(text)
    if text.isascii():
        return _ASCII_EDGE.sub("", " ".join(text.lower().split()))
    plain_text = " ".join(plain(text).split())
    first = _WORD_CHAR.search(plain_text)  # trimmed by finding the ends, in linear time whatever the text
    if first is None:
        return ""
    last = next(index for index in range(len(plain_text) - 1, -1, -1) if _WORD_CHAR.match(plain_text, index))
    return plain_text[first.start():last + 1]


def words(message: str, language: str) -> list[str]:
    """The folded words of one action's message in `language` (English's always included)."""
    found: list[str] = []
    for code in dict.fromkeys(("en", language)):
        for word in translator(code)(message).split(","):
            folded = fold(word)
            if folded and folded not in found:
                found.append(folded)
    return found


def shown(action: str, language: str) -> str:
    """The word a message tells the resident to send for `action`, in their language."""
    message = WORDS[action]
    first = translator(language)(message).split(",")[0].strip()
    return first.upper() or WORDS[action].split(",")[0]


@dataclass(frozen=True)
class Match:
    action: str
    argument: str  # the rest of the message after the keyword ("" for none)
    languages: tuple[str, ...]  # the languages whose word it is
    twilio: bool  # one of Twilio's own opt-out or opt-in words


class Keywords:
    """Every action's words across the languages offered."""

    def __init__(self, languages: tuple[str, ...]) -> None:
        self.languages = languages
        table: dict[str, dict[str, list[str]]] = {}
        for action, message in WORDS.items():
            for language in languages:
                for word in words(message, language):
                    table.setdefault(word, {}).setdefault(action, [])
                    if language not in table[word][action]:
                        table[word][action].append(language)
        self.table = table
        self.longest = max((len(word.split()) for word in table), default=1)

    def match(self, text: str, *, actions: tuple[str, ...] | None = None) -> Match | None:
        folded = fold(text)
        if not folded:
            return None
        whole = self.table.get(folded) or self.table.get(folded.replace("-", ""))
        if whole:
            for action in actions or WORDS:
                if action in whole:
                    twilio = (action == OPT_OUT and folded in TWILIO_OPT_OUT) or (
                        action == OPT_IN and folded in TWILIO_OPT_IN)
                    return Match(action, "", tuple(whole[action]), twilio)
        tokens = str(text).split()
        folded_tokens = [fold(token) for token in tokens]
        for size in range(min(self.longest, len(tokens) - 1), 0, -1):
            head = " ".join(folded_tokens[:size])
            for action in WITH_ARGUMENT:
                if actions is not None and action not in actions:
                    continue
                if action in self.table.get(head, {}):
                    rest = " ".join(tokens[size:]).strip(" :;,-")
                    return Match(action, rest, tuple(self.table[head][action]), False)
        return None

    def means(self, text: str, action: str) -> bool:
        """Whether the whole message is one of `action`'s words."""
        found = self.table.get(fold(text))
        return bool(found and action in found)


@lru_cache(maxsize=16)
def keywords(languages: tuple[str, ...]) -> Keywords:
    return Keywords(languages)
