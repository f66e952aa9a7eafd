"""`assist store`: the operator's custody of the store and its key: check, back up, copy to another
engine, rotate the key."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import click

from assist.cli.context import AppContext, pass_app
from sync.config import mask_url_password
from sync.crypto import sync_directory
from sync.settings import POSTGRES_URLS
from sync.store import check as storecheck
from sync.store import copying, rotation
from sync.store.errors import StoreError


@click.group()
def store() -> None:
    """Check the store, back it up, copy it, rotate its key (see the runbook in the README)."""


@store.command()
@click.option("--full", is_flag=True, help="Run SQLite's integrity_check (slower) instead of quick_check.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@pass_app
def check(app: AppContext, full: bool, as_json: bool) -> None:
    """Integrity, schema version, key, file modes and free space: one line each; exits 1 on a problem."""
    results = storecheck.checks(app.settings, full=full)
    if as_json:
        click.echo(json.dumps([result.__dict__ for result in results]))
    else:
        for result in sorted(results, key=lambda result: result.ok):  # problems first
            click.echo(f"{'ok' if result.ok else 'PROBLEM'}  {result.name}: {result.detail}")
    if not all(result.ok for result in results):
        raise click.exceptions.Exit(1)


@store.command()
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
@pass_app
def backup(app: AppContext, destination: Path) -> None:
    """Copy the store, consistently and while assist runs, into DESTINATION (made with mode 0600).

    The key is not in the copy: back it up apart (see the runbook)."""
    if app.settings.on_postgres:
        raise click.ClickException(f"{app.settings.store_name} is a PostgreSQL database: back it up with pg_dump, "
                                   "keeping the key apart (README: running the council's assist service on PostgreSQL)")
    source = app.settings.store_path
    if not source.is_file():
        raise click.ClickException(f"no store at {source} to back up")
    if destination.exists():
        raise click.ClickException(f"{destination} already exists: give a new file name")
    destination.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    reading = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    copy = sqlite3.connect(destination)
    try:
        reading.backup(copy)
        verdict = copy.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        copy.close()
        reading.close()
    sync_directory(destination.parent)
    if verdict != "ok":
        raise click.ClickException(f"the copy in {destination} failed its check ({verdict}): run `assist store check`")
    click.echo(f"Backed up {source} to {destination}. Keep the key apart from it.")


@store.command(name="rotate-key")
@click.option("--new-key-file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="File of the new key (made, mode 0600, if it does not exist).")
@pass_app
def rotate_key(app: AppContext, new_key_file: Path) -> None:
    """Re-seal everything under a new key; run it again to finish one interrupted.

    Stop the services first. Both keys open the store until it finishes; then only the new one
    does, and store.key_file (or the store_key credential) must be switched to it."""
    done = rotation.rotate(app.store, new_key_file, allow_shared=app.settings.store.allow_shared_key_file)
    resumed = " (an interrupted rotation, finished)" if done.resumed else ""
    click.echo(f"Re-sealed {done.resealed} values under the key in {new_key_file.resolve()}{resumed}.")
    if done.damaged:
        click.echo(f"{done.damaged} values could not be opened with either key and were left as they were "
                   "(see `assist outbox list --state needs_attention`).")
    click.echo(f"Now set store.key_file = \"{new_key_file.resolve()}\" (or put this key where the old one was, "
               "such as the store_key credential), then start the services. The old key no longer opens this "
               "store; keep it only with backups taken before today.")


@store.command(name="copy")
@click.option("--from", "source", required=True, metavar="URL",
              help="The store to copy, read and never changed: sqlite:///PATH or postgresql://USER@HOST/DATABASE.")
@click.option("--to", "destination", required=True, metavar="URL",
              help="Where to copy it: a new SQLite file or an empty PostgreSQL database (migrated first).")
def copy_command(source: str, destination: str) -> None:
    """Copy a whole store to another engine (SQLite to PostgreSQL, or back), sealed values as they are.

    Stop the services first. Run it again to finish a copy interrupted. Each table's rows are
    counted on both sides at the end; exits 1 if any differ. The key is not copied: the copy opens
    with the same key as the original."""
    def progress(table: str, done: int, total: int) -> None:
        click.echo(f"{table}: {done:,} of {total:,} rows")

    try:
        copied = copying.copy_store(source, destination, progress=progress)
    except (copying.CopyError, StoreError) as error:
        raise click.ClickException(str(error)) from None
    if copied.resumed:
        click.echo("Went on with a copy interrupted: rows already there were kept, none written twice.")
    width = max(len(count.table) for count in copied.counts)
    click.echo(f"{'table':<{width}}  {'from':>10}  {'to':>10}")
    for count in copied.counts:
        flag = "" if count.source == count.destination else "  DIFFERS"
        click.echo(f"{count.table:<{width}}  {count.source:>10,}  {count.destination:>10,}{flag}")
    if differing := copied.differing:
        raise click.ClickException(f"{len(differing)} table(s) differ after the copy "
                                   f"({', '.join(count.table for count in differing)}): was a service writing to "
                                   "--from meanwhile? Stop it and run the same command again.")
    click.echo(f"Copied {mask_url_password(source)} to {mask_url_password(destination)}: {copied.written:,} rows "
               "written, every table the same on both sides. Open it with the same key.")
    if destination.startswith(POSTGRES_URLS) or source.startswith(POSTGRES_URLS):
        click.echo("A store on PostgreSQL searches addresses in a SQLite file of its own (store.gazetteer_path), "
                   "which is not copied: load the council's address list with `assist gazetteer import` where "
                   "the copy is used.")
