"""The reference back office as a real peer over loopback HTTP, for every test that needs one.

    def test_something(council_server, council_clock):
        url = council_server(token_mode=True, now=council_clock)   # "http://127.0.0.1:PORT/"
        httpx.get(url + "services.json")
        url.db_path, url.app                                        # the store file, the app

`council_server(**options)` takes `create_app`'s keyword options (plus `db_path`, default a
fresh file in tmp_path), starts uvicorn in a background thread on a free port, waits until it
listens and returns the base URL with a trailing slash. Call it more than once for several
servers; all are stopped (and their stores closed) when the test ends.

The fixtures are registered for the whole suite by tests/conftest.py. tests/council/ has no
__init__.py on purpose: with one, pytest would import it as a package named `council` and shadow
the real one.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from council.app import create_app
from council.commands import listen


class CouncilServer(str):
    """A running server's base URL, carrying its app and store path for tests that look inside."""

    app: Any
    db_path: Path
    server: uvicorn.Server

    @property
    def port(self) -> int:
        return int(self.rstrip("/").rsplit(":", 1)[1])


class CouncilClock:
    """A settable server clock: pass it as `now=`; `advance(seconds=...)` moves it on."""

    def __init__(self, start: datetime | None = None):
        self._now = start or datetime(2026, 11, 24, 10, 0, 0, tzinfo=timezone.utc)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment

    def advance(self, **delta: float) -> datetime:
        with self._lock:
            self._now += timedelta(**delta)
            return self._now


def start_council_server(db_path: str | Path, **options: Any) -> CouncilServer:
    """Start the back office on a free loopback port in a daemon thread; stop it with
    `stop_council_server`. The generic part of the `council_server` fixture."""
    app = create_app(db_path, **options)
    sock = listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", date_header=False, lifespan="on",
                            timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name=f"council-server-{port}")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the council server did not start")
        time.sleep(0.01)
    url = CouncilServer(f"http://127.0.0.1:{port}/")
    url.app, url.db_path, url.server = app, Path(db_path), server
    url._thread, url._socket = thread, sock  # type: ignore[attr-defined]
    return url


def stop_council_server(url: CouncilServer, timeout: float = 10) -> None:
    url.server.should_exit = True
    url._thread.join(timeout)  # type: ignore[attr-defined]
    url._socket.close()  # type: ignore[attr-defined]
    url.app.state.db.close()  # already closed by the lifespan; harmless twice
    if url._thread.is_alive():  # type: ignore[attr-defined]
        raise RuntimeError("the council server did not stop")


@pytest.fixture
def council_server(tmp_path):
    """Factory: `council_server(**create_app_options) -> base URL` of a running back office."""
    running: list[CouncilServer] = []

    def start(db_path: str | Path | None = None, **options: Any) -> CouncilServer:
        path = Path(db_path) if db_path is not None else tmp_path / f"council-{len(running)}.db"
        url = start_council_server(path, **options)
        running.append(url)
        return url

    yield start
    for url in reversed(running):
        stop_council_server(url)


@pytest.fixture
def council_clock() -> CouncilClock:
    """A settable clock for `council_server(now=council_clock)`, starting 2026-11-24 10:00 UTC."""
    return CouncilClock()
