"""Running a uvicorn server until the operating system asks it to stop, for every long-running
web command (`assist council serve`, `assist sms serve`)."""

from __future__ import annotations

import signal
import socket

import uvicorn


def run_until_signalled(server: uvicorn.Server, sock: socket.socket | None = None) -> bool:
    """Serve until SIGTERM or Ctrl+C; returns whether the server started (or was stopped first).

    uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal through the
    handlers in place before it started: handlers that only take note keep that re-raise from
    killing the process, so the caller closes its store and the exit code is 0.
    """
    received: list[int] = []

    def take_note(number: int, frame: object) -> None:
        received.append(number)
        server.should_exit = True  # a signal before uvicorn's own handlers are in place

    previous = {sig: signal.signal(sig, take_note) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run(sockets=[sock] if sock is not None else None)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return server.started or bool(received)
