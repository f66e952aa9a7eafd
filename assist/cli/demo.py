"""`assist demo` (`make demo`): assist on embedded defaults, all on loopback.

In a terminal it runs the kiosk in the foreground, with the reference back office and the sync
worker beside it, and stops them all when the kiosk exits (Ctrl+Q: the demo allows quitting,
a library machine never does). Without a terminal, or with `--script`, it walks through the same
machinery as a story instead: it loads the demo council's gazetteer, takes two residents through
the shared question flow (one in English, one in Welsh), saves their requests with a reference
each, types up a few paper forms (one of them wrong, to show the error staff would see), lets the
worker find the council unreachable and lose nothing, then starts the back office and the worker,
which send everything once and bring a closed status back. Beside them runs a fleet service (the
council's view of its kiosks, on its own SQLite store) with the demo kiosk enrolled, so the fleet
page has a kiosk to show. Everything lands in ./demo-data; run it again freely.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Callable, TypeVar

import click

from sync import reference

if TYPE_CHECKING:
    from sync.store import Lookup

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "paper-forms.jsonl"
#: A volunteer the demo kiosk knows, to try volunteer mode (F9) with. Never on a real kiosk.
DEMO_VOLUNTEER, DEMO_PIN = "Demo Volunteer", "246810"
DEMO_DEVICE, DEMO_LIBRARY = "demo-kiosk-1", "Brackenford Central Library"
DEMO_HOURS = "Mon-Fri 09:00-17:30; Sat 10:00-16:00"
#: The fleet page's demo account. Never on a real fleet service.
FLEET_STAFF, FLEET_PASSWORD = "demo", "demo-fleet-page"

T = TypeVar("T")


def assist(*args: str, env: dict[str, str]) -> str:
    print(f"\n$ assist {shlex.join(args)}", flush=True)
    done = subprocess.run([sys.executable, "-m", "assist", *args], env=env, check=False, text=True,
                          stdout=subprocess.PIPE)
    print(done.stdout, end="", flush=True)
    return done.stdout


def free_port(preferred: int = 8311) -> int:
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", preferred)) != 0:
            return preferred
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        return spare.getsockname()[1]


def wait_for(condition: Callable[[], T | None], what: str, seconds: float = 30) -> T:
    """The condition's first truthy answer, checked five times a second; gives up after `seconds`."""
    deadline = time.monotonic() + seconds
    while not (answer := condition()):
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(0.2)
    return answer


