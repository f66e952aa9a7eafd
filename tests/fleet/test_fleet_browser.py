"""The fleet pages in a real browser: `assist fleet serve` as a process on loopback, over a council's
store holding three enrolled kiosks (one silent in its opening hours, one with a stuck queue, one
healthy), read in Debian's chromium (headless, through Playwright) as a member of staff reads them.

The same journey runs twice: with scripts on, axe-core (from the npm registry) checks every page
against WCAG 2.2 AA; with scripts off, every step still works and no page carries a script.

The served process reads the real clock, so the store is prepared relative to it, with the
project's own functions given a past `now`: the silent kiosk's library is open every minute of
the week, so it is in its opening hours whenever the test runs."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Iterator

import pytest

from fleet import heartbeats, registry, staff
from fleet.overview import when
from sync.config import load_settings
from sync.store import Store
from sync.store.times import iso, utcnow
from tests.browser import CHROMIUM_ARGS, need_axe, need_chromium, start, stop
from tests.fleet.fleet_support import HOURS, PASSWORD, STAFF, heartbeat_body
from tests.helpers import free_port

#: A real process and a real browser: seconds.
pytestmark = pytest.mark.slow

#: What axe-core checks: WCAG 2.0, 2.1 and 2.2 at levels A and AA, and its best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
SILENT = "silent for over 30 minutes in opening hours"
STUCK = "a request queued for over 120 minutes"
#: A script in a page: an element, an event handler attribute or a javascript: address.
SCRIPTED = re.compile(r"<script|<[^>]*\son[a-z]+\s*=|javascript:", re.IGNORECASE)
#: Milliseconds a step may take before it fails (Playwright's default is 30 s).
PATIENCE_MS = 10_000


def prepare(env: dict[str, str]) -> dict[str, list[str]]:
    """Three kiosks, added and enrolled a day and more ago, and their heartbeats since; one staff
    account. Returns when each kiosk's heartbeats came, newest first."""
    settings = load_settings(environ=env)
    now = utcnow()
    added = now - timedelta(hours=31)
    kiosks = {  # device id: library, opening hours, its heartbeats (how long ago, what they said)
        "central-1": ("Central Library", "Mon-Sun 00:00-24:00",
                      [(timedelta(hours=30), {}), (timedelta(hours=3), {}), (timedelta(hours=2), {})]),
        "east-1": ("East Library", HOURS, [(timedelta(minutes=1), {"outbox": {"queued": 4, "accepted": 12},
                                                                    "oldest_queued_seconds": 3 * 3600})]),
        "west-1": ("West Library", HOURS, [(timedelta(minutes=1), {})]),
    }
    received: dict[str, list[str]] = {}
    store = Store.open(settings)
    try:
        for device, (library, hours, beats) in kiosks.items():
            code = registry.add_kiosk(store.db, device, library, hours, settings.fleet.timezone, added)
            registry.enrol(store.db, device, code, added + timedelta(minutes=1))
            for ago, changes in beats:
                body = heartbeat_body(device, now - ago, library_name=library, **changes)
                heartbeats.record(store.db, device, body, now - ago)
            received[device] = [iso(now - ago) for ago, _ in reversed(beats)]
        staff.add(store.db, STAFF, PASSWORD, now)
    finally:
        store.close()
    return received


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[dict[str, Any]]:
    """`assist fleet serve` on a free loopback port, over the prepared store: its URL and the
    heartbeats' times."""
    folder = tmp_path_factory.mktemp("fleet-browser")
    env = {"ASSIST_STORE__PATH": str(folder / "council" / "assist.db")}
    (folder / "council").mkdir()
    received = prepare(env)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start(["fleet", "serve", "--port", str(port)], env, folder / "serve.log", url + "/fleet/sign-in")
    yield {"url": url, "received": received}
    stop(process)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = need_chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Visit:
    """A browser tab on the fleet pages that checks every page it reaches: with scripts on, with
    axe-core (the pages' Content-Security-Policy forbids scripts: this context bypasses it, so as to
    run axe); with scripts off, that the page carries no script and its policy forbids them."""

    def __init__(self, page: Any, url: str, axe: str | None) -> None:
        self.page, self.url, self.axe = page, url, axe
        self.documents: list[Any] = []
        page.on("response", lambda response: self.documents.append(response)
                if response.request.resource_type == "document" else None)

    def open(self, path: str) -> None:
        self.page.goto(self.url + path)

    def follow(self, control: Any) -> None:
        """Click a link or a form's button, and wait for the page it leads to (the same address, for a
        form refused)."""
        with self.page.expect_navigation():
            control.click()

    def at(self, path: str, heading: str) -> None:
        """The tab shows `path`, headed `heading`, and the page passes its checks."""
        assert self.page.url == self.url + path
        assert self.page.get_by_role("heading", level=1).inner_text() == heading
        if self.axe is not None:
            self._accessible()
        else:
            self._without_scripts()

    def _accessible(self) -> None:
        if not self.page.evaluate("typeof axe !== 'undefined'"):
            self.page.add_script_tag(content=self.axe)
        found = self.page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
        violations = [f"{violation['id']} ({violation['impact']}): {violation['help']}\n" +
                      "\n".join(f"    {node['target']}: {node['html']}" for node in violation["nodes"])
                      for violation in found["violations"]]
        if violations:
            pytest.fail(f"axe-core on {self.page.url}:\n" + "\n".join(violations), pytrace=False)
        assert found["passes"], "axe-core checked nothing"

    def _without_scripts(self) -> None:
        document = self.documents[-1]
        policy = document.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src" not in policy, policy
        assert not SCRIPTED.search(document.text()), f"{self.page.url} carries a script"

    def sign_in(self, password: str) -> None:
        self.page.get_by_label("Staff name").fill(STAFF)
        self.page.get_by_label("Password").fill(password)
        self.follow(self.page.get_by_role("button", name="Sign in"))

    def kiosks(self) -> dict[str, dict[str, str]]:
        """The fleet page's table as staff read it: each kiosk's device id, its columns by heading."""
        headings = self.page.locator("thead th").all_inner_texts()
        found = {}
        for row in self.page.locator("tbody tr").all():
            cells = row.locator("th, td").all_inner_texts()
            found[cells[0].split()[-2]] = dict(zip(headings, cells))
        return found


