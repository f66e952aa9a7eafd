"""`assist fleet`: the council's view of its kiosks, and a kiosk's enrolment with it.

On the council's servers (fleet/):
    assist fleet add-kiosk DEVICE_ID --library "Central Library" --hours "Mon-Fri 09:00-17:30; Sat 10:00-16:00"
    assist fleet update-kiosk DEVICE_ID [--library "..."] [--hours "..."]   (its enrolment left as it is)
    assist fleet revoke DEVICE_ID
    assist fleet remove-kiosk DEVICE_ID      (one revoked or never enrolled; its take-up events stay)
    assist fleet list [--json]
    assist fleet add-staff NAME / remove-staff NAME       (who may sign in to the fleet page)
    assist fleet serve [--host 127.0.0.1 --port 8313]
On a kiosk (sync/fleet/):
    assist fleet enrol --url https://fleet.council.example --code CODE
    assist fleet status [--json]
"""

from __future__ import annotations

import asyncio
import json
from contextlib import contextmanager
from typing import Iterator

import click

from assist.cli.context import AppContext, pass_app
from assist.serving import run_until_signalled

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8313


@contextmanager
def refusals_plainly() -> Iterator[None]:
    """What the fleet refuses (a kiosk enrolled already, hours that cannot be read, a name taken...),
    as one line for the operator and exit 1."""
    from fleet.hours import HoursError
    from fleet.registry import Refused

    try:
        yield
    except (Refused, HoursError) as error:
        raise click.ClickException(str(error)) from None


@click.group()
def fleet() -> None:
    """Every kiosk in view: enrolment, heartbeats and take-up events (docs/fleet.md)."""


@fleet.command(name="add-kiosk")
@click.argument("device_id")
@click.option("--library", required=True, help="The library the kiosk stands in, as the council names it.")
@click.option("--hours", required=True, help='Opening hours, like "Mon-Fri 09:00-17:30; Sat 10:00-16:00" '
              "(in fleet.timezone).")
@pass_app
def add_kiosk(app: AppContext, device_id: str, library: str, hours: str) -> None:
    """Add a kiosk and print its one-time enrolment code (valid 24 hours, shown once)."""
    from fleet import registry

    before = registry.kiosk(app.store.db, device_id, app.store.clock())
    with refusals_plainly():
        code = registry.add_kiosk(app.store.db, device_id, library, hours, app.settings.fleet.timezone,
                                  app.store.clock())
    click.echo(f"Kiosk {device_id} ({library}) added. Its one-time enrolment code, valid for 24 hours:\n\n  {code}\n\n"
               f"On the kiosk: assist fleet enrol --url https://YOUR-FLEET-SERVICE --code {code}")
    if before is not None and before.state == "waiting for enrolment":
        click.echo(f"\nKiosk {device_id} was waiting for enrolment: a new code replaces the one given before, which "
                   "no longer works, and the library and hours are those given now. (To change only its library or "
                   f"hours and keep its code: assist fleet update-kiosk {device_id}.)")


@fleet.command(name="update-kiosk")
@click.argument("device_id")
@click.option("--library", help="The library the kiosk stands in, as the council names it.")
@click.option("--hours", help='Opening hours, like "Mon-Fri 09:00-17:30; Sat 10:00-16:00" (in fleet.timezone).')
@pass_app
def update_kiosk(app: AppContext, device_id: str, library: str | None, hours: str | None) -> None:
    """Change a kiosk's library or opening hours (at least one); its enrolment, token and code are kept."""
    from fleet import registry

    with refusals_plainly():
        kiosk = registry.update_kiosk(app.store.db, device_id, app.settings.fleet.timezone, app.store.clock(),
                                      library=library, hours_text=hours)
    click.echo(f"Kiosk {device_id} updated: {kiosk.library}, open {kiosk.hours} ({kiosk.timezone}). "
               f"Its enrolment is as it was ({kiosk.state}).")


@fleet.command()
@click.argument("device_id")
@pass_app
def revoke(app: AppContext, device_id: str) -> None:
    """End a kiosk's token: the service refuses it from now on."""
    from fleet import registry

    with refusals_plainly():
        registry.revoke(app.store.db, device_id, app.store.clock())
    click.echo(f"Kiosk {device_id} revoked: its token is refused from now on.")


@fleet.command(name="remove-kiosk")
@click.argument("device_id")
@pass_app
def remove_kiosk(app: AppContext, device_id: str) -> None:
    """Remove a kiosk not in use (revoked, or never enrolled) from the list, the fleet page and the
    metrics, with its heartbeats; its take-up events stay for `assist report`."""
    from fleet import registry

    before = registry.kiosk(app.store.db, device_id, app.store.clock())
    with refusals_plainly():
        kept = registry.remove_kiosk(app.store.db, device_id)
    waiting = " Its enrolment code no longer works." if before and before.state == "waiting for enrolment" else ""
    click.echo(f"Kiosk {device_id} removed, with its heartbeats.{waiting} Its take-up events ({kept}) stay, "
               "counted by `assist report`.")


