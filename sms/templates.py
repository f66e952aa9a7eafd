"""Every message the SMS bot sends, as a template, counted in segments and fitted to its budget.

All of them are gettext messages (translated like the kiosk's), with `{placeholders}` filled in
at send time. Keywords inside them (`{help}`, `{stop}`...) are filled with the resident's own
language's word. Budgets (sync/texting/segments.py): English at most 2 segments, most replies in 1; other
languages at most 3. Read-backs, addresses and council notes are shortened to fit; nothing ever
leaves over budget (the last resort cuts the text and logs it).

`TEMPLATES` lists each fixed template with the longest values it can receive, so that the tests
check every one in every shipped language.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Sequence

from locales import N_, NP_, native_name, translator
from sms import keywords as kw
from sync.flow import Question
from sync.texting import segments, wording

log = logging.getLogger(__name__)

LANGUAGE_QUESTION = N_("Which language? Reply with a number.")
# TRANSLATORS: Sent once a resident has chosen this language: name the language itself ("in Welsh").
LANGUAGE_SET = N_("Thank you: we will text you in English. To change, text {lang}.")
WELCOME = N_("Hello from {council}. Text what is wrong and where, like: pothole outside 4 Station Road. "
             "Or text {report} for a list, or {help} for help.")
NOT_UNDERSTOOD = N_("Sorry, we could not tell what the problem is. Text what is wrong and where, like: "
                    "missed bin 12 High Street. Or text {report} for a list.")
HELP_TEXT = N_("{council}: text what is wrong and where to report it, or {status} and a reference to check one. "
               "{new} starts again, {lang} changes language, {stop} stops all texts. Urgent? Phone {phone}.")
# TRANSLATORS: Help for a number whose language is not known yet, sent under the same help in English:
# keep it short (both must fit in two text messages).
HELP_FIRST = N_("Text what is wrong and where, or {status} and a reference.")
GROUP_MENU = N_("What is it about? Reply with a number:")
SERVICE_MENU = N_("Which of these? Reply with a number:")
MORE = N_("More")
PROBLEM_AT = N_("What is the problem at {place}? Reply with a number:")
URGENT = N_("Urgent or dangerous? Phone {phone} now.")
REPLY_NUMBER = N_("Reply with a number.")
REPLY_NUMBERS = N_("Reply with one or more numbers, like 1, 3.")
REPLY_YES_NO = N_("Reply {yes} or {no}.")
REPLY_SKIP = N_("Reply {skip} to leave it out.")
WHICH_ADDRESS = N_("Which address? Reply with a number, or send the address again.")
# TRANSLATORS: The same question, short, for when the addresses would not fit under the long one.
WHICH_ADDRESS_SHORT = N_("Which address?")
WHICH_STREET = N_("Which {street}? Reply with a number.")
READ_BACK = N_("Please check: {summary}. Reply {yes} to send it, or {new} to start again.")
CONFIRM_AGAIN = N_("Reply {yes} to send it, or {new} to start again.")
SENT_UPDATES = N_("Sent, thank you. Your reference is {reference}. We will text you when the council updates it.")
SENT = N_("Sent, thank you. Your reference is {reference}. To check on it, text {status} {reference}.")
NOT_SENT = N_("Not sent. Text us again whenever you are ready.")
STATUS_LINE = N_("{reference} ({service}): {status}, {date}.")
STATUS_NOTES = N_("{text} The council says: {notes}")
NOT_FOUND = N_("We cannot find {reference}. Please check it, or phone {phone}.")
MISTYPED = N_("That reference does not look right. It has 10 letters and numbers, like {example}.")
STATUS_HOW = N_("Text {status} and your reference, like: {status} {example}.")
STARTED_AGAIN = N_("Started again. Text what is wrong and where, or {report} for a list.")
EXPIRED = NP_("Your unfinished request was cleared after {hours} hour.",
              "Your unfinished request was cleared after {hours} hours.")
OPTED_OUT = N_("You will get no more texts from {council}. To start again, text {start}.")
OPTED_IN = N_("Welcome back: you will get texts from {council} again. Text {help} for help.")
OPTED_OUT_HELP = N_("{council}: you have stopped all texts. To start again, text {start}. Or phone {phone}.")
RATE_LIMITED = N_("You have sent a lot of messages. Please wait an hour and try again, or phone {phone}.")
BUSY = N_("We are very busy. Please try again in a few minutes, or phone {phone}.")
TOO_LONG = N_("Your message is too long. Please send a shorter one, up to {max} characters.")
EMPTY = N_("Your message was empty. Text what is wrong and where, or {help} for help.")
MEDIA = N_("We cannot open pictures or files. Please describe it in words.")
ERROR = N_("Sorry, something went wrong. Please try again later, or phone {phone}.")
FOLLOWUP_SAVED = N_("Thank you. We will tell the council that {reference} is not fixed.")
FOLLOWUP_HOW = N_("To tell us a problem is not fixed, text {notfixed} and its reference, like: {notfixed} {example}.")
FOLLOWUP_NOT_YET = N_("{reference} has not reached the council yet. It will be sent as soon as it can: "
                      "there is nothing more to do.")

#: The language of a reply written in several languages at once (its budget is 3 segments).
MIXED = "mixed"
EXAMPLE_REFERENCE = "K7Q-4MB-XP9P"
#: The longest values each placeholder is tested with.
LONGEST = {
    "council": "Rhondda Cynon Taf County Borough Council", "phone": "+44 (0)1632 960 000", "reference": "K7Q-4MB-XP9P",
    "example": EXAMPLE_REFERENCE, "hours": 24, "max": segments.MAX_MESSAGE_CHARS, "street": "Cherry Tree Walk",
    "date": "24 Tachwedd 2026", "status": "passed on: it is not the council's responsibility",
    "service": "Collection of bulky waste", "place": "Brackenford Central Library, Market Square, Oakhurst, BF1 4AA",
    "summary": "x" * 600, "notes": "y" * 600, "text": "",
}
#: Placeholders that are keywords, filled with the resident's language's word.
KEYWORD_PLACEHOLDERS = {"help": kw.HELP, "stop": kw.OPT_OUT, "start": kw.OPT_IN, "new": kw.NEW, "lang": kw.LANGUAGE,
                        "status": kw.STATUS, "report": kw.REPORT, "yes": kw.YES, "no": kw.NO, "skip": kw.SKIP,
                        "notfixed": kw.NOT_FIXED}


@dataclass(frozen=True)
class Template:
    message: str | tuple[str, str]
    shrink: tuple[str, ...] = ()  # placeholders shortened to fit, in this order


#: The fixed templates (questions, menus and read-backs are built from the catalogue: see below).
TEMPLATES: dict[str, Template] = {
    "welcome": Template(WELCOME, ("council",)),
    "not_understood": Template(NOT_UNDERSTOOD),
    "help": Template(HELP_TEXT, ("council",)),
    "help_first": Template(HELP_FIRST),
    "language_set": Template(LANGUAGE_SET),
    "problem_at": Template(PROBLEM_AT, ("place",)),
    "urgent": Template(URGENT),
    "which_address": Template(WHICH_ADDRESS),
    "which_street": Template(WHICH_STREET),
    "read_back": Template(READ_BACK, ("summary",)),
    "confirm_again": Template(CONFIRM_AGAIN),
    "sent_updates": Template(SENT_UPDATES),
    "sent": Template(SENT),
    "not_sent": Template(NOT_SENT),
    "status_line": Template(STATUS_LINE, ("service", "status")),
    "status_notes": Template(STATUS_NOTES, ("notes",)),
    "not_found": Template(NOT_FOUND),
    "mistyped": Template(MISTYPED),
    "status_how": Template(STATUS_HOW),
    "started_again": Template(STARTED_AGAIN),
    "expired": Template(EXPIRED),
    "opted_out": Template(OPTED_OUT, ("council",)),
    "opted_in": Template(OPTED_IN, ("council",)),
    "opted_out_help": Template(OPTED_OUT_HELP, ("council",)),
    "rate_limited": Template(RATE_LIMITED),
    "busy": Template(BUSY),
    "too_long": Template(TOO_LONG),
    "empty": Template(EMPTY),
    "media": Template(MEDIA),
    "error": Template(ERROR),
    "followup_saved": Template(FOLLOWUP_SAVED),
    "followup_how": Template(FOLLOWUP_HOW),
    "followup_not_yet": Template(FOLLOWUP_NOT_YET),
}


@lru_cache(maxsize=64)
def _keyword_values(language: str) -> tuple[tuple[str, str], ...]:
    return tuple((name, kw.shown(action, language)) for name, action in KEYWORD_PLACEHOLDERS.items())


def keyword_values(language: str) -> dict[str, str]:
    return dict(_keyword_values(language))


def raw(name: str, language: str, params: dict[str, Any]) -> str:
    """A fixed template filled in, unfitted (the tests check these fit as they are)."""
    template = TEMPLATES[name]
    t = translator(language)
    values = {**keyword_values(language), **params}
    if isinstance(template.message, tuple):
        text = t.ngettext(*template.message, int(values.get("hours", 2))).format(**values)
    else:
        text = t(template.message).format(**values)
    return segments.normalise(text)


def render(name: str, language: str, **params: Any) -> str:
    """A fixed template in `language`, fitted to the language's budget."""
    template = TEMPLATES[name]
    t = translator(language)
    keywords_ = keyword_values(language)

    def build(values: dict[str, str]) -> str:
        merged = {**keywords_, **values}
        if isinstance(template.message, tuple):
            return t.ngettext(*template.message, int(params.get("hours", 2))).format(**merged)
        return t(template.message).format(**merged)

    return segments.fit(build, {key: value for key, value in params.items()}, template.shrink,
                        segments.budget(language))


