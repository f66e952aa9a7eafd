"""Resolving a request that needs attention and may already be at the council: adopt the id
staff found there, once the council confirms it is this request.

A submission whose answer was lost is never sent again by hand (it could make a duplicate);
staff look for it at the council and give its id. That id is checked before it is adopted: the
council must know it, for the same service, and where it returns a description, that description
must carry our reference (every request we send does). The check is the same whoever asks:

    await adopt(store, settings, volunteer, reference, council_id, force=...)  # the command line
    await check_pending(store, clients)   # the sync worker, each tick: what a supervisor asked at
                                          # the kiosk (volunteers.ask_to_resolve), which never calls out

"It is not at the council" needs no check: see volunteers.resolve_not_at_council.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from sync import reference as reference_module
from sync.config import Settings
from sync.open311.client import Open311Client
from sync.open311.formats import as_text
from sync.open311.outcomes import Transient, Unauthorised
from sync.store import Store, TransitionError, audit, volunteers

log = logging.getLogger(__name__)


class Refused(TransitionError):
    """The council's answer does not let the id be adopted. `mismatch` when the request exists
    but differs from ours (staff may still insist with --force; `status` is then the council's);
    the message says what differs, never what the resident wrote."""

    def __init__(self, message: str, *, mismatch: bool = False, status: str | None = None) -> None:
        super().__init__(message)
        self.mismatch, self.status = mismatch, status


class Unreachable(Exception):
    """The council could not be asked just now: nothing was changed."""


@dataclass(frozen=True)
class Target:
    """The submission being resolved, as far as the check needs it."""

    reference: str
    state: str
    service_code: str
    backoffice: str
    council_code: str = ""  # the council's code for the service, where its catalogue has another


    @property
    def shown(self) -> str:
        return reference_module.display(self.reference)

    @classmethod
    def of(cls, store: Store, reference: str) -> "Target":
        found = store.outline(reference)
        if found is None:
            raise TransitionError(f"no submission with reference {reference}")
        return cls(found["reference"], found["state"], found["service_code"], found["backoffice"],
                   store.catalogue().council_code(found["service_code"]))


async def check(client: Open311Client, target: Target, council_id: str) -> str:
    """The council's status of request `council_id` if it is `target`; else Refused (with
    `mismatch` when it exists but differs) or Unreachable."""
    council_id = council_id.strip()
    if not council_id:
        raise Refused("the council's id is empty")
    if target.state != "needs_attention":
        raise Refused(f"{target.shown} is {target.state}: only a request that needs attention can be resolved")
    try:
        record = await client.request(council_id)
    except Transient as error:
        raise Unreachable(f"the council ({client.name}) cannot be asked just now: {error.reason}") from None
    except Unauthorised as error:
        raise Unreachable(f"the council ({client.name}) refused our API key: {error}") from None
    if record is None:
        raise Refused(f"the council ({client.name}) has no request {council_id}")
    differences = []
    answered_id = as_text(record.get("service_request_id"))
    if answered_id is not None and answered_id != council_id:
        differences.append(f"the council answered with request {answered_id}")
    service_code = as_text(record.get("service_code"))
    if service_code not in (target.service_code, target.council_code or target.service_code):
        differences.append(f"it is for service {service_code or 'none'}, not {target.service_code}")
    description = as_text(record.get("description"))
    if description and target.reference not in (found := reference_module.find_in(description)):
        carried = ", ".join(reference_module.display(other) for other in found)
        differences.append(f"its description carries reference {carried}, not {target.shown}" if found
                           else f"its description does not carry reference {target.shown}")
    status = (as_text(record.get("status")) or "open").lower()
    if differences:
        raise Refused(f"request {council_id} at the council does not match {target.shown}: "
                      + "; ".join(differences), mismatch=True, status=status)
    return status


def _adopt(store: Store, actor: str, target: Target, council_id: str, status: str, how: str,
           resolution_id: int | None = None) -> None:
    """The change, audited in the same transaction (actor: who asked for it), with the pending
    resolution it answers marked accepted."""
    with audit.audited(store, actor, "resolve", target.shown, f"council id {council_id} adopted ({how})"):
        store.resolve_at_council(target.reference, council_id, council_status=status,
                                 note=f"found at the council as {council_id} (said by {actor}; {how})")
        if resolution_id is not None:
            store.decide_resolution(resolution_id, "accepted")


def _client(settings: Settings, target: Target,
            transport: httpx.AsyncBaseTransport | None) -> Open311Client:
    backoffice = settings.all_backoffices().get(target.backoffice)
    if backoffice is None:
        raise Refused(f"the back office {target.backoffice} that {target.shown} is routed to is not configured here")
    return Open311Client(target.backoffice, backoffice, settings.sync, transport=transport)


async def adopt(store: Store, settings: Settings, volunteer: volunteers.Volunteer, reference: str, council_id: str,
                *, force: bool = False, transport: httpx.AsyncBaseTransport | None = None) -> str:
    """`assist outbox resolve REF --council-id ID`: check the id at the back office the submission
    is routed to and adopt it; returns the council's status. A mismatch is adopted only with
    `force`. Refused and Unreachable leave everything as it was (and are audited)."""
    volunteers.require(store, volunteer, "resolve")
    canonical = reference_module.parse(reference)
    subject = reference_module.display(canonical) if canonical else reference
    council_id = council_id.strip()
    try:
        target = Target.of(store, reference)
        client = _client(settings, target, transport)
        try:
            status, how = await check(client, target, council_id), "checked at the council"
        except Refused as refusal:
            if not (force and refusal.mismatch):
                raise
            status, how = refusal.status or "open", f"forced: {refusal}"
        finally:
            await client.aclose()
    except TransitionError as refusal:
        audit.record(store, volunteer.name, "resolve", "refused", subject, str(refusal))
        raise
    except Unreachable as error:
        audit.record(store, volunteer.name, "resolve", "failed", subject, str(error))
        raise
    _adopt(store, volunteer.name, target, council_id, status, how)
    log.info("%s resolved: the council's id %s adopted by %s", target.shown, council_id, volunteer.name)
    return status


async def check_pending(store: Store, clients: Mapping[str, Open311Client]) -> int:
    """Check each resolution a supervisor asked for at the kiosk, as the command line does, and
    record the outcome: adopted, or refused with the reason the dashboard shows. One the council
    cannot be asked about now stays pending for the next tick. `clients`: the worker's, by back
    office name. Returns how many were decided."""
    decided = 0
    for pending in store.pending_resolutions():
        target = Target(pending["reference"], pending["state"], pending["service_code"], pending["backoffice"],
                        store.catalogue().council_code(pending["service_code"]))
        council_id, actor = pending["council_id"], pending["requested_by"]
        try:
            client = clients.get(target.backoffice)
            if client is None:
                raise Refused(f"the back office {target.backoffice} that {target.shown} is routed to is not "
                              "configured here")
            status = await check(client, target, council_id)
        except Unreachable as error:
            log.warning("resolution of %s not checked yet: %s", target.shown, error)
            continue
        except Refused as refusal:
            store.decide_resolution(pending["id"], "refused", str(refusal))
            audit.record(store, actor, "resolve", "refused", target.shown, f"council id {council_id}: {refusal}")
            log.warning("resolution of %s refused: %s", target.shown, refusal)
        else:
            try:
                _adopt(store, actor, target, council_id, status, "checked at the council by the sync worker",
                       resolution_id=pending["id"])
                log.info("%s resolved: the council's id %s adopted (asked by %s)", target.shown, council_id, actor)
            except TransitionError as refusal:  # it moved on meanwhile (audited by _adopt)
                store.decide_resolution(pending["id"], "refused", str(refusal))
        decided += 1
    return decided
