"""A receipt printer on loopback for the printed reference's tests: a bare TCP listener that takes
ESC/POS bytes as a network printer on port 9100 does, and answers the paper question (DLE EOT 4)
as its mode says:

- "ready": paper present (0x12), then everything sent is kept in `received`;
- "no_paper": no paper (0x72), as a printer whose roll ran out;
- "hang_up": accepts the connection and closes it at once, as a printer switched off mid-way;
- "silent": never answers the question (many printers cannot), then takes the slip.

Use it as a context manager; `address` is its `kiosk.printer` (tcp://127.0.0.1:PORT).
`refused_address()` names a loopback port nothing listens on.
"""

from __future__ import annotations

import socket
import threading

PAPER_QUESTION = b"\x10\x04\x04"
ANSWERS = {"ready": b"\x12", "no_paper": b"\x72"}


class FakePrinter:
    def __init__(self, mode: str = "ready") -> None:
        self.mode = mode
        self.received = bytearray()
        self.connections = 0
        self.done = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def __enter__(self) -> "FakePrinter":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._server.close()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            self.connections += 1
            with conn:
                self._take(conn)
            self.done.set()

    def _take(self, conn: socket.socket) -> None:
        if self.mode == "hang_up":
            return
        conn.settimeout(5)
        answered = False
        while True:
            try:
                data = conn.recv(65536)
            except (TimeoutError, ConnectionError):
                return
            if not data:
                return
            self.received += data
            if not answered and PAPER_QUESTION in self.received and self.mode in ANSWERS:
                conn.sendall(ANSWERS[self.mode])
                answered = True


def refused_address() -> str:
    """A `kiosk.printer` on a loopback port that was free a moment ago: connecting is refused."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    return f"tcp://127.0.0.1:{port}"
