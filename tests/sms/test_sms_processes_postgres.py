"""The council's assist service as several processes on one PostgreSQL database: four webhook
processes behind a round-robin proxy and two sync workers, with residents texting whole
conversations whose messages land on different processes, Twilio retrying messages, a back office
failing one call in five, and one webhook process and one worker killed with SIGKILL mid-run.

Afterwards nothing was done twice and nothing was lost: each MessageSid acted on once, each
resident's report saved once with the reference they were given, each request at the council once,
no text sent twice, and nothing left leased. (`make bench`'s bench_postgres.py runs the full size.)
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest

from sms import batch
from sms.app import INBOUND_PATH
from sms.bot import Bot
from sms.messages import Inbound
from sms.simulator import inbound_params, replies, sign
from sync.config import load_settings
from sync.store import Store
from tests.helpers import free_port
from tests.sms.sms_support import AUTH_TOKEN, MOBILE, PUBLIC_URL, sms_env

ROOT = Path(__file__).resolve().parents[2]
RESIDENTS = 8
#: A one-message report, then what the flow asks: three questions skipped, texts yes, contact no, YES.
SCRIPT = ["hello", "1", "missed recycling bin {n} High St", "SKIP", "SKIP", "SKIP", "YES", "NO", "YES"]
WORKER = """
import asyncio, sys
from sync.config import load_settings
from sync.open311.worker import Worker
from sync.store import Store
from sync.texting.sender import TextSender

settings = load_settings()
store = Store.open(settings)

async def main():
    worker = Worker(store, settings, text_sender=TextSender(store, settings, twilio_base_url=sys.argv[1]))
    await worker.run(asyncio.Event())

asyncio.run(main())
"""


class RoundRobin:
    """The proxy in front of the webhook processes: each POST to the next process in turn, and a
    POST whose connection failed sent once more to the one after (as nginx's proxy_next_upstream
    with Twilio's own retry, deploy/: safe because the webhook acts on a MessageSid once)."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.turn = 0
        self.lock = threading.Lock()
        self.retried = 0

    def post(self, params: dict[str, str]) -> httpx.Response:
        with self.lock:
            first = self.turn
            self.turn += 1
        headers = {"X-Twilio-Signature": sign(AUTH_TOKEN, PUBLIC_URL + INBOUND_PATH, params)}
        for attempt in range(2):
            port = self.ports[(first + attempt) % len(self.ports)]
            try:
                return httpx.post(f"http://127.0.0.1:{port}{INBOUND_PATH}", data=params, headers=headers, timeout=15)
            except httpx.TransportError:
                if attempt:
                    raise
                with self.lock:
                    self.retried += 1
        raise AssertionError("unreachable")


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **env},
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


def _wait_healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, "a webhook process died while starting"
        assert time.monotonic() < deadline, "a webhook process did not start"
        time.sleep(0.1)


class Service:
    """The council's assist service as processes: webhooks on their ports and sync workers."""

    def __init__(self, env: dict[str, str], twilio_url: str, log: Path) -> None:
        self.env, self.twilio_url, self.log = env, twilio_url, log
        self.ports = [free_port() for _ in range(4)]
        self.webhooks = [_start(["-m", "assist", "sms", "serve", "--port", str(port)], env, log) for port in self.ports]
        self.workers = [self.worker() for _ in range(2)]
        for port, process in zip(self.ports, self.webhooks):
            _wait_healthy(port, process)

    def worker(self) -> subprocess.Popen[bytes]:
        return _start(["-c", WORKER, self.twilio_url], self.env, self.log)

    def stop(self) -> None:
        for process in self.webhooks + self.workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.webhooks + self.workers:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


class Residents:
    """Residents texting SCRIPT at once through the proxy; 1 message in 5 sent twice, as Twilio
    does when it did not hear the answer. `progress` is released after each message."""

    def __init__(self, proxy: RoundRobin) -> None:
        self.proxy = proxy
        self.answers: dict[str, list[str]] = {}
        self.retried: dict[str, tuple[str, str]] = {}
        self.rng = random.Random(3)
        self.progress = threading.Semaphore(0)
        self.threads = [threading.Thread(target=self.text, args=(n,)) for n in range(RESIDENTS)]
        for thread in self.threads:
            thread.start()

    def say(self, params: dict[str, str]) -> str:
        found = replies(self.proxy.post(params).text)
        return found[0] if found else ""

    def text(self, n: int) -> None:
        number = f"+4479111{n:05d}"
        said = self.answers.setdefault(number, [])
        for index, text in enumerate(SCRIPT):
            params = inbound_params(number, text.format(n=n + 1))
            said.append(self.say(params))
            if self.rng.random() < 0.2:
                self.retried[params["MessageSid"]] = (said[-1], self.say(params))
            self.progress.release()
            time.sleep(0.05 * (index % 3))

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in self.threads)


def _council_requests(council: str) -> list[dict[str, object]]:
    """Every request the back office holds (asked again past its injected faults, which answer
    any call, this one included, with a 5xx one time in ten)."""
    for _ in range(20):
        answer = httpx.get(f"{council}requests.json", params={"page_size": 1000})
        if answer.status_code == 200:
            found: list[dict[str, object]] = answer.json()
            return found
    raise AssertionError(f"the back office kept failing: {answer.status_code}")


