"""`assist kiosk`: the library kiosk, full screen, on the configured store; `assist kiosk serve`:
the same kiosk in web browsers, one per tab."""

from __future__ import annotations

import importlib.util
import logging
import logging.handlers
import shlex
import sys
from pathlib import Path

import click

from assist.cli.context import AppContext, pass_app

log = logging.getLogger(__name__)

MISSING_EXTRA = ("serving the kiosk to web browsers needs textual-serve, which this installation left out: "
                 "install it with pip install 'assist-council-kiosk[web]'")


def _log_to_file(path: Path) -> None:
    """The terminal is the resident's screen: every log line goes to a file for staff instead."""
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            root.removeHandler(handler)
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    logging.captureWarnings(True)


def _run(app: AppContext, *, web: bool, allow_quit: bool = False) -> None:
    """The kiosk until a signal (or, in a browser tab, until the tab closes)."""
    from kiosk.app import KioskApp
    from sync.places import gazetteer

    App = KioskApp
    if web:
        from kiosk.web_app import WebKioskApp

        App = WebKioskApp
    store = app.store  # a store or key problem stops here, as one line and its exit code (assist/cli/__init__.py)
    if gazetteer.count(store.db) == 0:
        log.warning("the gazetteer is empty: residents can only describe places in words "
                    "(load it with `assist gazetteer import`)")
    running = App(app.settings, store, handle_signals=True, allow_quit=allow_quit)
    running.run()
    if running.return_code:
        sys.exit(running.return_code)


@click.group(invoke_without_command=True)
@click.option("--log-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where the kiosk logs for staff (default: kiosk.log beside the store).")
@click.option("--allow-quit", is_flag=True,
              help="Let Ctrl+Q stop the kiosk: for demonstrations and development, never in a library.")
@click.pass_context
def kiosk(ctx: click.Context, log_file: Path | None, allow_quit: bool) -> None:
    """Run the library kiosk full screen. It is left only by a signal (SIGTERM, SIGHUP).

    `assist kiosk serve` serves it to web browsers instead."""
    if ctx.invoked_subcommand is not None:
        return
    app = ctx.ensure_object(AppContext)
    _log_to_file(log_file or app.settings.store_path.with_name("kiosk.log"))
    _run(app, web=False, allow_quit=allow_quit)


@kiosk.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on: loopback, for a reverse proxy on this machine (docs/kiosk.md).")
@click.option("--port", default=8420, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@pass_app
def serve(app: AppContext, host: str, port: int) -> None:
    """Serve the kiosk to web browsers: each tab its own kiosk, without staff pages, at most
    `kiosk.web_max_sessions` at once. Stops on SIGTERM or Ctrl+C."""
    if importlib.util.find_spec("textual_serve") is None:
        raise click.ClickException(MISSING_EXTRA)
    from kiosk.web import KioskServer

    app.store  # a store or key problem stops here, before any browser is served
    settings = app.settings
    root = click.get_current_context().find_root()
    command = [sys.executable, "-m", "assist"]
    if root.params.get("config_path"):
        command += ["--config", str(Path(root.params["config_path"]).resolve())]
    if root.params.get("verbose"):
        command.append("--verbose")
    command += ["kiosk", "web-session"]
    KioskServer("exec " + shlex.join(command), host=host, port=port, max_sessions=settings.kiosk.web_max_sessions,
                council=settings.council.name, phone=settings.council.phone).serve()


@kiosk.command("web-session", hidden=True)
@pass_app
def web_session(app: AppContext) -> None:
    """One browser tab's kiosk, started by `assist kiosk serve` (its log lines go to the server's)."""
    _run(app, web=True)
