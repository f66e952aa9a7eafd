"""After a status check of a request the council has: "It is not fixed" and "Add a comment" save a
follow-up for the worker to send; a request not at the council offers neither, and a comment on
a closed one is explained."""

from __future__ import annotations

import pytest

from kiosk.screens.followup import FollowUpScreen, FollowUpSentScreen
from kiosk.screens.status import RequestStatusScreen
from sync.store.followups import FollowUps
from tests.helpers import draft
from tests.kiosk.kiosk_support import keys, tap, type_in, words

#: Driven through a Pilot: seconds a test on a shared machine.
pytestmark = pytest.mark.slow


def accepted(store) -> str:
    saved = store.enqueue(draft())
    [item] = [claimed for claimed in store.claim("w") if claimed.id == saved.id]
    store.mark_sending(item.id, "w")
    store.mark_accepted(item.id, "w", "17")
    return saved.display_reference


async def check(pilot, reference: str) -> None:
    await keys(pilot, "1", "enter", "3")
    await type_in(pilot, reference, "enter")
    assert isinstance(pilot.app.screen, RequestStatusScreen)


async def test_it_is_not_fixed_with_a_short_comment_is_saved_for_the_council(make_app, store):
    reference = accepted(store)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await check(pilot, reference)
        await tap(pilot, app.screen.query_one("#not-fixed"))
        assert isinstance(app.screen, FollowUpScreen)
        await type_in(pilot, "The hole is back", "enter")
        assert isinstance(app.screen, FollowUpSentScreen)
        assert f"We will tell the council that {reference} is not fixed." in words(app)
    [row] = FollowUps(store).listing(reference)
    assert (row["kind"], row["channel"], row["state"]) == ("not_fixed", "kiosk", "queued")


async def test_a_comment_on_a_closed_request_is_explained_and_one_not_at_the_council_offers_none(make_app, store):
    reference = accepted(store)
    store.record_status(1, "fixed", None, closed=True)
    waiting = store.enqueue(draft()).display_reference
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await check(pilot, reference)
        await tap(pilot, app.screen.query_one("#comment"))
        await type_in(pilot, "Thanks", "enter")
        assert isinstance(app.screen, FollowUpScreen)
        assert app.screen.query_one("ErrorSummary").messages[0].startswith("This request is closed")
        await keys(pilot, "escape")  # back to the status page, and from it to another reference
        await tap(pilot, app.screen.query_one("#another"))
        app.screen.query_one("#answer").value = waiting
        await keys(pilot, "enter")
        assert isinstance(app.screen, RequestStatusScreen)
        assert not app.screen.query("#not-fixed") and not app.screen.query("#comment")
    assert FollowUps(store).listing(reference) == []
