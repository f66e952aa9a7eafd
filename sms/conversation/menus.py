"""Choosing what to report: a one-shot message, or the menus of groups and services.

A one-shot message ("missed bin 12 High St") starts the service it names with the place it gives;
a place alone gets the menu, headed by it; the menus take a number from the page shown, and
anything else is read as a one-shot message before the menu is sent again.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

from sms import answers as parse
from sms import keywords as kw
from sms import templates as tpl
from sms.conversation.context import Context, Result, Words
from sms.conversation.report import location_from, start
from sms.conversation.state import ChoosingGroup, ChoosingService, State
from sms.recognise import PlaceGuess, Recognition, words_of
from sync import flow


def one_shot(ctx: Context, state: State, text: str) -> Result:
    """A message that may say what and where: the service it names, asking only what is
    missing; a place alone gets the menu; anything else, how to use the service."""
    recognition = ctx.recogniser().recognise(text, ctx.language, ctx.also_read)
    found = _named(ctx, state, recognition, text)
    if found is not None:
        return found
    place = recognition.place
    if place is not None and place.kind in ("address", "street") and mostly_place(text, place):
        location = location_from(place)
        if location:
            head = ctx.say("problem_at", place=flow.display(flow.LOCATION, location, ctx.t))
            return group_menu(ctx, state, pending=location, head=head)
    return Result(state, ctx.say("not_understood"), "not understood")


def recognised(ctx: Context, state: State, text: str) -> Result | None:
    """The report a message names, started; None if it names no service on offer."""
    return _named(ctx, state, ctx.recogniser().recognise(text, ctx.language), text)


def _named(ctx: Context, state: State, recognition: Recognition, text: str) -> Result | None:
    if recognition.service and ctx.catalogue.get(recognition.service):
        return start(ctx, state, recognition.service, recognition.place, attributes=recognition.attributes,
                     description=text)
    return None


def mostly_place(text: str, place: PlaceGuess) -> bool:
    words = set(words_of(text))
    place_words = set(words_of(" ".join(place.candidates())))
    return bool(words) and len(words & place_words) * 2 >= len(words)


def group_menu(ctx: Context, state: State, *, pending: Mapping[str, Any] | None = None,
               head: Words | None = None) -> Result:
    """The menu of groups, which begins a report (headed by its place, when one was given)."""
    session, began = ctx.begin(state)
    t = ctx.t
    title = head.text if head else t(tpl.GROUP_MENU)
    text = tpl.menu_text(title, [t(group) for group in ctx.catalogue.groups()], ctx.lang, more=False)
    return Result(ChoosingGroup(session=session, pending=pending), Words(text, head is None or head.shared),
                  "menu of groups", began)


def pick_group(ctx: Context, state: ChoosingGroup, text: str, match: kw.Match | None) -> Result:
    """ChoosingGroup: a group's number, or a one-shot message."""
    index = parse.choice(text, len(ctx.catalogue.groups()))
    if index is not None:
        return service_menu(ctx, ChoosingService(session=state.session, group=index, page=0, pending=state.pending))
    return recognised(ctx, state, text) or group_menu(ctx, state, pending=state.pending)


def _services(ctx: Context, state: ChoosingService) -> tuple[list, list[str], list[list[int]]]:
    """The group's services, their names, and the pages they are shown in."""
    groups = ctx.catalogue.groups()
    names = list(groups)
    services = list(groups[names[state.group]]) if 0 <= state.group < len(names) else []
    labels = [ctx.t(service.name) for service in services]
    pages = tpl.pages(labels, ctx.t(tpl.SERVICE_MENU), ctx.lang) if labels else [[]]
    return services, labels, pages


def service_menu(ctx: Context, state: ChoosingService) -> Result:
    _, labels, pages = _services(ctx, state)
    page = min(state.page, len(pages) - 1)
    text = tpl.menu_text(ctx.t(tpl.SERVICE_MENU), [labels[index] for index in pages[page]], ctx.lang,
                         more=page + 1 < len(pages))
    return Result(replace(state, page=page), Words(text, True), "menu of services")


def pick_service(ctx: Context, state: ChoosingService, text: str, match: kw.Match | None) -> Result:
    """ChoosingService: a service's number on the page shown, the number after them for More,
    or a one-shot message."""
    services, _labels, pages = _services(ctx, state)
    page = min(state.page, len(pages) - 1)
    shown = pages[page]
    picked = parse.number(text)
    if picked is not None and 1 <= picked <= len(shown):
        return start(ctx, state, services[shown[picked - 1]].code, None, pending=state.pending)
    if picked == len(shown) + 1 and page + 1 < len(pages):
        return service_menu(ctx, replace(state, page=page + 1))
    return recognised(ctx, state, text) or service_menu(ctx, state)