@fleet.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@pass_app
def list_(app: AppContext, as_json: bool) -> None:
    """Every kiosk added: its library, state, last heartbeat and flags."""
    from fleet.overview import overview

    rows = overview(app.store.db, app.settings, app.store.clock())
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No kiosks yet: `assist fleet add-kiosk DEVICE_ID --library ... --hours ...` adds one.")
    for row in rows:
        heard = row["last_heard_at"] or "never"
        click.echo(f"{row['device_id']}  {row['library']}  [{row['state']}]  last heard: {heard}  "
                   f"queued: {row['queued'] if row['queued'] is not None else '-'}  "
                   f"needing attention: {row['needs_attention'] if row['needs_attention'] is not None else '-'}")
        for flag in row["flags"]:
            click.echo(f"    ! {flag}")


@fleet.command(name="add-staff")
@click.argument("name")
@pass_app
def add_staff(app: AppContext, name: str) -> None:
    """Add a staff account for the fleet page (asks for its password twice)."""
    from fleet import staff

    password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with refusals_plainly():
        staff.add(app.store.db, name, password, app.store.clock())
    click.echo(f"Staff account {name} added: it signs in at /fleet/sign-in.")


@fleet.command(name="remove-staff")
@click.argument("name")
@pass_app
def remove_staff(app: AppContext, name: str) -> None:
    """Remove a staff account: its sessions end at once."""
    from fleet import staff

    with refusals_plainly():
        staff.remove(app.store.db, name)
    click.echo(f"Staff account {name} removed.")


@fleet.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535))
@pass_app
def serve(app: AppContext, host: str, port: int) -> None:
    """Serve the kiosks' API (POST /fleet/enrol, /fleet/heartbeat, /fleet/events), GET /metrics, and the
    staff's fleet page (/fleet/, signing in at /fleet/sign-in)."""
    import uvicorn

    from assist.cli.sms import server_config
    from sync.config import check_fleet_service

    check_fleet_service(app.settings)  # a time zone that does not exist stops it here, with one line (exit 3)
    try:
        from fleet.app import create_app
    except ModuleNotFoundError as missing:  # prometheus-client for /metrics, jinja2 for the staff's pages
        raise click.ClickException(f"the fleet service needs {missing.name}, in the distribution's [fleet] extra: "
                                   "pip install 'assist-council-kiosk[fleet]'") from None

    # The store is opened first, so that a key or store problem stops the service with one line. The app
    # believes X-Forwarded-* only from fleet.trusted_proxies, itself: uvicorn's own trust (loopback) is off.
    server = uvicorn.Server(server_config(create_app(app.settings, store=app.store), host, port,
                                          proxy_headers=False))
    click.echo(f"Fleet service on http://{host}:{port}/fleet/", err=True)
    if sso_header := app.settings.fleet.sso_header:
        click.echo(f"Staff signed in by the council's single sign-on ({sso_header}) from "
                   f"{', '.join(app.settings.fleet.trusted_proxies)} only", err=True)
    if not run_until_signalled(server):
        raise click.ClickException(f"the fleet service did not start on {host}:{port}")


@fleet.command()
@click.option("--url", required=True, help="The fleet service's base URL (https; plain http only to this machine).")
@click.option("--code", required=True, help="The one-time code `assist fleet add-kiosk` printed for this kiosk.")
@pass_app
def enrol(app: AppContext, url: str, code: str) -> None:
    """Enrol this kiosk with the council's fleet service (its token is kept sealed in the store)."""
    from sync.fleet.client import FleetError
    from sync.fleet.enrolment import enrol as enrol_store
    from sync.fleet.urls import service_url

    device_id = app.settings.device_id
    named_by = "kiosk.device_id" if app.settings.kiosk.device_id else "the host name, as kiosk.device_id is not set"
    try:
        asyncio.run(enrol_store(app.store, url, device_id, code))
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    except FleetError as error:
        if error.status is None:  # not reached: the device id is not in question
            raise click.ClickException(str(error)) from None
        raise click.ClickException(f"{error}\nThis kiosk enrolled as {device_id!r} (from {named_by}); "
                                   "`assist fleet add-kiosk` must have been given the same device id.") from None
    click.echo(f"Enrolled as {device_id} (from {named_by}) with {service_url(url)}. The sync worker sends this "
               f"kiosk's heartbeat every fleet.heartbeat_seconds ({app.settings.fleet.heartbeat_seconds} in this "
               "command's settings).")


def _clock_offset(seconds: float | None) -> str:
    """How far this kiosk's clock is from the service's, as its last answer's Date said."""
    if seconds is None:
        return "not measured yet"
    if abs(seconds) < 2:  # the service's Date header is to the second
        return "right (within a second or two of the fleet service's)"
    return f"{abs(seconds):.0f} seconds {'behind' if seconds > 0 else 'ahead of'} the fleet service's"


@fleet.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@pass_app
def status(app: AppContext, as_json: bool) -> None:
    """On a kiosk: its enrolment, when the fleet service last took its heartbeat, and why not."""
    from sync.fleet import link

    found = link.status(app.store)
    if as_json:
        click.echo(json.dumps(found))
    elif not found["enrolled"]:
        click.echo("Not enrolled with a fleet service (`assist fleet enrol --url ... --code ...`).")
    else:
        click.echo(f"Enrolled as {found['device_id']} with {found['url']} since {found['enrolled_at']}\n"
                   f"last heartbeat taken: {found['last_heartbeat_at'] or 'never'}\n"
                   f"clock: {_clock_offset(found['clock_offset_seconds'])}\n"
                   f"events waiting to be sent: {found['events_waiting']}")
        if found["last_error"]:
            click.echo(f"last problem: {found['last_error']}")
