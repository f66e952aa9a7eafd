"""The SMS channel: the recogniser's accuracy on the labelled corpus, and the inbound webhook's
rate and latency at 16 concurrent clients (distinct numbers), full path (signature check, store
write, conversation, TwiML), against a bare Starlette handler returning a fixed TwiML reply on the
same server settings (each measured three times, alternately, the best run of each kept). Targets
(issue 5): at least 90% services and 80% places right; at least 0.4 of the bare handler's rate;
p99 under 50 ms.

Each server runs in a subprocess with the uvicorn settings and logging of `assist sms serve`
(one worker, uvicorn's access log, the bot's own line a message: assist.cli.sms.server_config,
assist.cli.configure_logging; its own port, so accepted connections get TCP_NODELAY), so the
figures are the service's as deployed, and it does not share the GIL with the clients,
which run here: 16 asyncio tasks on keep-alive connections speaking HTTP/1.1 directly, every
request made and signed with twilio's own signature computation before the clock starts (the
bare handler is sent the same signed requests), so that the client stays well ahead of either
server; the bare run reports how busy the client was, to show it was not the bottleneck. The
full path's store starts with the demo gazetteer; each client is a distinct number going through
first contact, language choice, one-shot reports with their questions, read-backs, submissions,
STATUS and HELP. The rate limits are raised out of the way: this measures the path, not the
limiter. A last run sends nothing but HELP, to show the fixed cost of the path (signature, claim,
rate counts, sealed reply, TwiML) apart from the conversation's.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench import processes

CLIENTS = 16
REQUESTS = 4000
WARM_UP = 200
ROUNDS = 3
TOKEN = "bench-auth-token"
PUBLIC_URL = "https://sms.bench.example"
CONVERSATION = ["pothole outside 12 High Street", "3", "1", "SKIP", "SKIP", "NO", "NO", "YES",
                "STATUS K7Q-4MB-XP9P", "missed bin 12 High St", "2", "SKIP", "SKIP", "SKIP", "YES", "NO", "NEW",
                "HELP", "fly tipping behind the library", "1, 3", "2", "NEW"]

SERVE = """
import sys
import uvicorn
from assist.cli import configure_logging
from assist.cli.sms import server_config
which, port = sys.argv[1], int(sys.argv[2])
configure_logging()  # as every `assist` command logs: the bot's line a message goes to the log
if which == "full":
    from sms.app import create_app
    from sync.config import load_settings
    app = create_app(load_settings(), own_process=True)  # as `assist sms serve` makes it
else:
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route
    FIXED = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thank you.</Message></Response>'
    async def inbound(request):
        await request.body()
        return Response(FIXED, media_type="application/xml")
    app = Starlette(routes=[Route("/sms/inbound", inbound, methods=["POST"])])
print("serving", flush=True)
uvicorn.Server(server_config(app, "127.0.0.1", port)).run()  # both as `assist sms serve` runs
"""


def corpus_figures(folder: Path):
    from sms.recognise import Recogniser
    from sync.catalogue import bundled
    from sync.places import gazetteer
    from sync.store import db as db_module
    from tests.sms.sms_corpus import CORPUS

    db = db_module.connect(folder / "corpus.db")
    gazetteer.import_csv(db, gazetteer.DEMO_CSV)
    recogniser = Recogniser(db, bundled(), ("en", "cy"))
    services = places = with_place = 0
    start = time.perf_counter()
    for message, service, place in CORPUS:
        found = recogniser.recognise(message)
        services += (found.service or "none") == service
        if place:
            with_place += 1
            candidates = [c.lower() for c in (found.place.candidates() if found.place else [])]
            places += bool(candidates) and all(place.lower() in c for c in candidates)
    elapsed = time.perf_counter() - start
    db.conn.close()
    return services / len(CORPUS), places / with_place, len(CORPUS), with_place, elapsed / len(CORPUS)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    def __init__(self, which: str, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process = processes.spawn([sys.executable, "-c", SERVE, which, str(self.port)], log, env)
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(self.url + "/healthz", timeout=1)
                return
            except httpx.TransportError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the {which} server did not start: {log.read_text()}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        processes.stop(self.process)


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """One request on a kept-alive connection; the answer's status."""
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status


def signed_requests(port: int, number: str, bodies: list[str]) -> list[bytes]:
    """Each body as the HTTP request Twilio would make, signed with twilio's own computation."""
    from urllib.parse import urlencode

    from sms.simulator import inbound_params, sign

    made = []
    for body in bodies:
        params = inbound_params(number, body)
        form = urlencode(params).encode()
        signature = sign(TOKEN, PUBLIC_URL + "/sms/inbound", params)
        made.append((f"POST /sms/inbound HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                     f"Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: {signature}\r\n"
                     f"Content-Length: {len(form)}\r\n\r\n").encode() + form)
    return made


