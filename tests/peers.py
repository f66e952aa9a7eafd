"""The reference back office as a real peer over loopback HTTP, for every test that needs one.

    def test_something(council_server, council_clock):
        url = council_server(token_mode=True, now=council_clock)   # "http://127.0.0.1:PORT/"
        httpx.get(url + "services.json")
        url.db_path, url.app                                        # the store file, the app

`council_server(**options)` takes `create_app`'s keyword options (plus `db_path`, default a
fresh file in tmp_path), starts uvicorn in a background thread on a free port, waits until it
listens and returns the base URL with a trailing slash. Call it more than once for several
servers; all are stopped (and their stores closed) when the test ends.

The `council_server` and `council_clock` fixtures, in tests/conftest.py, are built on these for the
whole suite. tests/council/ has no
__init__.py on purpose: with one, pytest would import it as a package named `council` and shadow
the real one.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import uvicorn

from assist.cli.council import listen
from council.app import create_app


class CouncilServer(str):
    """A running server's base URL, carrying its app and store path for tests that look inside."""

    app: Any
    db_path: Path
    server: uvicorn.Server
    running: "Running"

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


class Running:
    """A uvicorn server in a daemon thread on its own loopback socket."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread, sock) -> None:
        self.server, self.thread, self.sock = server, thread, sock
        self.port = sock.getsockname()[1]

    def stop(self, timeout: float = 10) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        self.sock.close()
        if self.thread.is_alive():
            raise RuntimeError(f"the server on port {self.port} did not stop")


def serve_in_thread(app: Any, *, name: str, port: int = 0, **config: Any) -> Running:
    """Serve `app` on a free loopback port (or `port`: a peer started again where it was) with
    TCP_NODELAY, as `assist council serve` does, in a daemon thread, once it is listening: the one
    way every test peer is started."""
    sock = listen("127.0.0.1", port)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", **{"lifespan": "off",
                                                                        "timeout_graceful_shutdown": 1, **config}))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name=f"{name}-{sock.getsockname()[1]}")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError(f"the {name} server did not start")
        time.sleep(0.01)
    return Running(server, thread, sock)


def start_council_server(db_path: str | Path, **options: Any) -> CouncilServer:
    """Start the back office on a free loopback port in a daemon thread; stop it with
    `stop_council_server`. The generic part of the `council_server` fixture."""
    app = create_app(db_path, **options)
    running = serve_in_thread(app, name="council", date_header=False, lifespan="on", timeout_graceful_shutdown=2)
    url = CouncilServer(f"http://127.0.0.1:{running.port}/")
    url.app, url.db_path, url.server, url.running = app, Path(db_path), running.server, running
    return url


def stop_council_server(url: CouncilServer, timeout: float = 10) -> None:
    try:
        url.running.stop(timeout)
    finally:
        url.app.state.db.close()  # already closed by the lifespan; harmless twice

