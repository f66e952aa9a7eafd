"""Submissions made with a volunteer's help: recorded on this kiosk, told to the council without
the volunteer's name unless configured."""

from __future__ import annotations

import pytest

from sync import reference
from sync.open311.worker import compose_description
from tests.helpers import DESCRIPTION, draft
from tests.sync.open311.worker_support import API_KEY, council_requests, drain, make

NOTE = "Submitted at Central Library with help from a volunteer."


def assisted(**changes):
    return draft(assisted_by="Sam", assist_consent="volunteer_types", **changes)


def columns(store, ref):
    return store.db.conn.execute("SELECT assisted_by, assist_consent FROM submissions WHERE reference = ?",
                                 (ref,)).fetchone()


def test_who_helped_and_what_the_resident_agreed_to_are_kept_with_the_submission(store):
    helped = store.enqueue(assisted(idempotency_key="a")).reference
    typed_alone = store.enqueue(draft(assisted_by="Ravi", assist_consent="resident_types", idempotency_key="b"))
    unhelped = store.enqueue(draft(idempotency_key="c")).reference
    assert columns(store, helped) == ("Sam", "volunteer_types")
    assert columns(store, typed_alone.reference) == ("Ravi", "resident_types")
    assert columns(store, unhelped) == (None, None)


@pytest.mark.parametrize("changes", [{"assisted_by": "Sam"}, {"assist_consent": "resident_types"},
                                     {"assisted_by": "Sam", "assist_consent": "yes"}])
def test_help_without_the_residents_answer_or_with_an_unknown_one_is_refused(store, changes):
    with pytest.raises(ValueError, match="resident_types, volunteer_types"):
        store.enqueue(draft(**changes))
    assert store.counts()["queued"] == 0


def test_the_council_is_told_a_volunteer_helped_but_not_who(tmp_path, council_server):
    url = council_server(api_key=API_KEY)
    settings, store = make(tmp_path, url)
    helped = store.enqueue(assisted(idempotency_key="a")).reference
    alone = store.enqueue(draft(idempotency_key="b")).reference
    assert drain(store, settings)[0].accepted == 2
    at_council = {r["description"].rsplit(" ", 1)[-1].rstrip("]"): r["description"] for r in council_requests(url)}
    shown = reference.display
    assert at_council[shown(helped)] == (f"[assist reference {shown(helped)}] {DESCRIPTION}\n\n{NOTE}\n\n"
                                         f"[assist reference {shown(helped)}]")
    assert "Sam" not in at_council[shown(helped)]
    assert at_council[shown(alone)] == f"[assist reference {shown(alone)}] {DESCRIPTION}\n\n[assist reference {shown(alone)}]"


def test_the_volunteer_is_named_only_when_configured(tmp_path, council_server):
    url = council_server(api_key=API_KEY)
    settings, store = make(tmp_path, url, extra={"ASSIST_KIOSK__NAME_VOLUNTEER_TO_COUNCIL": "true",
                                                 "ASSIST_KIOSK__LIBRARY_NAME": "Brackenford Central Library"})
    store.enqueue(assisted())
    drain(store, settings)
    [request] = council_requests(url)
    assert "\n\nSubmitted at Brackenford Central Library with help from Sam (volunteer).\n\n" in request["description"]


def test_a_long_description_is_shortened_not_the_note_or_the_reference(tmp_path, council_server):
    text = compose_description("x" * 5000, "K7Q4MBXP9Z", NOTE)
    assert len(text) == 4000 and text.endswith(f"x…\n\n{NOTE}\n\n[assist reference K7Q-4MB-XP9Z]")
    assert compose_description("", "K7Q4MBXP9Z", NOTE) == f"{NOTE}\n\n[assist reference K7Q-4MB-XP9Z]"

    url = council_server(api_key=API_KEY)
    settings, store = make(tmp_path, url)
    ref = store.enqueue(assisted(description="The pavement is broken. " * 200)).reference
    assert drain(store, settings)[0].accepted == 1
    [request] = council_requests(url)
    assert len(request["description"]) == 4000
    assert request["description"].endswith(f"…\n\n{NOTE}\n\n[assist reference {reference.display(ref)}]")