@lru_cache(maxsize=512)
def fixed(name: str, language: str, council: str, phone: str) -> str:
    """A template that takes nothing but the council's name and phone number (help, welcome,
    the urgent notice...), rendered: the same all day, so worked out once."""
    return render(name, language, council=council, phone=phone)


def mixed(name: str, languages: Sequence[str], **params: Any) -> str:
    """A short message in every offered language, for a number whose language is not known
    yet, as far as the budget allows (the first language always)."""
    parts: list[str] = []
    for code in languages:
        part = render(name, code, **params)
        if parts and segments.segments(segments.normalise("\n".join([*parts, part]))) > segments.budget(MIXED):
            break
        parts.append(part)
    return "\n".join(dict.fromkeys(parts))


#: Segments the help to a number with no language yet may take, whatever its languages.
FIRST_HELP_SEGMENTS = 2


def first_help(languages: Sequence[str], council: str, phone: str) -> str:
    """HELP from a number whose language is not known: short help in English and in the first
    other language offered (Welsh, where it is), then the council and its phone number as far
    as two segments allow; the language question waits for the next message."""
    english = render("help_first", "en")
    other = next((render("help_first", code) for code in languages if code != "en"), "")
    urgent = render("urgent", "en", phone=phone)
    for parts in ((f"{council}: {english}", other, urgent), (english, other, urgent), (english, other),
                  (english,)):
        text = segments.normalise("\n".join(part for part in parts if part))
        if segments.segments(text) <= FIRST_HELP_SEGMENTS:
            return text
    return segments.truncate_to(segments.normalise(english), FIRST_HELP_SEGMENTS)


