"""`assist sms`: the SMS channel's web service, and a terminal simulator of a resident's phone.

    assist sms serve [--host 127.0.0.1 --port 8312]
    assist sms chat [--from +447700900123]

`serve` refuses to start without `twilio.auth_token` and `twilio.public_url` (it could not check
a single signature), naming what is missing, with the configuration error's exit code (3). It
stops cleanly on SIGTERM and Ctrl+C: uvicorn finishes the requests in hand and the store is closed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets

import click

from assist.cli import ConfigFailure
from assist.cli.context import AppContext, pass_app
from assist.serving import run_until_signalled

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8312


def server_config(app, host: str, port: int, **options):
    """The uvicorn settings `serve` runs with (one worker, uvicorn's access log on), and `options`
    of uvicorn.Config: the SMS bench serves both its servers with these too."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, lifespan="on", log_level="info", timeout_graceful_shutdown=5,
                          server_header=False, **options)


@click.group()
def sms() -> None:
    """The SMS channel: Twilio's webhooks, and a simulator to try it from a terminal."""


@sms.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535))
@pass_app
def serve(app: AppContext, host: str, port: int) -> None:
    """Serve Twilio's webhooks: POST /sms/inbound, POST /sms/status, GET /healthz."""
    twilio = app.settings.twilio
    missing = [name for name, value in (("twilio.auth_token", twilio.auth_token),
                                         ("twilio.public_url", twilio.public_url)) if not value]
    if missing:
        variables = ", ".join("ASSIST_" + name.upper().replace(".", "__") for name in missing)
        raise ConfigFailure(f"cannot start the SMS service: {' and '.join(missing)} "
                            f"{'is' if len(missing) == 1 else 'are'} not set (in the config file, or {variables})")
    import uvicorn

    from sms.app import create_app

    # The store is opened here, before serving, so that a key or store problem stops the service
    # with one line and its exit code rather than a failed start-up inside uvicorn.
    server = uvicorn.Server(server_config(create_app(app.settings, store=app.store, own_process=True), host, port))
    click.echo(f"SMS service on http://{host}:{port}/ for {twilio.public_url.rstrip('/')}/sms/inbound", err=True)
    if not run_until_signalled(server):
        raise click.ClickException(f"the SMS service did not start on {host}:{port}")

@sms.command()
@click.option("--from", "sender", default="+447700900123", show_default=True,
              help="The phone number to text from (a UK mobile, as Twilio gives it).")
@pass_app
def chat(app: AppContext, sender: str) -> None:
    """Text the bot from this terminal, through the same signed webhook Twilio uses."""
    import phonenumbers

    try:
        parsed = phonenumbers.parse(sender, "GB")
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_possible_number(parsed):
        raise click.ClickException(f"{sender} is not a phone number; give one like +447700900123")
    sender = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    try:
        asyncio.run(_chat(app, sender))
    except KeyboardInterrupt:
        click.echo()


async def _chat(app: AppContext, sender: str) -> None:
    import logging

    from sms.app import create_app
    from sms.simulator import SIMULATOR_URL, Simulator
    from sync.texting.segments import segments_label

    if logging.getLogger().level > logging.DEBUG:  # the conversation is on screen; keep the log quiet
        logging.getLogger("sms").setLevel(logging.WARNING)
    settings = app.settings
    token = settings.twilio.auth_token or secrets.token_hex(16)
    public_url = settings.twilio.public_url or SIMULATOR_URL
    simulated = dataclasses.replace(settings, twilio=dataclasses.replace(settings.twilio, auth_token=token,
                                                                          public_url=public_url))
    application = create_app(simulated, store=app.store)
    phone = Simulator(application, auth_token=token, public_url=public_url, sender=sender)
    click.echo(f"Texting {settings.council.name} as {sender}. Type a message and press Enter; "
               "an empty line or Ctrl+D ends.")
    try:
        while True:
            try:
                line = await asyncio.to_thread(input, "you> ")
            except EOFError:
                click.echo()
                break
            if not line.strip():
                break
            exchange = await phone.send(line)
            if exchange.status != 200:
                click.echo(f"   (the service answered {exchange.status})")
            elif not exchange.texts:
                click.echo("   (no reply)")
            for text in exchange.texts:
                lines = text.split("\n")
                click.echo(f"bot> {lines[0]}")
                for more in lines[1:]:
                    click.echo(f"     {more}")
                click.echo(click.style(f"     [{segments_label(text)}]", dim=True))
    finally:
        await phone.aclose()
        application.state.sms.close()