def listening(process: subprocess.Popen, port: int, what: str) -> subprocess.Popen:
    """`process` once it takes connections on `port` (or stopped, and the demo with it)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and process.poll() is None:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.1)
    process.terminate()
    raise SystemExit(f"{what} did not start")


def start_council(folder: Path, port: int, env: dict[str, str], output=None) -> subprocess.Popen:
    print(f"\n$ assist council serve --port {port} --db {folder / 'council.db'} --api-key demo-key &", flush=True)
    council = subprocess.Popen([sys.executable, "-m", "assist", "council", "serve", "--port", str(port),
                                "--db", str(folder / "council.db"), "--api-key", "demo-key"], env=env,
                               stdout=output, stderr=output)
    return listening(council, port, "the reference back office")


def fleet_env(folder: Path, env: dict[str, str]) -> dict[str, str]:
    """The fleet service's environment: the council's side, with a store of its own."""
    (folder / "fleet-service").mkdir(exist_ok=True)
    return {**env, "ASSIST_STORE__PATH": str(folder / "fleet-service" / "assist.db"),
            "ASSIST_FLEET__METRICS_TOKEN": "demo-metrics-token"}


def start_fleet(folder: Path, env: dict[str, str], output=None) -> tuple[subprocess.Popen, str]:
    """The fleet service on loopback, on the council's side's own store; the service and its URL."""
    port = free_port(8313)
    print(f"\n$ assist fleet serve --port {port} &   (the council's side, on {folder / 'fleet-service'})", flush=True)
    service = listening(subprocess.Popen([sys.executable, "-m", "assist", "fleet", "serve", "--port", str(port)],
                                         env=fleet_env(folder, env), stdout=output, stderr=output), port,
                        "the fleet service")
    return service, f"http://127.0.0.1:{port}"


def enrol_kiosk(folder: Path, env: dict[str, str], url: str) -> None:
    """The demo kiosk enrolled afresh with the fleet service at `url` (its port may differ from the
    last run's), and the demo's staff account."""
    council_side = fleet_env(folder, env)
    if add_fleet_staff(council_side):  # enrolled by an earlier run: revoked, as for a rebuilt kiosk
        assist("fleet", "revoke", DEMO_DEVICE, env=council_side)
    added = assist("fleet", "add-kiosk", DEMO_DEVICE, "--library", DEMO_LIBRARY, "--hours", DEMO_HOURS,
                   env=council_side)
    code = re.search(r"\b[A-Z0-9]{4}(?:-[A-Z0-9]{4}){4}\b", added)
    if code is None:
        raise SystemExit("the fleet service gave the demo kiosk no enrolment code")
    assist("fleet", "enrol", "--url", url, "--code", code.group(), env=env)


def services(folder: Path, env: dict[str, str], port: int, running: ExitStack, output=None) -> str:
    """The back office, the fleet service (the demo kiosk enrolled) and the sync worker, each stopped
    by `running` however the demo ends, a failure or Ctrl+C included; the fleet service's URL."""
    running.callback(stop_all, start_council(folder, port, env, output))
    fleet, url = start_fleet(folder, env, output)
    running.callback(stop_all, fleet)
    enrol_kiosk(folder, env, url)
    running.callback(stop_all, start_worker(env, output))
    return url


def add_fleet_staff(council_side: dict[str, str]) -> bool:
    """The demo's staff account for the fleet page, once; whether the demo kiosk is enrolled already."""
    from fleet import registry, staff
    from sync.config import load_settings
    from sync.store import Store

    store = Store.open(load_settings(environ=council_side))
    try:
        try:
            staff.add(store.db, FLEET_STAFF, FLEET_PASSWORD, store.clock())
        except registry.Refused:
            pass  # added by an earlier run
        return any(kiosk.device_id == DEMO_DEVICE and kiosk.state == "enrolled"
                   for kiosk in registry.kiosks(store.db, store.clock()))
    finally:
        store.close()


def fleet_page(url: str) -> str:
    return f"The fleet page is {url}/fleet/ (staff {FLEET_STAFF!r}, password {FLEET_PASSWORD!r})"


def serve_fleet_later(folder: Path, env: dict[str, str]) -> str:
    return (f"To look at the fleet page now: ASSIST_STORE__PATH={fleet_env(folder, env)['ASSIST_STORE__PATH']} "
            f".venv/bin/assist fleet serve, then open http://127.0.0.1:8313/fleet/ and sign in as {FLEET_STAFF!r}, "
            f"password {FLEET_PASSWORD!r}.")


def fleet_heard(folder: Path, env: dict[str, str]) -> bool:
    """Whether the fleet service has the demo kiosk's heartbeat and its finished submissions' records."""
    from sync.config import load_settings
    from sync.store import Store

    store = Store.open(load_settings(environ=fleet_env(folder, env)))
    try:
        heard = store.db.conn.execute("SELECT count(*) FROM fleet_heartbeats WHERE device_id = ?",
                                      (DEMO_DEVICE,)).fetchone()[0]
        records = store.db.conn.execute("SELECT count(*) FROM fleet_events WHERE device_id = ? AND kind = 'submission'",
                                        (DEMO_DEVICE,)).fetchone()[0]
        return bool(heard and records >= 4)
    finally:
        store.close()


def resident(store, language: str, service_code: str, place_query: str, typed: dict[str, str]) -> str:
    import locales
    from sync import flow
    from sync.places import gazetteer
    from sync.store import events

    t = locales.translator(language)
    catalogue = store.catalogue()
    service = catalogue.get(service_code)
    session = events.new_session()

    def record(event: str, step: str | None = None) -> None:  # what the kiosk records, for the report
        events.record(store, session, event, channel="kiosk", language=language, service_code=service_code,
                      step=step)

    record(events.STARTED)
    record(events.SERVICE)
    print(f"\n=== {locales.native_name(language)}: {t(service.name)} ===")
    if service.urgent_notice:
        print("!", t(service.urgent_notice).format(phone="01632 960000"))
    answers: dict = {}
    while (question := flow.next_question(service, answers)) is not None:
        record(events.QUESTION, question.key)
        print(f"? {t(question.prompt)}")
        for number, choice in enumerate(question.choices, 1):
            print(f"    {number}. {t(choice.label)}")
        if question.key == "location":
            places = gazetteer.search(store.db, place_query, limit=3)
            print(f"  [searching the gazetteer for {place_query!r}: {len(places)} found]")
            raw = places[0] if places else place_query
        else:
            raw = typed.get(question.key, "")
        try:
            answers[question.key] = flow.validate(question, raw, translate=t.gettext)
        except flow.Invalid as invalid:
            print(f"  ! {invalid.render(t)}")
            answers[question.key] = flow.validate(question, typed[question.key + "!retry"], translate=t.gettext)
        print(f"  > {flow.display(question, answers[question.key], t)}")
    draft = flow.to_draft(service, answers, channel="kiosk", language=language,
                          catalogue_version=catalogue.version)
    record(events.CHECK)
    saved = store.enqueue(draft)
    record(events.SUBMITTED)
    print(f"\n  saved to the outbox: reference {saved.display_reference}")
    return saved.reference


def prepare(folder: Path) -> tuple[dict[str, str], int]:
    """The demo's environment (its own store and back office on loopback) and the demo gazetteer."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {**os.environ, "ASSIST_STORE__PATH": str(folder / "assist.db"), "ASSIST_KIOSK__DEVICE_ID": DEMO_DEVICE,
           "ASSIST_KIOSK__LIBRARY_NAME": DEMO_LIBRARY, "ASSIST_FLEET__HEARTBEAT_SECONDS": "10",
           "ASSIST_BACKOFFICE__URL": f"http://127.0.0.1:{port}/", "ASSIST_BACKOFFICE__API_KEY": "demo-key",
           "ASSIST_SYNC__TIMEOUT_SECONDS": "3"}
    os.environ.update(env)
    assist("gazetteer", "import", "--demo", env=env)
    add_demo_volunteer()
    return env, port


def add_demo_volunteer() -> None:
    from sync.config import load_settings
    from sync.store import Store, volunteers

    store = Store.open(load_settings())
    try:
        if DEMO_VOLUNTEER not in {volunteer.name for volunteer in volunteers.names(store)}:
            volunteers.add(store, DEMO_VOLUNTEER, "supervisor", DEMO_PIN)
    finally:
        store.close()


def start_worker(env: dict[str, str], output=None) -> subprocess.Popen:
    print("\n$ assist sync run &", flush=True)
    return subprocess.Popen([sys.executable, "-m", "assist", "sync", "run"],
                            env={**env, "ASSIST_SYNC__POLL_SECONDS": "2"}, stdout=output, stderr=output)


def stop_all(*processes: subprocess.Popen) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=15)


def kiosk(folder: Path) -> None:
    """The kiosk in the foreground, the back office and the worker beside it."""
    env, port = prepare(folder)
    log = folder / "services.log"
    with log.open("a") as services_log, ExitStack() as running:
        fleet_url = services(folder, env, port, running, services_log)
        print(f"\n{fleet_page(fleet_url)}, while the kiosk runs.", flush=True)
        time.sleep(2)  # a moment to read it before the kiosk takes the screen
        subprocess.run([sys.executable, "-m", "assist", "kiosk", "--allow-quit"], env=env, check=False)
    print(f"The back office, the fleet service and the worker logged to {log}. Volunteer mode: F9, "
          f"{DEMO_VOLUNTEER!r}, PIN {DEMO_PIN}.\n{serve_fleet_later(folder, env)}\n"
          "Text the bot beside the demo with:\n"
          f"  ASSIST_STORE__PATH={folder / 'assist.db'} .venv/bin/assist sms chat --from +447911123456")


def story(folder: Path) -> None:
    """The same machinery as a story told on standard output."""
    env, port = prepare(folder)
    assist("gazetteer", "search", "12 hihg st", env=env)

    from sync.config import load_settings
    from sync.store import Store

    store = Store.open(load_settings())
    references = []
    references.append(resident(store, "en", "missed_bin", "12 High Street", {
        "attribute.bin_type": "recycling bin", "attribute.collection_date": "yesterday",
        "description": "Left at the kerb as usual", "name": "Sam Okafor", "phone": "0791l 123456",
        "phone!retry": "07911 123456", "email": "", "updates_by_text": "yes", "consent": "yes"}))
    references.append(resident(store, "cy", "pothole", "BF1", {
        "attribute.size": "3", "attribute.surface": "1", "description": "Twll dwfn ger yr arhosfan bws",
        "name": "", "phone": "", "email": ""}))
    assist("outbox", "import", str(EXAMPLES), env=env)
    assist("outbox", "status", env=env)

    print("\n--- no connection yet: the worker tries, and nothing is lost ---")
    assist("sync", "run", "--once", env=env)
    assist("sync", "status", env=env)

    print("\n--- the council's back office comes up, and the sync worker runs beside it ---")
    with ExitStack() as running:
        running.callback(store.close)
        services(folder, env, port, running)
        store.request("sync_now")  # what a volunteer's "sync now" does: a request left in the store
        wait_for(lambda: store.counts()["queued"] == 0 and store.counts()["sending"] == 0, "the outbox to drain")
        assist("outbox", "list", env=env)
        request_id = store.db.conn.execute("SELECT service_request_id FROM submissions WHERE reference = ?",
                                           (references[0],)).fetchone()[0]
        assist("council", "update", request_id, "--status", "closed", "--note", "Collected this morning. Sorry!",
               "--db", str(folder / "council.db"), env=env)
        store.request("sync_now")

        def closed() -> Lookup | None:
            found = store.lookup(references[0])
            return found if found is not None and found.council_status == "closed" else None
        found = wait_for(closed, "the status to come back")
        print(f"\nA resident checks {reference.display(found.reference)}:")
        for entry in found.history:
            print(f"  {entry.at:%d %b %H:%M}  {entry.status:<12} {entry.notes or ''}")
        assist("sync", "status", env=env)
        today = store.clock().date().isoformat()
        assist("report", "--since", today, "--out", str(folder / "report.html"), "--csv", str(folder / "report.csv"),
               env=env)
        print("\n--- the council's side: the fleet service has the kiosk's heartbeat and take-up figures ---")
        wait_for(lambda: fleet_heard(folder, env), "the kiosk's heartbeat and figures to reach the fleet service")
        assist("fleet", "list", env=fleet_env(folder, env))
        assist("report", "--since", today, "--out", str(folder / "fleet-report.html"), env=fleet_env(folder, env))
    print(f"\nThe take-up report is {folder / 'report.html'}. The demo store is {folder / 'assist.db'}; try "
          f"`ASSIST_STORE__PATH={folder / 'assist.db'} .venv/bin/assist outbox list`, or `make demo` in a terminal "
          f"for the kiosk (volunteer mode: F9, {DEMO_VOLUNTEER!r}, PIN {DEMO_PIN}).\n{serve_fleet_later(folder, env)}")


@click.command()
@click.option("--dir", "folder", default="demo-data", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Where the demo's store, key and back office live.")
@click.option("--script", is_flag=True, help="Tell the story on standard output instead of running the kiosk.")
def demo(folder: Path, script: bool) -> None:
    """The kiosk with the reference back office and the sync worker beside it, all on loopback."""
    folder = folder.resolve()
    if script or not (sys.stdin.isatty() and sys.stdout.isatty()):
        story(folder)
    else:
        kiosk(folder)
