"""`assist outbox`: what is waiting, and carrying it by hand when there is no connection."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path

import click

from assist.cli.context import AppContext, pass_app
from sync import reference
from sync.open311 import resolve as resolving
from sync.store import STATES, TransitionError, parse_iso, volunteers
from sync.transfer.export import TransferError, export, import_file, is_export_file
from sync.transfer.paper import import_jsonl

PASSPHRASE_ENV = "ASSIST_EXPORT_PASSPHRASE"


def age(since: datetime, now: datetime) -> str:
    """A short, human age: 45s, 12m, 3h, 2d."""
    seconds = max(0, int((now - since).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@click.group()
def outbox() -> None:
    """The local outbox of submissions waiting for, or sent to, the council."""


@outbox.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@pass_app
def status(app: AppContext, as_json: bool) -> None:
    """One line per state, such as `queued: 3`."""
    counts = app.store.counts()
    if as_json:
        click.echo(json.dumps(counts))
    else:
        for state, count in counts.items():
            click.echo(f"{state}: {count}")


@outbox.command(name="list")
@click.option("--state", "states", multiple=True, type=click.Choice(STATES), help="Only these states (repeatable).")
@click.option("--limit", default=200, show_default=True, help="At most this many rows.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines for machines.")
@pass_app
def list_(app: AppContext, states: tuple[str, ...], limit: int, as_json: bool) -> None:
    """References, states and ages, oldest first. Never anything personal."""
    rows = app.store.listing(states or None, limit)
    now = app.store.clock()
    for row in rows:
        if as_json:
            click.echo(json.dumps(row))
            continue
        line = (f"{reference.display(row['reference'])}  {row['state']:<15} {row['service_code']:<18} "
                f"{row['channel']:<6} {age(parse_iso(row['created_at']), now):>5}")
        if row["service_request_id"]:
            line += (f"  council {row['service_request_id']}: {row['council_status'] or '?'} "
                     f"(updated {age(parse_iso(row['updated_at']), now)} ago)")
        if row["maybe_sent"] and row["state"] == "needs_attention":
            line += "  may be at the council"
        if row["last_error"] and row["state"] in ("queued", "sending", "needs_attention"):
            line += f"  {row['last_error']}"
        click.echo(line)
    if not rows and not as_json:
        click.echo("The outbox is empty.")


@outbox.command(name="export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--passphrase", prompt=True, hide_input=True, confirmation_prompt=True, envvar=PASSPHRASE_ENV,
              help=f"Passphrase to seal the file with (prompted for; or ${PASSPHRASE_ENV}).")
@pass_app
def export_(app: AppContext, file: Path, passphrase: str) -> None:
    """Seal every queued submission into FILE, to carry to a machine that can reach the council.

    They are marked `exported` here and will never be sent from this machine.
    """
    try:
        references = export(app.store, file, passphrase)
    except TransferError as error:
        raise click.ClickException(str(error)) from None
    if not references:
        click.echo("Nothing is queued: no file written.")
        return
    click.echo(f"Exported {len(references)} submissions to {file}. Give the passphrase to the person importing "
               "it separately from the file.")


@outbox.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--passphrase", envvar=PASSPHRASE_ENV,
              help=f"Passphrase of an export file (prompted for; or ${PASSPHRASE_ENV}).")
@pass_app
def import_(app: AppContext, file: Path, passphrase: str | None) -> None:
    """Queue the submissions in FILE here: an export file, or JSON Lines of paper forms.

    Each new reference is printed. Importing the same file twice adds nothing twice.
    """
    try:
        if is_export_file(file):
            if passphrase is None:
                passphrase = click.prompt("Passphrase", hide_input=True)
            result = import_file(app.store, file, passphrase)
            for ref in result.added:
                click.echo(f"queued {reference.display(ref)}")
            for ref, problem in result.problems:
                click.echo(f"not imported {reference.display(ref)}: {problem}", err=True)
            counts = (len(result.added), len(result.already_here), len(result.problems))
        else:
            paper = import_jsonl(app.store, file)
            for line, ref in paper.added:
                click.echo(f"line {line}: queued {ref}")
            for line, ref in paper.already_here:
                click.echo(f"line {line}: already here as {ref}")
            for line, problem in paper.errors:
                click.echo(f"line {line}: not imported: {problem}", err=True)
            counts = (len(paper.added), len(paper.already_here), len(paper.errors))
    except (TransferError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    click.echo("{} added, {} already here, {} not imported.".format(*counts))
    if counts[2]:
        raise SystemExit(1)


@outbox.command()
@click.argument("ref")
@click.option("--reason", required=True, help="Why, kept in the submission's history.")
@pass_app
def cancel(app: AppContext, ref: str, reason: str) -> None:
    """Cancel a submission that has not gone (queued, or needing attention), with a reason.

    Recorded in the audit log as done by `cli`."""
    try:
        volunteers.cancel(app.store, volunteers.OPERATOR, ref, reason)
    except (TransitionError, ValueError) as error:
        raise click.ClickException(f"{ref}: cannot be cancelled ({error})") from None
    click.echo(f"cancelled {shown_ref(ref)}")


@outbox.command()
@click.argument("ref")
@click.option("--note", required=True, help="What was checked or corrected, kept in the history.")
@pass_app
def requeue(app: AppContext, ref: str, note: str) -> None:
    """Send a submission that needs attention again, once the council's reason is dealt with.

    Recorded in the audit log as done by `cli`."""
    try:
        volunteers.resend(app.store, volunteers.OPERATOR, ref, note)
    except TransitionError as error:
        raise click.ClickException(f"{ref}: cannot be sent again ({error})") from None
    click.echo(f"queued {shown_ref(ref)} again")


def shown_ref(ref: str) -> str:
    """A reference as people read it (`KSK-7Q4M-2P9X`), or as typed if it is not one."""
    canonical = reference.parse(ref)
    return reference.display(canonical) if canonical else ref


def when(text: str | None) -> str:
    """A stored time as staff read it: 2026-11-24 09:00:05 (always UTC, as stored)."""
    return f"{parse_iso(text):%Y-%m-%d %H:%M:%S}" if text else "-"


@outbox.command()
@click.argument("ref")
@pass_app
def show(app: AppContext, ref: str) -> None:
    """One submission: its state, attempts, what the sync worker did with it (attempts, searches
    at the council and what they found) and its status history, times in UTC. Never anything
    personal: no description, contact details or place, and not the council's notes to the resident."""
    found = app.store.outline(ref)
    if found is None:
        raise click.ClickException(f"{ref}: no submission with this reference here")
    shown = reference.display(found["reference"])
    state = found["state"]
    if state == "needs_attention":
        state += (" (maybe sent: yes; look for it at the council, then `assist outbox resolve`)"
                  if found["maybe_sent"] else " (maybe sent: no)")
    lines = [f"{shown}  {found['service_code']} ({found['channel']}), to back office {found['backoffice']}; "
             "times in UTC",
             f"state:       {state}",
             f"saved:       {when(found['created_at'])}",
             f"updated:     {when(found['updated_at'])}",
             f"attempts:    {found['attempts']} (first sent {when(found['first_sent_at'])})"]
    if found["service_request_id"]:
        lines.append(f"council id:  {found['service_request_id']}, status {found['council_status'] or '?'} "
                     f"(accepted {when(found['accepted_at'])})")
    if found["last_error"]:
        lines.append(f"last error:  {found['last_error']}")
    asked = app.store.last_resolution(found["reference"])
    if asked:
        outcome = asked["outcome"] or "waiting for the sync worker to check it"
        lines.append(f"resolution:  council id {asked['council_id']}, asked by {asked['requested_by']} at "
                     f"{when(asked['requested_at'])}: {outcome}" + (f": {asked['reason']}" if asked["reason"] else ""))
    lines.append("events:")
    lines += [f"  {when(event['at'])}  {event['kind']:<14} {event['detail'] or ''}".rstrip()
              for event in found["events"]] or ["  none"]
    lines.append("history:")
    lines += [f"  {when(entry['at'])}  {entry['status']:<16} {entry['source']:<8} {entry['notes'] or ''}".rstrip()
              for entry in found["history"]]
    click.echo("\n".join(lines))


