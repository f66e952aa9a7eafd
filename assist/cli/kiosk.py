"""`assist kiosk`: the library kiosk, full screen, on the configured store."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

import click

from assist.cli.context import pass_app

log = logging.getLogger(__name__)


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


@click.command()
@click.option("--log-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where the kiosk logs for staff (default: kiosk.log beside the store).")
@click.option("--allow-quit", is_flag=True,
              help="Let Ctrl+Q stop the kiosk: for demonstrations and development, never in a library.")
@pass_app
def kiosk(app, log_file: Path | None, allow_quit: bool) -> None:
    """Run the library kiosk full screen. It is left only by a signal (SIGTERM, SIGHUP)."""
    from kiosk.app import KioskApp
    from sync.places import gazetteer

    settings = app.settings
    _log_to_file(log_file or settings.store_path.with_name("kiosk.log"))
    store = app.store  # a store or key problem stops here, as one line and its exit code (assist/cli/__init__.py)
    if gazetteer.count(store.db) == 0:
        log.warning("the gazetteer is empty: residents can only describe places in words "
                    "(load it with `assist gazetteer import`)")
    running = KioskApp(settings, store, handle_signals=True, allow_quit=allow_quit)
    running.run()
    if running.return_code:
        sys.exit(running.return_code)