async def load(port: int, conversation: list[str] | None = None) -> tuple[float, list[float], int, float]:
    """(requests per second, latencies in ms, non-200 answers, the client's busy share) for
    REQUESTS after WARM_UP.

    The clients speak HTTP/1.1 over asyncio streams directly, and every request is made and
    signed before the clock starts: a general-purpose client library, or signing on the way,
    would spend more time per request than the bare server does, and measure itself. The busy
    share (this process's CPU time over the wall time) says whether the client kept up."""
    latencies: list[float] = []
    failures = 0
    sent = 0
    total = WARM_UP + REQUESTS
    started = {"at": 0.0, "cpu": 0.0}
    bodies = (["hello", "1"] + (conversation or CONVERSATION) * 1000)[:2 * total // CLIENTS + 2]
    prepared = [signed_requests(port, f"+4479111{index:05d}", bodies) for index in range(CLIENTS)]

    async def client(index: int) -> None:
        nonlocal sent, failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for request in prepared[index]:
                if sent >= total:
                    return
                sent += 1
                measured = sent > WARM_UP
                if sent == WARM_UP + 1:
                    started["at"], started["cpu"] = time.perf_counter(), time.process_time()
                begin = time.perf_counter()
                status = await _exchange(reader, writer, request)
                if measured:
                    latencies.append((time.perf_counter() - begin) * 1000)
                    failures += status != 200
        finally:
            writer.close()

    await asyncio.gather(*(client(index) for index in range(CLIENTS)))
    elapsed = time.perf_counter() - started["at"]
    return REQUESTS / elapsed, latencies, failures, (time.process_time() - started["cpu"]) / elapsed


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def run(report) -> None:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        services, places, messages, with_place, per_message = corpus_figures(folder)
        report(f"corpus: service recognised right ({messages} messages)", services * 100, "%", "target >= 90%")
        report(f"corpus: place found right ({with_place} with a place)", places * 100, "%", "target >= 80%")
        report("recogniser time per message", per_message * 1000, "ms")

        store_dir = folder / "store"
        store_dir.mkdir()
        shutil.copy(folder / "corpus.db", store_dir / "assist.db")
        env = {"ASSIST_STORE__PATH": str(store_dir / "assist.db"), "ASSIST_TWILIO__AUTH_TOKEN": TOKEN,
               "ASSIST_TWILIO__PUBLIC_URL": PUBLIC_URL, "ASSIST_SMS__RATE_LIMIT_PER_NUMBER_PER_HOUR": "1000000",
               "ASSIST_SMS__RATE_LIMIT_GLOBAL_PER_MINUTE": "1000000", "ASSIST_KIOSK__DEVICE_ID": "bench-sms"}
        results: dict[str, tuple] = {}
        runs = [("bare", None), ("full", None)] * ROUNDS + [("full", ["HELP"])]
        for which, conversation in runs:  # alternated, the best of each kept: the machine is shared
            server = Server(which, env, folder / f"{which}.log")
            try:
                found = asyncio.run(load(server.port, conversation))
            finally:
                server.stop()
            name = "help" if conversation else which
            if name not in results or found[0] > results[name][0]:
                results[name] = found
        bare_rate, bare_latency, bare_failures, bare_client = results["bare"]
        rate, latency, failures, _client = results["full"]
        report("bare Starlette handler, fixed TwiML (baseline)", bare_rate, "req/s",
               f"p50 {percentile(bare_latency, 0.5):.1f} ms, p99 {percentile(bare_latency, 0.99):.1f} ms; "
               f"client busy {bare_client:.0%}"
               + (" (client-bound: the ratio means little)" if bare_client > 0.9 else ""))
        p99 = percentile(latency, 0.99)
        report(f"inbound webhook, full path, {CLIENTS} clients", rate, "req/s",
               f"ratio {rate / bare_rate:.2f} (target >= 0.40); p50 {percentile(latency, 0.5):.1f} ms, "
               f"p99 {p99:.1f} ms (target < 50 ms); mean {statistics.mean(latency):.1f} ms"
               + (f"; {failures} non-200" if failures or bare_failures else ""))
        help_rate, help_latency, _help_failures, _help_client = results["help"]
        report("  the same, every message HELP (no report, no recognition)", help_rate, "req/s",
               f"ratio {help_rate / bare_rate:.2f}; p99 {percentile(help_latency, 0.99):.1f} ms")