def _all_accepted(url: str) -> dict[str, int]:
    """The submissions' states once every resident's is accepted (or a minute has passed)."""
    deadline = time.monotonic() + 60
    with psycopg.connect(url, autocommit=True) as db:
        while True:
            states = dict(db.execute("SELECT state, count(*) FROM submissions GROUP BY state").fetchall())
            if states.get("accepted") == RESIDENTS or time.monotonic() > deadline:
                return states
            time.sleep(0.5)


@pytest.mark.slow
def test_four_webhooks_and_two_workers_on_one_database_lose_nothing_and_do_nothing_twice(
        postgres, council_server, twilio, gazetteer_template, tmp_path):
    council = council_server(api_key="k", fail_rate=0.1, drop_after_commit=0.1, seed=7)
    url = postgres.migrated_database()
    gazetteer = tmp_path / "gazetteer.db"
    shutil.copy(gazetteer_template, gazetteer)
    env = sms_env({"ASSIST_STORE__URL": url, "ASSIST_STORE__KEY_FILE": str(tmp_path / "assist.key"),
                   "ASSIST_STORE__GAZETTEER_PATH": str(gazetteer), "ASSIST_KIOSK__DEVICE_ID": "council-sms"},
                  ASSIST_BACKOFFICE__URL=council, ASSIST_BACKOFFICE__API_KEY="k",
                  ASSIST_SYNC__BACKOFF_BASE_SECONDS="0", ASSIST_SYNC__POLL_SECONDS="1",
                  ASSIST_SYNC__TIMEOUT_SECONDS="5")
    Store.open(load_settings(environ=env)).close()  # its key made once, as an operator's first start would
    service = Service(env, twilio.url, tmp_path / "services.log")
    try:
        proxy = RoundRobin(service.ports)
        residents = Residents(proxy)
        for _ in range(RESIDENTS * len(SCRIPT) // 3):
            residents.progress.acquire(timeout=60)
        service.webhooks[1].send_signal(signal.SIGKILL)  # a host fails mid-run
        service.workers[0].send_signal(signal.SIGKILL)
        service.workers[0].wait()
        service.workers[0] = service.worker()  # systemd restarts it
        residents.join()
        states = _all_accepted(url)
        with psycopg.connect(url, autocommit=True) as db:
            saved = db.execute("SELECT reference FROM submissions").fetchall()
            inbound = db.execute("SELECT count(*), count(DISTINCT message_sid) FROM sms_inbound").fetchone()
            leased = db.execute("SELECT count(*) FROM submissions WHERE lease_owner IS NOT NULL "
                                "AND state NOT IN ('accepted', 'cancelled', 'exported')").fetchone()[0]
    finally:
        service.stop()

    # Each resident's report saved once, under the reference their last reply gave them.
    assert states == {"accepted": RESIDENTS}, states
    shown = {f"{ref[:3]}-{ref[3:6]}-{ref[6:]}" for (ref,) in saved}
    assert len(saved) == RESIDENTS
    for number, said in residents.answers.items():
        assert any(reference in said[-1] for reference in shown), (number, said[-1])
    # The killed process's share went to the next one; a message Twilio sent again got the same
    # answer and was not acted on again.
    assert proxy.retried > 0
    assert residents.retried and all(first == again for first, again in residents.retried.values())
    assert inbound[0] == inbound[1]
    # Each request at the council once, whatever answers were lost on the way.
    assert len(_council_requests(council)) == RESIDENTS
    # No text sent twice, nothing left leased, and no number in the logs.
    sent = [(text["To"], text["Body"]) for text in twilio.requests]
    assert len(sent) == len(set(sent))
    assert leased == 0
    output = (tmp_path / "services.log").read_text(errors="replace")
    assert "Traceback" not in output and "+4479111" not in output


def test_two_texts_from_one_resident_at_two_processes_at_once_are_taken_one_after_the_other(postgres, tmp_path,
                                                                                            gazetteer_template):
    """Two webhook processes (two Bots, each with its own connection) take a resident's two quick
    SKIPs at the same moment: each question is skipped once, so the two answers ask different
    questions (interleaved, both would have skipped the same one and asked the same next)."""
    places = tmp_path / "gazetteer.db"
    shutil.copy(gazetteer_template, places)
    settings = load_settings(environ=sms_env({"ASSIST_STORE__URL": postgres.migrated_database(),
                                              "ASSIST_STORE__KEY_FILE": str(tmp_path / "k.key"),
                                              "ASSIST_STORE__GAZETTEER_PATH": str(places)}))
    bots = [Bot(Store.open(settings), settings) for _ in range(2)]

    def text(bot: Bot, body: str) -> str:
        [reply] = batch.take(bot, [Inbound("SM" + uuid.uuid4().hex, MOBILE, body)])
        return reply.text

    for body in ("hello", "1", "missed recycling bin 12 High St"):
        text(bots[0], body)
    start = threading.Barrier(2)
    answers: list[str] = []

    def skip(bot: Bot) -> None:
        start.wait()
        answers.append(text(bot, "SKIP"))

    threads = [threading.Thread(target=skip, args=(bot,)) for bot in bots]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 2 and answers[0] != answers[1], answers
    # and the third SKIP, now, skips the third question: the conversation went on from where it was
    assert "text messages" in text(bots[0], "SKIP")
    for bot in bots:
        bot.store.close()
