"""A conversation's saved form (sms/conversation/state.py): every mode round-trips, and what the
bot saved before the modes were classes (a dict with string keys, stale ones included) loads."""

from __future__ import annotations

import json

import pytest

from sms.conversation.state import (
    Asking,
    ChoosingGroup,
    ChoosingLanguage,
    ChoosingPlace,
    ChoosingService,
    ChoosingStreet,
    Confirming,
    Idle,
    as_saved,
    from_dict,
    to_dict,
)

PLACE = {"uprn": "100", "address": "4 Station Road, Oakhurst, BF6 2AD", "postcode": "BF6 2AD", "lat": 51.5, "lon": -0.1}
ANSWERS = {"location": {"address_string": "12 High Street"}, "attribute.size": "small"}

STATES = [
    Idle(),
    ChoosingLanguage(stash="pothole outside 12 High Street"),
    ChoosingLanguage(session="s1", resume=Asking(session="s1", service="pothole", answers=ANSWERS, conv="c",
                                                question="attribute.surface")),
    ChoosingGroup(session="s1", pending={"address_string": "12 High Street"}),
    ChoosingService(session="s1", group=1, page=2),
    Asking(session="s1", service="pothole", answers=ANSWERS, conv="c", question="attribute.surface"),
    ChoosingPlace(session="s1", service="pothole", answers={}, conv="c", options=(PLACE, PLACE)),
    ChoosingStreet(session="s1", service="pothole", answers={}, conv="c", number="4",
                   options=(("Station Road", "Oakhurst"), ("Station Road", "Thornley Green"))),
    Confirming(session="s1", service="pothole", answers=ANSWERS, conv="c"),
]


@pytest.mark.parametrize("state", STATES, ids=lambda state: type(state).__name__)
def test_every_mode_comes_back_from_its_saved_json_as_it_was(state):
    assert from_dict(json.loads(json.dumps(to_dict(state)))) == state


@pytest.mark.parametrize("state", [*STATES, Idle(session="s1"), Idle(session="s1", notice="language_set"),
                                   ChoosingLanguage(session="s1", resume=Idle(session="s1"))],
                         ids=lambda state: type(state).__name__)
def test_the_bots_memory_keeps_a_state_as_the_store_gives_it_back(state):
    """The webhook remembers each number's state between texts (sms/memory.py) without reading
    it back from its saved form: what it keeps must be what a read from the store would give."""
    saved = to_dict(state)
    assert as_saved(state, saved) == from_dict(json.loads(json.dumps(saved)))


def test_an_idle_conversation_is_saved_as_nothing_to_keep():
    assert to_dict(Idle()) == {} and to_dict(Idle(session="s1")) == {}


@pytest.mark.parametrize("saved, expected", [
    ({}, Idle()),
    ({"mode": "confirm", "service": "pothole", "answers": ANSWERS, "conv": "c", "question": "email", "session": "s1",
      "options": [PLACE]}, Confirming(session="s1", service="pothole", answers=ANSWERS, conv="c")),
    ({"mode": "choose_street", "service": "pothole", "answers": {}, "conv": "c", "question": "location",
      "options": [["Station Road", "Oakhurst"]], "number": "4"},
     ChoosingStreet(service="pothole", answers={}, conv="c", options=(("Station Road", "Oakhurst"),), number="4")),
    ({"mode": "language", "stash": "hello", "resume": {"mode": "group", "session": "s1"}, "session": "s1"},
     ChoosingLanguage(session="s1", stash="hello", resume=ChoosingGroup(session="s1"))),
    ({"pending": {"address_string": "12 High Street"}}, Idle()),
], ids=["nothing", "confirm with stale keys", "choose_street", "language resuming a menu", "no mode"])
def test_a_conversation_saved_by_the_old_bot_loads_as_its_mode(saved, expected):
    assert from_dict(saved) == expected


def test_a_damaged_conversation_is_taken_as_idle_not_an_error():
    assert from_dict({"mode": "asking", "answers": {}}) == Idle()  # no service
    assert from_dict({"mode": "services", "group": "first"}) == Idle()
