"""A report in hand: starting it, its questions, its place, the read-back and sending it.

The questions are the shared flow's (sync/flow.py), asked as on the kiosk and checked by its own
validation; a place is looked up in the gazetteer, and several that fit are offered as numbered
choices, never guessed.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import replace
from typing import Any, Mapping

from sms import answers as parse
from sms import keywords as kw
from sms import templates as tpl
from sms.conversation.context import Context, Event, Result, Words
from sms.conversation.state import Asking, ChoosingPlace, ChoosingStreet, Confirming, Idle, Report, State
from sms.recognise import PlaceGuess
from sync import flow
from sync.flow import Invalid
from sync.places.gazetteer import Place
from sync.store import events

log = logging.getLogger(__name__)

CHANNEL = "sms"
#: Answers the read-back leaves out: the resident's own number, and the two consents asked last.
NOT_READ_BACK = ("phone", "consent", "updates_by_text")


def as_mode(report: Report, mode: type[Report], **fields: Any) -> Report:
    """The same report in another mode."""
    return mode(session=report.session, service=report.service, answers=report.answers, conv=report.conv, **fields)


def answered(report: Report, key: str, value: Any) -> Report:
    return replace(report, answers={**report.answers, key: value})


def start(ctx: Context, state: State, code: str, place: PlaceGuess | None, *,
          attributes: Mapping[str, Any] | None = None, description: str = "",
          pending: Mapping[str, Any] | None = None) -> Result:
    """Begin a report of service `code` with what is known already; a report in hand is replaced."""
    earlier: tuple[Event, ...] = ()
    if isinstance(state, Report):
        earlier, state = ctx.abandon(state, "restart"), Idle()
    session, began = ctx.begin(state)
    service = ctx.catalogue.get(code)
    if service is None:  # named by a catalogue since replaced
        return Result(state, ctx.say("not_understood"), "not understood", earlier)
    answers = _first_answers(ctx, service, attributes, description, pending)
    prefix = ctx.t(service.name) + "."
    if service.urgent_notice:
        prefix += " " + ctx.say("urgent").text
    offer = None
    if place is not None and "location" not in answers:
        location = location_from(place)
        if location is None:
            offer = place
        else:
            answers["location"] = location
    report = Asking(session=session, service=code, answers=answers, conv=uuid.uuid4().hex)
    earlier += began + ctx.event(report, events.SERVICE)
    if offer is not None:
        return offer_places(ctx, report, offer, prefix).after(earlier)
    return ask(ctx, report, prefix=prefix).after(earlier)


def _first_answers(ctx: Context, service, attributes, description: str, pending) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    if phone := ctx.sender_phone():
        answers["phone"] = phone
    if pending:
        answers["location"] = dict(pending)
    answers.update(attributes or {})
    if description:
        try:
            question = next(q for q in flow.questions(service) if q.key == "description")
            answers["description"] = flow.validate(question, description)
        except (Invalid, StopIteration):
            pass
    return answers


def ask(ctx: Context, report: Report, *, prefix: str = "", error: str = "") -> Result:
    """The next question of the report, or its read-back once none is left."""
    service = ctx.service(report)
    if service is None:  # the catalogue changed under the conversation
        return Result(Idle(), ctx.say("started_again"), "service withdrawn", ctx.abandon(report, "restart"))
    question = flow.next_question(service, report.answers)
    if question is None:
        return read_back(ctx, report)
    asking = as_mode(report, Asking, question=question.key)
    text = tpl.question_text(question, ctx.lang, phone=ctx.phone, prefix=prefix, error=error)
    return Result(asking, Words(text, True), f"asked {question.key} ({service.code})",
                  ctx.event(asking, events.QUESTION, step=question.key))


def answer(ctx: Context, state: Asking, text: str, match: kw.Match | None) -> Result:
    """Asking: the reply answers the question in hand (a list question takes its numbers and
    names, a yes-or-no question its words; the flow's validation decides)."""
    service = ctx.service(state)
    question = flow.next_question(service, state.answers) if service else None
    if service is None or question is None:
        return ask(ctx, state)
    if question.kind == "location":
        return answer_location(ctx, state, text, match)
    skip = bool(match and match.action == kw.SKIP)
    raw = "" if skip else (parse.yes_or_no(ctx.keywords, text) or text) if question.kind == "yesno" else text
    try:
        value = flow.validate(question, raw, translate=ctx.t.gettext, today=ctx.today)
    except Invalid as invalid:
        if question.choices and not skip:
            # not an answer to the list, but perhaps a new report: that replaces this one
            recognition = ctx.recogniser().recognise(text, ctx.language)
            if recognition.service and (recognition.place or recognition.score >= 97):
                return start(ctx, state, recognition.service, recognition.place, attributes=recognition.attributes,
                             description=text)
        return ask(ctx, state, error=invalid.render(ctx.t))
    return ask(ctx, answered(state, question.key, value))


def answer_location(ctx: Context, report: Report, text: str, match: kw.Match | None) -> Result:
    if match and match.action == kw.SKIP:
        text = ""
    place = ctx.recogniser().place(text) if text else None
    if place is not None:
        location = location_from(place, words=text)
        if location is None:
            return offer_places(ctx, report, place, "")
        return ask(ctx, answered(report, "location", location))
    try:
        location = flow.validate(flow.LOCATION, text)
    except Invalid as invalid:
        return ask(ctx, report, error=invalid.render(ctx.t))
    return ask(ctx, answered(report, "location", location))


def location_from(place: PlaceGuess, words: str = "") -> dict | None:
    """The flow's location answer for one place (None for a choice still to make)."""
    if place.kind == "address":
        return flow.validate(flow.LOCATION, place.places[0])
    if place.kind == "street":
        description = place.candidates()[0]
        if words and kw.fold(words) not in kw.fold(description):
            description = f"{words} ({description})"
        return flow.validate(flow.LOCATION, description[:flow.STRING_MAX])
    return None


def offer_places(ctx: Context, report: Report, place: PlaceGuess, prefix: str) -> Result:
    """Several places fit: numbered choices (short addresses), or several streets' towns."""
    if place.places:
        chosen: Report = as_mode(report, ChoosingPlace, options=tuple(place_dict(item) for item in place.places))
        which, short = ctx.t(tpl.WHICH_ADDRESS), ctx.t(tpl.WHICH_ADDRESS_SHORT)
        heads = (f"{prefix} {which}", which, short) if prefix else (which, short)
        text = address_offer([item.address for item in place.places], heads, ctx.lang)
        return Result(chosen, Words(text), f"offered {len(place.places)} addresses")
    chosen = as_mode(report, ChoosingStreet, options=tuple(place.streets), number=place.number)
    street = place.streets[0][0]
    labels = [town or street for _street, town in place.streets]
    head = " ".join(part for part in (prefix, ctx.say("which_street", street=street).text) if part)
    return Result(chosen, Words(tpl.options_text(head, labels, "", ctx.lang)), f"offered {len(labels)} streets")


def pick_place(ctx: Context, state: ChoosingPlace, text: str, match: kw.Match | None) -> Result:
    """ChoosingPlace: a number from the addresses offered, or another address."""
    index = parse.choice(text, len(state.options))
    if index is not None:
        return ask(ctx, answered(state, "location", flow.validate(flow.LOCATION, Place(**state.options[index]))))
    return answer_location(ctx, state, text, ctx.keywords.match(text))


def pick_street(ctx: Context, state: ChoosingStreet, text: str, match: kw.Match | None) -> Result:
    """ChoosingStreet: a number from the towns offered, or another address."""
    index = parse.choice(text, len(state.options))
    if index is not None:
        street, town = state.options[index]
        words = f"{state.number} {street}, {town}".strip() if town else f"{state.number} {street}".strip()
        return ask(ctx, answered(state, "location", flow.validate(flow.LOCATION, words)))
    return answer_location(ctx, state, text, ctx.keywords.match(text))


def read_back(ctx: Context, report: Report) -> Result:
    """Every answer once more (long ones shortened) before anything is sent."""
    service = ctx.service(report)
    if service is None:
        return ask(ctx, report)
    t = ctx.t
    items = [t(service.name)]
    for question in flow.questions(service, report.answers):
        value = report.answers.get(question.key)
        if question.key not in NOT_READ_BACK and value not in (None, "", []):
            items.append(flow.display(question, value, t))
    confirming = as_mode(report, Confirming)
    return Result(confirming, Words(tpl.read_back(items, ctx.lang)), f"read back ({service.code})",
                  ctx.event(confirming, events.CHECK))


def confirm(ctx: Context, state: Confirming, text: str, match: kw.Match | None) -> Result:
    """Confirming: only the YES words of the resident's language send (a number does not: the
    read-back asks for YES); a NO word, in any language offered, drops the report."""
    if ctx.service(state) is None:
        return ask(ctx, state)  # withdrawn since the read-back
    said = parse.confirmation(ctx.keywords, text, ctx.lang)
    if said == "yes":
        return submit(ctx, state)
    if said == "no":
        return Result(Idle(), ctx.say("not_sent"), "not sent", ctx.abandon(state, "restart"))
    return Result(state, ctx.say("confirm_again"), "asked to confirm again")


def submit(ctx: Context, state: Confirming) -> Result:
    """Save the confirmed request to the outbox (idempotent on the conversation) and give its
    reference; if it cannot be saved, say so and stay at the read-back for YES again."""
    service = ctx.service(state)
    if service is None:
        return ask(ctx, state)
    try:
        draft = flow.to_draft(service, state.answers, channel=CHANNEL, language=ctx.lang,
                              catalogue_version=ctx.catalogue.version, idempotency_key=f"sms:{state.conv}")
        saved = ctx.office.enqueue(draft)
    except (ValueError, KeyError) as error:  # answers the catalogue no longer takes: one line, no words
        log.error("could not make a request of the confirmed answers (%s, %s)", service.code, type(error).__name__)
        saved = None
    if saved is None:  # the office has logged why, with the message's sid
        return Result(state, ctx.say("error"), "save failed")
    template = "sent_updates" if state.answers.get("updates_by_text") == "yes" else "sent"
    return Result(Idle(), ctx.say(template, reference=saved.display_reference),
                  f"saved {saved.display_reference} ({service.code})", ctx.event(state, events.SUBMITTED), saved=True)


def place_dict(place: Place) -> dict[str, Any]:
    return {"uprn": place.uprn, "address": place.address, "postcode": place.postcode, "lat": place.lat,
            "lon": place.lon}


def short_address(address: str) -> str:
    """An address offered by text, without its postcode and post town but always with the town or
    village it is in ("Flat 3, 16 Station Road, Brackenford"; "4 Station Road, Thornley Green"):
    many streets' names are shared by several of a council's towns."""
    parts = [part.strip() for part in address.split(",")]
    if len(parts) < 3:
        return ", ".join(parts)
    parts = parts[:-1]  # the postcode
    street = next((index for index, part in enumerate(parts) if part[:1].isdigit()), 1 if len(parts) > 2 else 0)
    return ", ".join(parts[:street + 2])


#: Street types shortened as Royal Mail's addressing guidance allows, for choices that would not fit.
_STREET_TYPES = {"Road": "Rd", "Street": "St", "Avenue": "Ave", "Lane": "Ln", "Drive": "Dr", "Close": "Cl",
                 "Crescent": "Cres", "Gardens": "Gdns", "Terrace": "Terr", "Square": "Sq", "Place": "Pl"}
_STREET_TYPE = re.compile(r"\b(" + "|".join(_STREET_TYPES) + r")\b")


def address_offer(addresses: list[str], heads: tuple[str, ...], language: str) -> str:
    """The choice of addresses as a text, the town always said: whole addresses where they fit,
    else street types abbreviated ("16 Station Rd, Brackenford"), else each town said once above
    its addresses; under the longest heading of `heads` that lets them fit (the choices matter more
    than the service's name and urgent notice, as in a question)."""
    whole = [short_address(address) for address in addresses]
    shorter = [_STREET_TYPE.sub(lambda found: _STREET_TYPES[found.group(1)], label) for label in whole]
    for head in heads:
        for lines in (tpl.numbered(whole), tpl.numbered(shorter), _by_town(shorter)):
            if tpl.fits(language, head, *lines):
                return "\n".join((head, *lines))
    return tpl.options_text(heads[-1], shorter, "", language)  # the last resort cuts the labels


def _by_town(labels: list[str]) -> list[str]:
    """Numbered addresses under the name of their town, each town said once ("Brackenford:")."""
    lines: list[str] = []
    town = None
    for number, label in enumerate(labels, 1):
        street, _, place = label.rpartition(", ")
        if place != town:
            lines.append(f"{place}:")
            town = place
        lines.append(f"{number} {street or place}")
    return lines
