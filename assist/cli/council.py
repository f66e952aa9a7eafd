"""`assist council`: run the reference back office, and do what its staff do.

    assist council serve [--profile NAME --host --port --db PATH --api-key KEY --token-mode ...]
    assist council update ID --status closed --note "Filled the pothole" [--db PATH]
    assist council list [--db PATH]

`serve` stops cleanly on SIGTERM and Ctrl+C: uvicorn finishes the requests in hand, the store
is closed, and the exit code is 0.
"""

from __future__ import annotations

import socket
import sys
from datetime import datetime, timezone

import click

from assist.serving import run_until_signalled
from council.db import STATUSES, CouncilDB, UnknownRequest
from council.profiles import PROFILES

DEFAULT_DB = "council.db"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8311

db_option = click.option("--db", "db_path", default=DEFAULT_DB, show_default=True,
                         type=click.Path(dir_okay=False), help="The back office's own SQLite file.")
rate = click.FloatRange(0.0, 1.0)


@click.group()
def council() -> None:
    """The reference Open311 back office (a test peer for the demo and the tests)."""


def listen(host: str, port: int) -> socket.socket:
    """A listening socket whose connections send small answers at once.

    `socket.create_server` gives a socket of protocol 0, so asyncio does not set TCP_NODELAY on
    the connections it accepts, and uvicorn writes headers and body separately: every answer on a
    kept-alive connection would then wait ~40 ms for the client's delayed ACK. Linux passes the
    listener's TCP_NODELAY on to accepted connections.
    """
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    sock = socket.create_server((host, port), family=family)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


@council.command()
@click.option("--profile", "profile", default="default", show_default=True, type=click.Choice(list(PROFILES)),
              help="The family of real Open311 servers to play (docs/open311-servers.md).")
@click.option("--host", default=DEFAULT_HOST, show_default=True)
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535))
@db_option
@click.option("--api-key", default=None, help="Key every POST must carry (default: none required).")
@click.option("--api-key-file", type=click.File("r", encoding="utf-8"), default=None,
              help="Read the key from this file instead (a systemd credential: `%d/backoffice_api_key`), "
                   "so it is not on the command line for every user to see.")
@click.option("--token-mode", is_flag=True, help="Answer POSTs with a token; the id comes later.")
@click.option("--token-delay", default=1.0, show_default=True, type=click.FloatRange(0.0),
              help="Seconds before a token-mode request gets its service_request_id.")
@click.option("--fail-rate", default=0.0, show_default=True, type=rate,
              help="Share of requests answered 500/503 without doing anything.")
@click.option("--latency", default=0.0, show_default=True, type=click.FloatRange(0.0),
              help="Seconds every answer waits after the request was handled.")
@click.option("--drop-after-commit", default=0.0, show_default=True, type=rate,
              help="Share of creations and posted updates committed and then left unanswered (connection closed).")
@click.option("--seed", default=None, type=int, help="Seed for the fault injection's randomness.")
@click.option("--page-size", default=None, type=click.IntRange(1, 1000),
              help="Page size of GET requests and servicerequestupdates: the default of page_size=, or the "
                   "fixed size under --profile paged  [default: the profile's own, else 50]")
def serve(profile: str, host: str, port: int, db_path: str, api_key: str | None, api_key_file, token_mode: bool,
          token_delay: float, fail_rate: float, latency: float, drop_after_commit: float, seed: int | None,
          page_size: int | None) -> None:
    """Serve Open311 GeoReport v2 at http://HOST:PORT/ (services.json, requests.json, ...)."""
    import uvicorn

    if api_key_file is not None:
        api_key = api_key_file.read().strip()
        if not api_key:  # never quietly serve without a key the operator meant to set
            raise click.BadParameter(f"{api_key_file.name} is empty", param_hint="--api-key-file")

    from council.app import create_app

    app = create_app(db_path, profile=profile, api_key=api_key, token_mode=token_mode, token_delay=token_delay,
                     fail_rate=fail_rate, latency=latency, drop_after_commit=drop_after_commit, seed=seed,
                     page_size=page_size)
    try:
        sock = listen(host, port)
    except OSError as error:
        app.state.db.close()
        raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    bound_port = sock.getsockname()[1]
    faults = ", ".join(f"{name} {value}" for name, value in (
        ("fail-rate", fail_rate), ("latency", latency), ("drop-after-commit", drop_after_commit)) if value)
    click.echo(f"Council back office (Open311 GeoReport v2) at http://{host}:{bound_port}/, store {db_path}, "
               f"profile {profile}{', token mode' if token_mode else ''}"
               f"{', api_key required' if api_key else ', no api_key'}"
               f"{', faults: ' + faults if faults else ''}", err=True)

    config = uvicorn.Config(app, log_level="warning", date_header=False, lifespan="on",
                            timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    try:
        started = run_until_signalled(server, sock)
    finally:
        sock.close()
        app.state.db.close()
    if not started:
        raise click.ClickException("the server did not start")
    click.echo("Council back office stopped.", err=True)


@council.command()
@click.argument("service_request_id")
@click.option("--status", type=click.Choice(STATUSES, case_sensitive=False),
              help="The new status (Open311's open/closed, or FixMyStreet's extended ones).")
@click.option("--note", default="", help="What staff tell the resident (status_notes and the update).")
@db_option
def update(service_request_id: str, status: str | None, note: str, db_path: str) -> None:
    """Change a request's status as back-office staff would, writing an update row."""
    if status is None and not note:
        raise click.UsageError("give --status, --note or both")
    try:
        db = CouncilDB.open_existing(db_path)
    except FileNotFoundError as error:
        raise click.ClickException(str(error)) from None
    try:
        change = db.change_status(service_request_id, status=status.lower() if status else None, note=note,
                                  now=datetime.now(timezone.utc))
    except UnknownRequest:
        raise click.ClickException(f"no request with service_request_id {service_request_id!r} in {db_path}") from None
    finally:
        db.close()
    moved = (f"{change.old_status} -> {change.new_status}" if change.old_status != change.new_status
             else f"{change.new_status} (unchanged)")
    click.echo(f"Request {change.service_request_id} ({change.service_code}): status {moved}"
               f"{'; note: ' + change.note if change.note else ''} [update {change.update_id}]")


@council.command("list")
@db_option
def list_requests(db_path: str) -> None:
    """Print every request, one a line: id, status, service, requested time, description."""
    try:
        db = CouncilDB.open_existing(db_path)
    except FileNotFoundError as error:
        raise click.ClickException(str(error)) from None
    try:
        db.assign_due(datetime.now(timezone.utc))
        rows = db.all_requests()
    finally:
        db.close()
    if not rows:
        click.echo("No requests.", err=True)
    for row in rows:
        ident = row["service_request_id"] or f"(token {row['token']})"
        where = row["address_string"] or row["address_id"] or (
            f"{row['lat']:.5f},{row['long']:.5f}" if row["lat"] is not None else "")
        description = " ".join((row["description"] or "").split())
        if len(description) > 60:
            description = description[:59] + "…"
        click.echo(f"{ident}\t{row['status']}\t{row['service_code']}\t{row['requested_datetime']}\t{where}\t{description}")


if __name__ == "__main__":  # pragma: no cover
    council(sys.argv[1:])
