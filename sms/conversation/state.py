"""Where a conversation stands: one frozen dataclass per mode, and its saved form.

The store keeps a conversation as a JSON object (sealed, sync/texting). Its keys are the ones the
bot has always written ("mode", "service", "answers"...), so a conversation saved before the modes
became classes loads as the same mode; keys a mode does not use are dropped when it is next saved.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping


@dataclass(frozen=True, kw_only=True)
class State:
    """What every mode carries: the random id of the report in hand, for the take-up events, and
    `notice`: a word owed to the resident that did not fit its reply (sms/conversation/notices.py),
    said with the next reply that has room for it."""

    session: str | None = None
    notice: str = ""


@dataclass(frozen=True, kw_only=True)
class Idle(State):
    """Nothing in hand: a message is a new report, a status request or a keyword."""


@dataclass(frozen=True, kw_only=True)
class ChoosingLanguage(State):
    """The language menu was sent. `stash`: a first message kept to answer once a language is
    chosen; `resume`: the mode to go back to when LANG was sent in the middle of a conversation;
    `first`: the languages the first message seemed to be in, which the menu offered first."""

    stash: str = ""
    resume: State | None = None
    first: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ChoosingGroup(State):
    """The menu of service groups was sent; `pending` is a place already given, if any."""

    pending: Mapping[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class ChoosingService(State):
    """A page of one group's services was sent."""

    group: int = 0
    page: int = 0
    pending: Mapping[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class Report(State):
    """A report in hand: its service, the answers so far, and its idempotency id."""

    service: str
    answers: Mapping[str, Any] = field(default_factory=dict)
    conv: str = ""


@dataclass(frozen=True, kw_only=True)
class Asking(Report):
    """The question `question` was asked."""

    question: str = ""


@dataclass(frozen=True, kw_only=True)
class ChoosingPlace(Report):
    """Several addresses were offered as numbered choices (each a gazetteer place, as a dict)."""

    options: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True, kw_only=True)
class ChoosingStreet(Report):
    """Several towns' streets of one name were offered; `number` is the house number given."""

    options: tuple[tuple[str, str], ...] = ()
    number: str = ""


@dataclass(frozen=True, kw_only=True)
class Confirming(Report):
    """The answers were read back; the bot waits for YES."""


_MODES: dict[str, type[State]] = {"language": ChoosingLanguage, "group": ChoosingGroup, "services": ChoosingService,
                                  "asking": Asking, "choose_place": ChoosingPlace, "choose_street": ChoosingStreet,
                                  "confirm": Confirming}
_NAMES = {mode: name for name, mode in _MODES.items()}


def to_dict(state: State) -> dict[str, Any]:
    """The saved form of `state` ({} for an idle conversation: nothing to keep)."""
    owed = {"notice": state.notice} if state.notice else {}
    if isinstance(state, Idle):
        return owed
    saved: dict[str, Any] = {"mode": _NAMES[type(state)], **_fields(state), **owed}
    if state.session:
        saved["session"] = state.session
    return saved


def as_saved(state: State, saved: Mapping[str, Any]) -> State:
    """`state` as it comes back from its saved form `saved` (`to_dict(state)`). Every mode keeps
    all it holds, so that is `state` itself, read back only where something is left out: an idle
    conversation keeps nothing but its notice, and a language menu may hold one as its resume."""
    return from_dict(saved) if isinstance(state, (Idle, ChoosingLanguage)) else state


def _fields(state: State) -> dict[str, Any]:
    """What each mode keeps, under the keys the bot has always written."""
    if isinstance(state, ChoosingLanguage):
        resume = {"resume": to_dict(state.resume)} if state.resume is not None else {}
        first = {"first": list(state.first)} if state.first else {}
        return {"stash": state.stash, **resume, **first}
    if isinstance(state, (ChoosingGroup, ChoosingService)):
        saved: dict[str, Any] = {"pending": dict(state.pending)} if state.pending is not None else {}
        if isinstance(state, ChoosingService):
            saved.update(group=state.group, page=state.page)
        return saved
    if not isinstance(state, Report):
        return {}
    saved = {"service": state.service, "answers": dict(state.answers), "conv": state.conv}
    if isinstance(state, Asking):
        saved["question"] = state.question
    elif isinstance(state, ChoosingPlace):
        saved["options"] = [dict(option) for option in state.options]
    elif isinstance(state, ChoosingStreet):
        saved.update(options=[list(pair) for pair in state.options], number=state.number)
    return saved


def from_dict(saved: Mapping[str, Any]) -> State:
    """The mode a saved conversation is in; an unknown or damaged one is taken as idle."""
    mode = _MODES.get(saved.get("mode") or "", Idle)
    session = saved.get("session") or None
    notice = str(saved.get("notice") or "")
    try:
        state = _build(mode, saved, session)
    except (TypeError, ValueError, KeyError):
        return Idle(notice=notice)
    return replace(state, notice=notice) if notice else state


def _build(mode: type[State], saved: Mapping[str, Any], session: str | None) -> State:
    if mode is ChoosingLanguage:
        resume = saved.get("resume")
        return ChoosingLanguage(session=session, stash=str(saved.get("stash") or ""),
                                resume=from_dict(resume) if resume else None,
                                first=tuple(str(code) for code in saved.get("first") or ()))
    if mode is ChoosingGroup:
        return ChoosingGroup(session=session, pending=saved.get("pending"))
    if mode is ChoosingService:
        return ChoosingService(session=session, group=int(saved.get("group", 0)), page=int(saved.get("page", 0)),
                               pending=saved.get("pending"))
    if issubclass(mode, Report):
        report: dict[str, Any] = {"session": session, "service": str(saved["service"]),
                                  "answers": dict(saved.get("answers") or {}), "conv": str(saved.get("conv") or "")}
        if mode is Asking:
            return Asking(**report, question=str(saved.get("question") or ""))
        if mode is ChoosingPlace:
            return ChoosingPlace(**report, options=tuple(saved.get("options") or ()))
        if mode is ChoosingStreet:
            streets = tuple((street, town) for street, town in saved.get("options") or ())
            return ChoosingStreet(**report, options=streets, number=str(saved.get("number") or ""))
        return Confirming(**report)
    return Idle(session=session)