@pytest.fixture(scope="module", params=["axe-core, scripts on", "scripts off"])
def context(request, browser) -> Iterator[Any]:
    """A browser context of its own (its own cookies) for each way of reading the pages."""
    scripts = request.param != "scripts off"
    axe = need_axe() if scripts else None
    opened = browser.new_context(java_script_enabled=scripts, bypass_csp=scripts)
    opened.set_default_timeout(PATIENCE_MS)
    yield opened, axe
    opened.close()


@pytest.fixture
def visit(context, served) -> Iterator[Visit]:
    opened, axe = context
    page = opened.new_page()
    yield Visit(page, served["url"], axe)
    page.close()


def test_a_page_asked_for_without_signing_in_ends_on_the_sign_in_page(visit):
    for path in ("/fleet/", "/fleet/kiosks/central-1"):
        visit.open(path)
        visit.at("/fleet/sign-in", "Sign in")
    assert "Central Library" not in visit.page.content()


def test_staff_sign_in_read_every_kiosks_flags_open_one_and_sign_out(visit, served):
    visit.open("/fleet/sign-in")
    visit.sign_in("not the password")
    visit.at("/fleet/sign-in", "Sign in")
    assert visit.page.title().startswith("Error: ")
    assert visit.page.get_by_role("alert").inner_text() == "There is a problem\nThe staff name or password is wrong"

    visit.sign_in(PASSWORD)
    visit.at("/fleet/", "Kiosks")
    assert "2 of 3 kiosks need a look." in visit.page.locator("main").inner_text()
    kiosks = visit.kiosks()
    assert {device: kiosk["Needs a look"] for device, kiosk in kiosks.items()} == {
        "central-1": SILENT, "east-1": STUCK, "west-1": "No problems"}
    assert (kiosks["east-1"]["Queue"], kiosks["east-1"]["Oldest waiting"]) == ("4", "3 hours")
    assert kiosks["central-1"]["Last heard"] == when(served["received"]["central-1"][0])

    visit.follow(visit.page.get_by_role("link", name="Central Library"))
    visit.at("/fleet/kiosks/central-1", "Central Library: kiosk central-1")
    assert visit.page.get_by_role("listitem").all_inner_texts() == [SILENT]
    assert visit.page.locator("caption").inner_text() == "Heartbeats in the last 24 hours (2)"
    shown = visit.page.locator("tbody th").all_inner_texts()
    assert shown == [when(moment) for moment in served["received"]["central-1"][:2]]  # not the one 30 hours ago

    visit.open("/fleet/kiosks/nowhere-1")
    visit.at("/fleet/kiosks/nowhere-1", "No such kiosk")

    visit.follow(visit.page.get_by_role("button", name="Sign out"))
    visit.at("/fleet/sign-in", "Sign in")
    visit.open("/fleet/")
    visit.at("/fleet/sign-in", "Sign in")
