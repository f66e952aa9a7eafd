"""Back offices that misbehave, as real peers over loopback, for the bad-input tests.

Two kinds:

- `MisbehavingServer`: a Starlette app served by uvicorn in a background thread (the pattern of
  `start_council_server` in tests/peers.py). Every test gets its own *scenario*, a prefix of the
  URL with canned answers for each Open311 call, so one server serves a whole test module:

      server = start_misbehaving_server()
      url = server.scenario("malformed", {("POST", "requests"): canned(201, b"{not json")})
      # url == "http://127.0.0.1:PORT/malformed-1/"; POST .../requests.json gets the canned answer
      server.hits("malformed-1", "POST")   # what reached it (a list of (method, path))

  A call no route matches gets a 404 Open311 error. `SCENARIOS` holds the canned answers the
  tests use by name (`server.scenario("xml_bomb")`). `stop_misbehaving_server(server)` stops it.

- `RawServer`: a bare TCP listener for what no HTTP framework will do: accept a connection and
  never answer ("silent"), answer with headers then a byte at a time forever ("trickle"), close
  the connection once the request has arrived ("hangup"), or answer with bytes that are not HTTP
  ("garbage"). Use it as a context manager; its `url` is "http://127.0.0.1:PORT/".
"""

from __future__ import annotations

import gzip
import itertools
import json
import socket
import threading
from collections.abc import Callable
from fnmatch import fnmatch
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.peers import serve_in_thread

JSON = "application/json; charset=utf-8"
XML = "text/xml; charset=utf-8"
HTML = "text/html; charset=utf-8"

Answer = Callable[[Request, "MisbehavingServer"], Response]
Routes = dict[tuple[str, str], Answer]


def canned(status: int = 200, body: bytes | str | Any = b"", *, content_type: str | None = JSON,
           headers: dict[str, str] | None = None) -> Answer:
    """A fixed answer. A body that is not bytes or str is sent as JSON."""
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    content = body.encode() if isinstance(body, str) else body
    extra = dict(headers or {})
    if content_type:
        extra["content-type"] = content_type

    def answer(request: Request, server: "MisbehavingServer") -> Response:
        return Response(content, status_code=status, headers=extra)
    return answer


def redirect_elsewhere(status: int = 302, *, same_host: bool = False) -> Answer:
    """A redirect to this server's `sink` scenario: under another host name ("localhost" for
    "127.0.0.1"), or with `same_host`, under the same one. Following it would show as a hit."""
    def answer(request: Request, server: "MisbehavingServer") -> Response:
        host = "127.0.0.1" if same_host else "localhost"
        return Response(b"", status_code=status,
                        headers={"location": f"http://{host}:{server.port}/sink/requests.json"})
    return answer


