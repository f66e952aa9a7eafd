"""`assist volunteer`: the volunteers and staff who may sign in at this kiosk, and what they did."""

from __future__ import annotations

import json
import sys

import click

from assist.cli.context import AppContext, pass_app
from sync.store import audit, iso, volunteers

WHEN = "%Y-%m-%d %H:%M UTC"


@click.group()
def volunteer() -> None:
    """Volunteers and staff who may sign in at this kiosk's "Volunteer" action."""


def _checked(pin: str) -> str:
    try:
        return volunteers.check_pin(pin)
    except volunteers.AccountError as error:
        raise click.UsageError(str(error)) from None


def read_pin() -> str:
    """The new PIN, typed twice at a terminal (hidden), or two lines of standard input otherwise
    (for scripts). Two different PINs, or an unacceptable one, end the command."""
    if sys.stdin.isatty():
        return click.prompt(f"PIN ({volunteers.PIN_MIN_DIGITS} to {volunteers.PIN_MAX_DIGITS} digits)", hide_input=True,
                            confirmation_prompt="The same PIN again", value_proc=_checked)
    first, second = sys.stdin.readline().strip(), sys.stdin.readline().strip()
    if not first or not second:
        raise click.ClickException("Give the PIN twice on standard input, one line each.")
    try:
        volunteers.check_pin(first)
    except volunteers.AccountError as error:
        raise click.ClickException(str(error)) from None
    if first != second:
        raise click.ClickException("The two PINs do not match; nothing was added.")
    return first


@volunteer.command()
@click.argument("name")
@click.option("--role", type=click.Choice(volunteers.ROLES), default="volunteer", show_default=True,
              help="A supervisor may also leave the kiosk for maintenance.")
@pass_app
def add(app: AppContext, name: str, role: str) -> None:
    """Add NAME, with a PIN of 6 to 12 digits asked for twice.

    When standard input is not a terminal, the PIN is read from its first two lines. A name
    already here is refused.
    """
    pin = read_pin()
    try:
        added = volunteers.add(app.store, name, role, pin)
    except volunteers.AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Added {added.name} as a {added.role}. They sign in at the kiosk's Volunteer action with their PIN.")


@volunteer.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines for machines.")
@pass_app
def list_(app: AppContext, as_json: bool) -> None:
    """Names, roles and whether each account is active, locked or disabled. Never a PIN or its hash."""
    found = volunteers.accounts(app.store)
    for account in found:
        if account.disabled_at:
            state = f"disabled since {account.disabled_at:{WHEN}}"
        elif account.locked_until:
            state = f"locked until {account.locked_until:{WHEN}} (too many wrong PINs)"
        else:
            state = "active"
        if as_json:
            click.echo(json.dumps({"name": account.name, "role": account.role, "state": state.split()[0],
                                   "disabled_at": account.disabled_at and iso(account.disabled_at),
                                   "locked_until": account.locked_until and iso(account.locked_until)}))
        else:
            click.echo(f"{account.name:<{volunteers.NAME_MAX}}  {account.role:<10}  {state}")
    if not found and not as_json:
        click.echo("No volunteers yet: add one with `assist volunteer add NAME --role volunteer`.")


@volunteer.command()
@click.argument("name")
@pass_app
def disable(app: AppContext, name: str) -> None:
    """Stop NAME signing in. The account is kept: the audit log refers to it."""
    try:
        changed = volunteers.disable(app.store, name)
    except volunteers.AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Disabled {name}: they can no longer sign in here." if changed else f"{name} was already disabled.")


@volunteer.command(name="audit")
@click.option("--limit", default=50, show_default=True, help="At most this many entries, newest first.")
@pass_app
def audit_(app: AppContext, limit: int) -> None:
    """Who did what here, and whether it was allowed: sign-ins, refusals, staff actions."""
    entries = audit.recent(app.store, limit)
    for entry in entries:
        click.echo(f"{entry.at:%Y-%m-%d %H:%M:%S}  {entry.actor}  {entry.action}  {entry.outcome}"
                   + "".join(f"  {part}" for part in (entry.subject, entry.detail) if part))
    if not entries:
        click.echo("Nothing has been recorded yet.")
