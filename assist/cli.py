"""`assist`, the one entry point. Subcommand groups are imported only when used, so that
`assist outbox status` on a kiosk does not pay for loading Textual or Starlette."""

from __future__ import annotations

import importlib
import logging
import sys

import click

from assist.context import AppContext
from sync.config import ConfigError, load_settings

#: command name -> "module:attribute" of its click command or group.
COMMANDS = {
    "catalogue": "sync.commands.catalogue:catalogue",
    "config": "sync.commands.config:config",
    "council": "council.commands:council",
    "demo": "assist.demo:demo",
    "gazetteer": "sync.commands.gazetteer:gazetteer",
    "kiosk": "kiosk.commands:kiosk",
    "outbox": "sync.commands.outbox:outbox",
    "report": "sync.commands.report:report",
    "sms": "sms.commands:sms",
    "store": "sync.commands.store:store",
    "sync": "sync.commands.sync:sync_group",
    "volunteer": "sync.commands.volunteer:volunteer",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module_name, attribute = COMMANDS[name].split(":")
        return getattr(importlib.import_module(module_name), attribute)


def configure_logging(verbose: bool = False) -> None:
    """How every command logs: to standard error, INFO (DEBUG with --verbose). The SMS bench
    logs the same way, so that it measures the service as it runs."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if not verbose:  # one line per request is the worker's to log, with its reference
        logging.getLogger("httpx").setLevel(logging.WARNING)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="ASSIST_CONFIG",
              help="TOML configuration file (default: $ASSIST_CONFIG, else built-in defaults).")
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail to standard error.")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """assist: council requests from library kiosks and text messages, kept safe offline."""
    configure_logging(verbose)
    try:
        settings = load_settings(config_path)
    except ConfigError as error:
        raise click.ClickException(f"configuration error: {error}") from None
    ctx.obj = AppContext(settings)
    ctx.call_on_close(ctx.obj.close)


def main() -> None:
    cli(prog_name="assist")