def gzipped(status: int, expanded: bytes, *, content_type: str = JSON) -> Answer:
    """A gzip-encoded answer: small on the wire, `len(expanded)` bytes once decoded."""
    return canned(status, gzip.compress(expanded, compresslevel=9), content_type=content_type,
                  headers={"content-encoding": "gzip"})


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<service_requests><request><service_request_id>&lol9;</service_request_id></request></service_requests>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE service_requests [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<service_requests><request><service_request_id>&secret;</service_request_id></request></service_requests>"""

SERVICES_AS_STRINGS = [  # booleans as strings, ids as numbers: what real servers send
    {"service_code": "pothole", "service_name": "Pothole", "description": "A hole in the road",
     "metadata": "true", "type": "realtime", "keywords": "road, hole", "group": "Roads"},
    {"service_code": 1234, "service_name": "Graffiti", "description": "", "metadata": "false",
     "type": "realtime", "keywords": "", "group": "Streets"},
]
POTHOLE_DEFINITION = {"service_code": "pothole", "attributes": [
    {"variable": "true", "code": "size", "datatype": "singlevaluelist", "required": "true",
     "datatype_description": "", "order": "1", "description": "How big is it?",
     "values": [{"key": "small", "name": "Small"}, {"key": "large", "name": "Large"}]},
    {"variable": "false", "code": "note", "datatype": "text", "required": "false",
     "datatype_description": "", "order": "2", "description": "We fix holes within 5 days."},
]}

#: Named scenarios: ((method, path pattern without the format suffix) -> answer).
SCENARIOS: dict[str, Routes] = {
    "malformed_json": {("POST", "requests"): canned(201, b'[{"service_request_id": "SR-1", ')},
    "html_on_post": {("POST", "requests"): canned(200, "<!doctype html><html><body><h1>Welcome to the "
                                                       "council portal</h1></body></html>", content_type=HTML)},
    "empty_201": {("POST", "requests"): canned(201, b"", content_type=None)},
    "xml_bomb": {("POST", "requests"): canned(201, BILLION_LAUGHS, content_type=XML),
                 ("GET", "services"): canned(200, BILLION_LAUGHS, content_type=XML)},
    "external_entity": {("POST", "requests"): canned(201, EXTERNAL_ENTITY, content_type=XML)},
    "oversized": {("POST", "requests"): canned(201, [{"service_request_id": "SR-9",
                                                      "service_notice": "x" * 20_000}]),
                  ("GET", "services"): canned(200, [{"service_code": f"s{i}", "service_name": "y" * 50}
                                                    for i in range(500)])},
    "gzip_bomb": {("POST", "requests"): gzipped(201, b"[" + b" " * 20_000_000 + b"]"),
                  ("GET", "services"): gzipped(200, b"[" + b" " * 20_000_000 + b"]")},
    "bad_gzip": {("POST", "requests"): canned(201, b"this is not gzip", headers={"content-encoding": "gzip"})},
    "brotli": {("POST", "requests"): canned(201, b"\x8b\x03\x80[]\x03", headers={"content-encoding": "br"})},
    "redirect_other_host": {("POST", "requests"): redirect_elsewhere(302)},
    "redirect_307": {("POST", "requests"): redirect_elsewhere(307, same_host=True)},
    "see_other": {("POST", "requests"): redirect_elsewhere(303, same_host=True)},
    "rate_limited": {("POST", "requests"): canned(429, [{"code": 429, "description": "Slow down"}],
                                                  headers={"retry-after": "120"})},
    "id_zero": {("POST", "requests"): canned(201, [{"service_request_id": 0, "service_notice": "Thanks"}])},
    "xml_requests_root": {("POST", "requests"): canned(
        200, b"<?xml version='1.0' encoding='utf-8'?><requests><request><service_request_id>4711"
             b"</service_request_id><service_notice>Due in 5 days</service_notice></request></requests>",
        content_type=XML)},
    "strings_for_booleans": {("GET", "services"): canned(200, SERVICES_AS_STRINGS),
                             ("GET", "services/pothole"): canned(200, POTHOLE_DEFINITION)},
    "server_error": {("POST", "requests"): canned(500, "<html><body>Internal Server Error</body></html>",
                                                  content_type=HTML)},
    "sink": {},
}


class MisbehavingServer(str):
    """A running misbehaving server's base URL ("http://127.0.0.1:PORT/")."""

    server: uvicorn.Server

    def __init__(self, url: str) -> None:
        self._routes: dict[str, Routes] = {}
        self._hits: list[tuple[str, str, str, str]] = []
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        for name, routes in SCENARIOS.items():
            self._routes[name] = routes

    @property
    def port(self) -> int:
        return int(self.rstrip("/").rsplit(":", 1)[1])

    def scenario(self, name: str, routes: Routes | None = None) -> str:
        """A fresh URL prefix answering with `routes` (default: the named scenario's)."""
        unique = f"{name}-{next(self._numbers)}"
        with self._lock:
            self._routes[unique] = dict(SCENARIOS[name] if routes is None else routes)
        return f"{self}{unique}/"

    def hits(self, scenario: str, method: str | None = None) -> list[tuple[str, str]]:
        """The calls that reached `scenario` (a name or a URL from `scenario()`), in order."""
        name = scenario.rstrip("/").rsplit("/", 1)[-1]
        with self._lock:
            return [(m, path) for s, m, path, _ in self._hits if s == name and (method is None or m == method)]

    def raw_paths(self, scenario: str) -> list[str]:
        """The undecoded request paths that reached `scenario`, as they came over the wire."""
        name = scenario.rstrip("/").rsplit("/", 1)[-1]
        with self._lock:
            return [raw for s, _, _, raw in self._hits if s == name]

    def answer(self, request: Request) -> Response:
        name, path = request.path_params["scenario"], request.path_params["path"]
        stem = path.rsplit(".", 1)[0]
        with self._lock:
            raw = request.scope.get("raw_path", b"").decode("latin-1")
            self._hits.append((name, request.method, path, raw))
            routes = self._routes.get(name, {})
        for (method, pattern), answer in routes.items():
            if method == request.method and fnmatch(stem, pattern):
                return answer(request, self)
        return Response(json.dumps([{"code": 404, "description": f"no {stem} here"}]), status_code=404,
                        media_type="application/json")


def start_misbehaving_server() -> MisbehavingServer:
    """Start the server on a free loopback port in a daemon thread."""
    holder: dict[str, MisbehavingServer] = {}

    async def endpoint(request: Request) -> Response:
        await request.body()
        return holder["server"].answer(request)

    app = Starlette(routes=[Route("/{scenario}/{path:path}", endpoint, methods=["GET", "POST"])])
    running = serve_in_thread(app, name="misbehaving", date_header=False)
    url = MisbehavingServer(f"http://127.0.0.1:{running.port}/")
    url.server, url.running, holder["server"] = running.server, running, url
    return url


def stop_misbehaving_server(url: MisbehavingServer, timeout: float = 10) -> None:
    url.running.stop(timeout)


class RawServer:
    """A TCP listener on 127.0.0.1 that misbehaves below HTTP; see the module docstring."""

    MODES = ("silent", "trickle", "hangup", "garbage")

    def __init__(self, mode: str = "silent") -> None:
        if mode not in self.MODES:
            raise ValueError(f"mode must be one of {', '.join(self.MODES)}")
        self.mode = mode
        self.accepted = 0
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> "RawServer":
        self._spawn(self._accept_loop)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
        self._listener.close()

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name=f"raw-{self.mode}-{self.port}")
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            self.accepted += 1
            self._spawn(self._serve, conn)

    def _read_request(self, conn: socket.socket) -> None:
        """Read until the end of the headers (and what body has come), or until stopped."""
        data = b""
        while b"\r\n\r\n" not in data and not self._stop.is_set():
            try:
                chunk = conn.recv(65536)
            except (TimeoutError, socket.timeout):
                continue
            if not chunk:
                return
            data += chunk

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(0.1)
        try:
            if self.mode == "silent":  # read whatever comes (so writes never block), never answer
                while not self._stop.is_set():
                    try:
                        if not conn.recv(65536):
                            return
                    except (TimeoutError, socket.timeout):
                        continue
                return
            self._read_request(conn)
            if self.mode == "hangup":
                return
            if self.mode == "garbage":
                conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\nProtocol mismatch.\r\n")
                return
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n")
            while not self._stop.wait(0.2):  # trickle: one byte at a time, never finishing
                conn.sendall(b" ")
        except OSError:
            return
        finally:
            conn.close()