def final(text: str, language: str) -> str:
    """Normalised, safe for XML, and within budget: the last step before any reply leaves."""
    text = xml_safe(segments.normalise(text)).strip()
    limit = segments.budget(language)
    if segments.segments(text) > limit:
        log.warning("a %s reply was over its budget of %d segments and was cut", language, limit)
        text = segments.truncate_to(text, limit)
    return text


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


#: final() of a shared reply (a question, a menu, help: sms/messages.py Reply.shared), worked out once.
#: Never used for a reply with anything of a resident's in it, which must not outlive the purge.
final_shared = lru_cache(maxsize=2048)(final)


def xml_safe(text: str) -> str:
    """Nothing XML 1.0 cannot carry (control characters, lone surrogates, U+FFFE/U+FFFF)."""
    return _NOT_XML.sub("", text)


def fits(language: str, *parts: str) -> bool:
    """Whether the parts, as one reply, fit the language's budget."""
    return segments.segments(segments.normalise("\n".join(part for part in parts if part))) <= segments.budget(language)


def join(language: str, *parts: str) -> str:
    """Several messages as one reply if they fit the budget together; else the last one alone
    (a part that must not be lost is carried to a later reply instead: see sms/conversation/notices.py)."""
    kept = [part for part in parts if part]
    if len(kept) <= 1 or fits(language, *kept):
        return "\n".join(kept)
    return kept[-1]


def preferred(language: str) -> int:
    """The segments a question aims for: 1 in English (most replies in one part), 2 otherwise."""
    return 1 if language == "en" else 2


def numbered(options: Sequence[str], start: int = 1) -> list[str]:
    return [f"{index} {label}" for index, label in enumerate(options, start)]


def options_text(head: str, options: Sequence[str], tail: str, language: str) -> str:
    """A heading, numbered options and a footer, labels shortened if need be to fit."""
    def build(limit: int | None) -> str:
        labels = [segments.shorten(label, limit) if limit else label for label in options]
        return "\n".join(part for part in (head, *numbered(labels), tail) if part)

    text = build(None)
    for limit in (48, 36, 28, 22, 16):
        if segments.segments(segments.normalise(text)) <= segments.budget(language):
            break
        text = build(limit)
    return text


