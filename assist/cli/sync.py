"""`assist sync`: send the outbox to the council and bring its progress back."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from datetime import datetime
from typing import Any, Mapping

import click

from assist.cli.context import AppContext, pass_app
from assist.cli.outbox import age
from sync.open311.paging import paging_from_json
from sync.open311.worker import Worker
from sync.store import iso, parse_iso
from sync.texting import outbound

log = logging.getLogger(__name__)


@click.group(name="sync")
def sync_group() -> None:
    """The worker that sends the outbox to the council's back offices, and what it knows."""


@sync_group.command()
@click.option("--once", is_flag=True, help="Send what is due now, pull statuses back, then exit.")
@pass_app
def run(app: AppContext, once: bool) -> None:
    """Send the outbox whenever the council can be reached; stops cleanly on SIGTERM or Ctrl+C."""
    asyncio.run(_run(app, once))


async def _run(app: AppContext, once: bool) -> None:
    worker = Worker(app.store, app.settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        if once:
            report = await worker.tick()
            click.echo(f"accepted {report.accepted}, awaiting id {report.awaiting}, needs attention "
                       f"{report.needs_attention}, to retry {report.retried} (found after a lost answer: "
                       f"{report.reconciled})")
        else:
            log.info("sync worker %s started; %d back office(s)", worker.owner, len(worker.clients))
            await worker.run(stop)
            log.info("sync worker stopped")
    finally:
        await worker.aclose()


def _when(text: str, now: datetime) -> str:
    """How long ago a stored time was: `12m ago`."""
    return f"{age(parse_iso(text), now)} ago"


def _office_view(state: Mapping[str, Any]) -> dict[str, Any]:
    """One back office's state as `sync status --json` shows it."""
    return {
        "reachable": None if state.get("reachable") is None else bool(state["reachable"]),
        "paused": bool(state.get("paused")), "paused_reason": state.get("paused_reason"),
        "checked_at": state.get("checked_at"), "last_success_at": state.get("last_success_at"),
        "last_error": state.get("last_error"), "last_error_at": state.get("last_error_at"),
        "search": {endpoint: paging.describe() for endpoint, paging in
                   sorted(paging_from_json(state.get("search_mode")).items())},
        "search_proved_at": state.get("search_verified_at"),
        "search_failing_since": state.get("search_failing_since"), "search_error": state.get("search_error"),
    }


@sync_group.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@pass_app
def status(app: AppContext, as_json: bool) -> None:
    """One line per state (`queued: 3`), the oldest waiting, and each back office's state."""
    store = app.store
    now = store.clock()
    counts = store.counts()
    oldest = store.oldest_queued_at()
    states = store.backoffice_states()
    offices = {name: _office_view(states.get(name, {})) for name in app.settings.all_backoffices()}
    fetched = store.catalogue_fetched_at()
    unopenable = {"submissions": store.unopenable(), "texts": outbound.unopenable_count(store)}
    if as_json:
        click.echo(json.dumps({"states": counts, "oldest_queued_at": oldest.isoformat() if oldest else None,
                               "catalogue_fetched_at": fetched.isoformat() if fetched else None,
                               "backoffices": offices, "unopenable": unopenable}))
        return
    for state, count in counts.items():
        click.echo(f"{state}: {count}")
    if any(unopenable.values()):  # damaged rows, or sealed under another key: set aside, not sent
        click.echo(f"cannot be opened with this store's key: {unopenable['submissions']} submission(s) "
                   f"(they need attention), {unopenable['texts']} text(s) (failed, not sent)")
    click.echo(f"oldest waiting: {age(oldest, now) if oldest else 'none'}")
    successes = [office["last_success_at"] for office in offices.values() if office["last_success_at"]]
    click.echo(f"last success: {_when(max(successes), now) if successes else 'never'}")
    errors = [(office["last_error_at"], office["last_error"]) for office in offices.values() if office["last_error_at"]]
    click.echo(f"last error: {_when(max(errors)[0], now) + ': ' + max(errors)[1] if errors else 'none'}")
    click.echo(f"catalogue: {'fetched ' + _when(iso(fetched), now) if fetched else 'bundled (never fetched)'}")
    for name, office in offices.items():
        _echo_office(name, office, now, app.settings.sync.reconcile_give_up_hours)


def _echo_office(name: str, office: Mapping[str, Any], now: datetime, give_up_hours: int) -> None:
    """A back office's lines in `sync status`: whether it answers, and whether its searches work."""
    reach = {True: "reachable", False: "unreachable", None: "not tried yet"}[office["reachable"]]
    paused = f", PAUSED: {office['paused_reason']}" if office["paused"] else ""
    click.echo(f"back office {name}: {reach}{paused}")
    if office["search_failing_since"]:
        click.echo(f"  its searches FAIL since {_when(office['search_failing_since'], now)}: "
                   f"{office['search_error']}. A submission whose answer was lost waits, never sent again "
                   f"blindly; after {give_up_hours} h it needs attention")
    elif office["search_proved_at"]:
        click.echo(f"  its searches work (found a request it accepted {_when(office['search_proved_at'], now)})")


@sync_group.command()
@click.argument("name", required=False)
@pass_app
def resume(app: AppContext, name: str | None) -> None:
    """Resume a back office paused for a bad API key (all of them without NAME), at once."""
    names = [name] if name else list(app.settings.all_backoffices())
    unknown = [item for item in names if item not in app.settings.all_backoffices()]
    if unknown:
        raise click.ClickException(f"no back office named {unknown[0]!r}; known: "
                                   + ", ".join(app.settings.all_backoffices()))
    for item in names:
        app.store.set_backoffice_state(item, paused=False)
    app.store.request("sync_now")
    click.echo(f"resumed {', '.join(names)}; the worker will send at once")
