"""`assist`, the one entry point. Subcommand groups are imported only when used, so that
`assist outbox status` on a kiosk does not pay for loading Textual or Starlette.

It is also where every failure an operator can act on becomes one line and an exit code (the
README's "Exit codes"), whichever command met it: commands raise by class (ConfigError,
KeyProblem, StoreError and its kinds) and never print tracebacks of their own. A service under
`Restart=always` then stops with a code its unit can tell apart from a crash.
"""

from __future__ import annotations

import errno
import importlib
import importlib.metadata
import logging
import sqlite3
import sys

import click

from assist.cli.context import AppContext
from sync.config import ConfigError, load_settings
from sync.crypto import KeyProblem
from sync.store.db import StoreError, StoreFull, describe_error, translate_error

#: Exit codes, as the README's "Exit codes" table lists them. Click's own usage errors exit 2.
EXIT_REFUSED = 1  # a refusal the operator can fix (click.ClickException)
EXIT_CONFIG = 3
EXIT_KEY = 4
EXIT_STORE = 5  # busy or locked, damaged, from a newer version, cannot be opened
EXIT_DISK_FULL = 6

#: command name -> "module:attribute" of its click command or group.
COMMANDS = {
    "catalogue": "assist.cli.catalogue:catalogue",
    "config": "assist.cli.config:config",
    "council": "assist.cli.council:council",
    "demo": "assist.cli.demo:demo",
    "fleet": "assist.cli.fleet:fleet",
    "gazetteer": "assist.cli.gazetteer:gazetteer",
    "kiosk": "assist.cli.kiosk:kiosk",
    "outbox": "assist.cli.outbox:outbox",
    "report": "assist.cli.report:report",
    "sms": "assist.cli.sms:sms",
    "store": "assist.cli.store:store",
    "sync": "assist.cli.sync:sync_group",
    "volunteer": "assist.cli.volunteer:volunteer",
}


class Failure(click.ClickException):
    """One line for the operator; each kind below exits with the code that says what it was."""


class ConfigFailure(Failure):
    exit_code = EXIT_CONFIG


class KeyFailure(Failure):
    exit_code = EXIT_KEY


class StoreFailure(Failure):
    exit_code = EXIT_STORE


class DiskFull(Failure):
    exit_code = EXIT_DISK_FULL


def as_failure(error: BaseException) -> Failure | None:
    """The Failure an exception stands for, by class; None for one that is not an operator's to
    fix (a bug, which keeps its traceback)."""
    if isinstance(error, ConfigError):
        return ConfigFailure(f"configuration error: {error}")
    if isinstance(error, KeyProblem):
        return KeyFailure(f"key problem: {error}")
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        error = describe_error(error)  # a log or export file that met the full disk
    if isinstance(error, sqlite3.Error):
        error = translate_error(error) or error  # a constraint or a bad statement stays a bug
    if isinstance(error, StoreError):
        return DiskFull(str(error)) if isinstance(error, StoreFull) else StoreFailure(str(error))
    return None


def version() -> str:
    """The installed distribution's version (whatever it is named on an index), else the
    source tree's."""
    for name in importlib.metadata.packages_distributions().get("assist", []):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    from assist import __version__

    return __version__


def _show_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"assist {version()}")
        ctx.exit()


class LazyGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (ConfigError, KeyProblem, StoreError, sqlite3.Error, OSError) as error:
            failure = as_failure(error)
            if failure is None:
                raise
            raise failure from error

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
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_show_version,
              help="Show the version and exit.")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """assist: council requests from library kiosks and text messages, kept safe offline."""
    configure_logging(verbose)
    settings = load_settings(config_path)  # a ConfigError exits 3, by LazyGroup.invoke
    ctx.obj = AppContext(settings)
    ctx.call_on_close(ctx.obj.close)


def main() -> None:
    cli(prog_name="assist")