def pages(options: Sequence[str], head: str, language: str) -> list[list[int]]:
    """Split a long menu into pages that fit, each but the last ending with "More"."""
    t = translator(language)
    more = t(MORE)
    result: list[list[int]] = []
    index = 0
    while index < len(options):
        page: list[int] = []
        while index < len(options):
            trial = page + [index]
            labels = [options[i] for i in trial] + ([more] if index + 1 < len(options) else [])
            text = segments.normalise(options_text(head, labels, "", language))
            fits = segments.segments(text) <= segments.budget(language)
            if page and not fits:
                break
            page = trial
            index += 1
        result.append(page)
    return result


def menu_text(head: str, labels: Sequence[str], language: str, more: bool) -> str:
    t = translator(language)
    return options_text(head, [*labels, t(MORE)] if more else list(labels), "", language)


def menu_order(languages: Sequence[str], first: Sequence[str] = ()) -> tuple[str, ...]:
    """The languages as the language menu numbers them: `first` first, then the others in order."""
    return (*first, *(code for code in languages if code not in first))


def language_menu(languages: Sequence[str], first: Sequence[str] = ()) -> str:
    """The first message to a new number when several languages are offered: the question in
    each of them (offering Welsh where it is offered, as the Welsh Language Standards ask),
    then each language named in itself. `first`: the languages the first message seems to be
    in, offered first and asked in, with English."""
    order = menu_order(languages, first)
    asked = [*first, "en"] if first else list(languages)
    questions = list(dict.fromkeys(translator(code)(LANGUAGE_QUESTION) for code in asked))
    options = numbered([native_name(code) for code in order])
    text = "\n".join([*questions, *options])
    while segments.segments(segments.normalise(text)) > segments.budget("xx") and len(questions) > 1:
        questions.pop()
        text = "\n".join([*questions, *options])
    return text


@lru_cache(maxsize=1024)
def question_text(question: Question, language: str, *, phone: str, prefix: str = "",
                  error: str = "") -> str:
    """A flow question as a text: [error] [prefix] prompt [hint] [numbered options] [how to reply].

    The hint is kept only if the message still fits the preferred size (1 part in English).
    Each is worked out once (the same questions are asked all day): nothing in one is personal.
    """
    t = translator(language)
    words = keyword_values(language)
    head = t(question.prompt)
    tail = []
    options: list[str] = []
    if question.kind == "yesno":
        tail.append(t(REPLY_YES_NO).format(yes=words["yes"], no=words["no"]))
    elif question.choices:
        options = [t(choice.label) for choice in question.choices]
        tail.append(t(REPLY_NUMBERS if question.kind == "multivaluelist" else REPLY_NUMBER))
    if not question.required and question.kind not in ("yesno",):
        tail.append(t(REPLY_SKIP).format(skip=words["skip"]))
    hint = t(question.hint) if question.hint else ""
    if "{phone}" in hint:
        hint = hint.format(phone=phone)

    def build(with_hint: bool, prefix: str, error: str) -> str:
        first = " ".join(part for part in (prefix, head) if part)
        lines = [_sentence(error), first] if error else [first]
        if with_hint and hint:
            lines.append(hint)
        return options_text("\n".join(lines), options, " ".join(tail), language)

    text = build(True, prefix, error)
    if hint and segments.segments(segments.normalise(text)) > preferred(language):
        text = build(False, prefix, error)
    # Too long even so (a long prefix and an error together): the question and its options
    # matter most, then the service's name and urgent notice, then what was wrong.
    for fewer in ((prefix, ""), ("", error), ("", "")):
        if segments.segments(segments.normalise(text)) <= segments.budget(language):
            break
        text = build(False, *fewer)
    return text


def _sentence(text: str) -> str:
    """A flow message as a sentence of its own ("Enter a number, like 3" -> "... 3.")."""
    text = text.strip()
    return text if not text or text[-1] in ".!?" else text + "."


def read_back(items: Iterable[str], language: str) -> str:
    """"Please check: ...": each answer shortened to 60 characters, then the whole to fit."""
    summary = "; ".join(segments.shorten(item, 60) for item in items if item)
    return render("read_back", language, summary=summary)


def status_reply(language: str, *, reference: str, service: str, status: str, date: str, notes: str | None) -> str:
    """A request's progress (`status`: its state, or the council's), shortened to fit."""
    t = translator(language)
    status = wording.status_label(status, t)
    keywords_ = keyword_values(language)

    def build(values: dict[str, str]) -> str:
        text = t(STATUS_LINE).format(**{**keywords_, **values})
        if values.get("notes"):
            text = t(STATUS_NOTES).format(text=text, notes=values["notes"])
        return text

    return segments.fit(build, {"reference": reference, "service": service, "status": status, "date": date,
                             "notes": " ".join((notes or "").split())},
                     ("notes", "service", "status"), segments.budget(language))

