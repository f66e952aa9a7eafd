"""Resolving a request that may already be at the council, against the reference back office over
loopback: never resent by hand, adopted only once the council confirms the id, or queued again
once staff are sure it is not there. From the command line, or asked at the kiosk and checked by
the sync worker."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from urllib.parse import urlencode

import httpx
import pytest

from sync import reference
from sync.open311 import resolve
from sync.open311.form import request_fields
from sync.open311.worker import Worker
from sync.store import MaybeSent, Store, audit, volunteers
from tests.helpers import draft
from tests.sync.open311.worker_support import API_KEY, council_requests, drain, make

SUPERVISOR = volunteers.Volunteer("Priya", "supervisor")
VOLUNTEER = volunteers.Volunteer("Sam", "volunteer")


def lost_answer(store: Store, settings, url, *, post: bool = True, **changes) -> tuple[str, str | None]:
    """A submission whose request went out (to the council when `post`) but whose answer was lost,
    given up on as maybe sent: (its reference, the council's id or None)."""
    ref = store.enqueue(draft(**changes)).reference
    [item] = store.claim("w")
    store.mark_sending(item.id, "w")
    council_id = None
    if post:
        answer = httpx.post(f"{url}requests.json", headers={"Content-Type": "application/x-www-form-urlencoded"},
                            content=urlencode(request_fields(item, settings.kiosk) + [("api_key", API_KEY)]))
        council_id = answer.json()[0]["service_request_id"]
    store.mark_needs_attention(item.id, "w", "no answer after sending, and the council could not be searched")
    store.db.conn.execute("UPDATE submissions SET maybe_sent = 1 WHERE id = ?", (item.id,))
    return ref, council_id


OTHER = reference.display(reference.new_reference())  # another kiosk's submission


def post_other(url, service_code="pothole", description=f"Another pothole [assist reference {OTHER}]") -> str:
    """A request at the council that is not ours."""
    answers = {"pothole": {"attribute[size]": "small", "attribute[surface]": "road"},
               "graffiti": {"attribute[offensive]": "no"}}[service_code]
    fields = {"service_code": service_code, "address_string": "1 Mill Lane", "description": description,
              "api_key": API_KEY, **answers}
    return httpx.post(f"{url}requests.json", data=fields).json()[0]["service_request_id"]


def row(store, ref):
    return store.db.conn.execute("SELECT state, maybe_sent, service_request_id, contact FROM submissions "
                                 "WHERE reference = ?", (ref,)).fetchone()


def last_entry(store):
    entry = audit.recent(store, 1)[0]
    return entry.actor, entry.action, entry.outcome, entry.subject, entry.detail


@pytest.fixture
def council(tmp_path, council_server):
    url = council_server(api_key=API_KEY)
    settings, store = make(tmp_path, url)
    yield url, settings, store
    store.close()


def test_a_maybe_sent_request_is_never_sent_again_by_hand(council, run):
    url, settings, store = council
    ref, _ = lost_answer(store, settings, url)
    shown = reference.display(ref)
    for action in (lambda: volunteers.resend(store, VOLUNTEER, ref, "checked"),
                   lambda: volunteers.correct(store, SUPERVISOR, ref, description="new words")):
        with pytest.raises(MaybeSent, match=f"assist outbox resolve {shown} --council-id ID"):
            action()
        assert last_entry(store)[2] == "refused"
    result = run("outbox", "requeue", shown, "--note", "x", extra_env={"ASSIST_STORE__PATH": str(settings.store_path)})
    assert result.exit_code == 1 and "may already be at the council" in result.output
    assert "assist outbox resolve" in result.output
    assert row(store, ref)[:2] == ("needs_attention", 1) and len(council_requests(url)) == 1


class Resolving:
    """`assist outbox resolve ...` on the test's store, pointed at `url` (which a test may change)."""

    def __init__(self, run, settings, url) -> None:
        self.run, self.settings, self.url = run, settings, url

    def __call__(self, *args: str):
        return self.run("outbox", "resolve", *args, extra_env={
            "ASSIST_STORE__PATH": str(self.settings.store_path), "ASSIST_BACKOFFICE__URL": self.url,
            "ASSIST_BACKOFFICE__API_KEY": API_KEY})


@pytest.fixture
def resolving(council, run):
    url, settings, _ = council
    return Resolving(run, settings, url)


def test_the_councils_id_is_adopted_once_the_council_confirms_it(council, resolving):
    url, settings, store = council
    ref, council_id = lost_answer(store, settings, url)
    shown = reference.display(ref)
    result = resolving(shown, "--council-id", council_id)
    assert result.exit_code == 0, result.output
    assert f"{shown} is at the council as {council_id} (status open): accepted" in result.output
    assert row(store, ref) == ("accepted", 0, council_id, None)  # and the contact details purged
    assert store.lookup(ref).history[-1].status == "accepted"
    assert store.outline(ref)["events"][-1]["kind"] == "resolved"
    assert last_entry(store)[:3] == ("cli", "resolve", "ok") and council_id in last_entry(store)[4]
    assert drain(store, settings)[0].handled == 0 and len(council_requests(url)) == 1  # never sent twice


def test_an_id_for_another_request_is_refused_saying_what_differs_unless_forced(council, resolving):
    url, settings, store = council
    ref, _ = lost_answer(store, settings, url)
    shown = reference.display(ref)
    graffiti = post_other(url, "graffiti", "Tags on the bridge")
    other = post_other(url)
    result = resolving(shown, "--council-id", graffiti)
    assert result.exit_code == 1
    assert f"request {graffiti} at the council does not match {shown}: it is for service graffiti, not pothole; " \
           f"its description does not carry reference {shown}" in result.output
    assert "Tags on the bridge" not in result.output and "--force" in result.output
    assert f"carries reference {OTHER}, not {shown}" in resolving(shown, "--council-id", other).output
    assert row(store, ref)[:2] == ("needs_attention", 1) and last_entry(store)[:3] == ("cli", "resolve", "refused")

    forced = resolving(shown, "--council-id", other, "--force")
    assert forced.exit_code == 0 and row(store, ref)[:3] == ("accepted", 0, other)
    assert "forced" in last_entry(store)[4]


def test_an_unknown_id_or_an_unreachable_council_changes_nothing(council, resolving):
    url, settings, store = council
    ref, _ = lost_answer(store, settings, url)
    shown = reference.display(ref)
    unknown = resolving(shown, "--council-id", "99999", "--force")
    assert unknown.exit_code == 1 and "the council (default) has no request 99999" in unknown.output
    resolving.url = "http://127.0.0.1:9/"  # nothing listens there
    away = resolving(shown, "--council-id", "1")
    assert away.exit_code == 1 and "nothing was changed" in away.output and "cannot be asked just now" in away.output
    assert "Traceback" not in away.output
    assert row(store, ref)[:2] == ("needs_attention", 1) and last_entry(store)[:3] == ("cli", "resolve", "failed")


def test_not_at_the_council_queues_it_again_and_it_is_sent(council, resolving):
    url, settings, store = council
    ref, _ = lost_answer(store, settings, url, post=False)
    shown = reference.display(ref)
    result = resolving(shown, "--not-at-council", "--note", "council searched by phone")
    assert result.exit_code == 0 and f"queued {shown} again" in result.output
    assert row(store, ref)[:2] == ("queued", 0) and store.take_request("sync_now")
    assert store.lookup(ref).history[-1].notes == \
        "not at the council (said by cli); sent again: council searched by phone"
    assert store.outline(ref)["events"][-1]["detail"] == "not at the council: queued again"
    assert last_entry(store)[:3] == ("cli", "resolve", "ok")
    assert drain(store, settings)[0].accepted == 1 and len(council_requests(url)) == 1


def test_resolve_needs_exactly_one_way_and_a_request_that_needs_attention(council, resolving):
    url, settings, store = council
    ref = store.enqueue(draft()).reference
    shown = reference.display(ref)
    for args in ((), ("--council-id", "1", "--not-at-council"), ("--not-at-council", "--force")):
        result = resolving(shown, *args)
        assert result.exit_code == 2 and ("exactly one" in result.output or "--force goes with" in result.output)
    for args in (("--council-id", "1"), ("--not-at-council",)):
        result = resolving(shown, *args)
        assert result.exit_code == 1 and f"{shown} is queued: only a request that needs attention can be resolved" \
            in result.output
    assert row(store, ref)[0] == "queued" and "no submission" in resolving("AAA-AAA-AAAA", "--not-at-council").output


def test_a_supervisors_resolution_at_the_kiosk_is_checked_by_the_worker(council):
    url, settings, store = council
    ref, council_id = lost_answer(store, settings, url)
    wrong = post_other(url, "graffiti", "Tags on the bridge")
    with pytest.raises(volunteers.NotAllowed):
        volunteers.ask_to_resolve(store, VOLUNTEER, ref, council_id)
    assert store.pending_resolutions() == []

    async def tick(url_now=url):
        """What the worker's round does: check_pending with the worker's own clients."""
        worker = Worker(store, replace(settings, backoffice=replace(settings.backoffice, url=url_now)))
        try:
            return await resolve.check_pending(store, worker.clients)
        finally:
            await worker.aclose()

    volunteers.ask_to_resolve(store, SUPERVISOR, ref, wrong)
    assert store.take_request("sync_now") and store.last_resolution(ref)["outcome"] is None
    assert asyncio.run(tick("http://127.0.0.1:9/")) == 0  # unreachable: it stays pending
    assert asyncio.run(tick()) == 1
    refused = store.last_resolution(ref)
    assert refused["outcome"] == "refused" and "it is for service graffiti, not pothole" in refused["reason"]
    assert row(store, ref)[:2] == ("needs_attention", 1) and last_entry(store)[:3] == ("Priya", "resolve", "refused")

    volunteers.ask_to_resolve(store, SUPERVISOR, ref, council_id)
    assert asyncio.run(tick()) == 1 and store.last_resolution(ref)["outcome"] == "accepted"
    assert row(store, ref)[:3] == ("accepted", 0, council_id) and last_entry(store)[:3] == ("Priya", "resolve", "ok")
    assert [event["kind"] for event in store.outline(ref)["events"]] == [
        "resolve_asked", "resolve_refused", "resolve_asked", "resolved"]
    assert asyncio.run(tick()) == 0


def test_not_at_the_council_from_the_kiosk_is_for_supervisors_and_acts_at_once(store):
    ref = store.enqueue(draft()).reference
    [item] = store.claim("w")
    store.mark_sending(item.id, "w")
    store.mark_needs_attention(item.id, "w", "400: size is required")
    with pytest.raises(volunteers.NotAllowed):
        volunteers.resolve_not_at_council(store, VOLUNTEER, ref)
    volunteers.resolve_not_at_council(store, SUPERVISOR, ref)
    assert store.lookup(ref).state == "queued" and last_entry(store)[:3] == ("Priya", "resolve", "ok")