@outbox.command(name="resolve")
@click.argument("ref")
@click.option("--council-id", help="It is at the council under this id: check it there and adopt it.")
@click.option("--not-at-council", is_flag=True, help="It is not at the council: queue it to be sent again.")
@click.option("--force", is_flag=True, help="With --council-id: adopt it though the council's request differs "
                                            "(another service, or no reference of ours in its description).")
@click.option("--note", default="", help="With --not-at-council: what was checked, kept in the history.")
@pass_app
def resolve_(app: AppContext, ref: str, council_id: str | None, not_at_council: bool, force: bool, note: str) -> None:
    """Settle a submission that needs attention and may already be at the council, instead of
    sending it again (which could make a duplicate): it is there under the council's id
    (checked at the council first), or it is not there and is queued again.

    Recorded in the audit log as done by `cli`."""
    if (council_id is None) == (not not_at_council):
        raise click.UsageError("Give exactly one of --council-id ID or --not-at-council.")
    if force and council_id is None:
        raise click.UsageError("--force goes with --council-id only.")
    shown = shown_ref(ref)
    try:
        if council_id is None:  # --not-at-council
            volunteers.resolve_not_at_council(app.store, volunteers.OPERATOR, ref, note)
            click.echo(f"queued {shown} again: it is not at the council, so it will be sent as a new request")
            return
        status = asyncio.run(resolving.adopt(app.store, app.settings, volunteers.OPERATOR, ref, council_id,
                                             force=force))
    except resolving.Refused as refusal:
        hint = " If you are sure it is this request, run it again with --force." if refusal.mismatch else ""
        raise click.ClickException(f"{shown}: not resolved: {refusal}.{hint}") from None
    except resolving.Unreachable as error:
        raise click.ClickException(f"{shown}: not resolved, nothing was changed: {error}. "
                                   "Try again once the council can be reached.") from None
    except (TransitionError, ValueError) as error:
        raise click.ClickException(f"{shown}: not resolved ({error})") from None
    click.echo(f"{shown} is at the council as {council_id.strip()} (status {status}): accepted")
