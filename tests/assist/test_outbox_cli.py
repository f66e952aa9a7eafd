"""`assist outbox`: status, listing, carrying submissions on a stick, and typing up paper forms."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from stdnum import luhn

from assist.cli.context import AppContext
from assist.cli.outbox import outbox
from sync import reference
from sync.config import load_settings
from sync.store import Store, iso
from tests.helpers import EMAIL, PHONE, Clock, draft

LIST_GOLDEN = """\
QQQ-222-333A  queued          pothole            kiosk     3h  cannot connect: refused
AAA-222-333H  accepted        graffiti           kiosk     3h  council 4021: in_progress (updated 2h ago)
NNN-222-333M  needs_attention pothole            kiosk     3h  may be at the council  no answer after sending; \
the council cannot be searched
"""
SHOW_LOST_GOLDEN = """\
NNN-222-333M  pothole (kiosk), to back office default; times in UTC
state:       needs_attention (maybe sent: yes; look for it at the council, then `assist outbox resolve`)
saved:       2026-11-24 09:05:00
updated:     2026-11-24 09:06:30
attempts:    1 (first sent 2026-11-24 09:05:00)
last error:  no answer after sending; the council cannot be searched
events:
  2026-11-24 09:05:00  sending        attempt 1
  2026-11-24 09:05:30  search         pothole requests 09:00 to 09:20
  2026-11-24 09:06:00  unsearchable   400: no search
  2026-11-24 09:06:30  gave_up        may be at the council
history:
  2026-11-24 09:05:00  queued           local
  2026-11-24 09:06:30  needs_attention  local    no answer after sending; the council cannot be searched
"""
SHOW_ACCEPTED_GOLDEN = """\
AAA-222-333H  graffiti (kiosk), to back office default; times in UTC
state:       accepted
saved:       2026-11-24 09:05:00
updated:     2026-11-24 10:06:30
attempts:    1 (first sent 2026-11-24 09:05:00)
council id:  4021, status in_progress (accepted 2026-11-24 09:05:00)
events:
  2026-11-24 09:05:00  sending        attempt 1
history:
  2026-11-24 09:05:00  queued           local
  2026-11-24 09:05:00  accepted         local
  2026-11-24 10:06:30  in_progress      council
"""

PASS = "river-library-4411"


def saved_here(env, count=3):
    """`count` submissions, the first made with a volunteer's help."""
    store = Store.open(load_settings(environ=env))
    helped = {"assisted_by": "Sam", "assist_consent": "resident_types"}
    refs = [store.enqueue(draft(idempotency_key=f"key-{index}", **(helped if index == 0 else {}))).display_reference
            for index in range(count)]
    store.close()
    return refs


def test_status_prints_one_line_per_state_and_json_for_machines(run, env):
    saved_here(env, 3)
    result = run("outbox", "status")
    assert result.output.splitlines()[:2] == ["queued: 3", "sending: 0"]
    assert json.loads(run("outbox", "status", "--json").output)["queued"] == 3


def test_list_shows_references_states_and_ages_but_nothing_personal(run, env):
    refs = saved_here(env, 2)
    output = run("outbox", "list").output
    assert all(ref in output for ref in refs) and "queued" in output and "pothole" in output
    for secret in (PHONE, EMAIL, "Ann", "Station Road", "pothole by the bus"):
        assert secret not in output
    assert run("outbox", "list", "--state", "accepted").output.strip() == "The outbox is empty."


def test_export_then_import_elsewhere_round_trips_and_never_twice(run, env, tmp_path):
    refs = saved_here(env, 3)
    stick = tmp_path / "stick" / "central-library.assist"
    stick.parent.mkdir()
    result = run("outbox", "export", str(stick), input=f"{PASS}\n{PASS}\n")
    assert result.exit_code == 0 and "Exported 3 submissions" in result.output
    assert json.loads(run("outbox", "status", "--json").output) == {
        "queued": 0, "sending": 0, "awaiting_id": 0, "accepted": 0, "needs_attention": 0, "cancelled": 0,
        "exported": 3}
    assert PHONE.encode() not in stick.read_bytes() and b"Station Road" not in stick.read_bytes()

    council_env = {"ASSIST_STORE__PATH": str(tmp_path / "council-office" / "assist.db")}
    first = run("outbox", "import", str(stick), input=f"{PASS}\n", extra_env=council_env)
    assert first.exit_code == 0, first.output
    assert all(f"queued {ref}" in first.output for ref in refs) and "3 added" in first.output
    again = run("outbox", "import", str(stick), extra_env={**council_env, "ASSIST_EXPORT_PASSPHRASE": PASS})
    assert "0 added, 3 already here" in again.output

    office = Store.open(load_settings(environ=council_env))
    assert office.counts()["queued"] == 3
    moved = office.personal(refs[0])
    assert moved["contact"]["email"] == EMAIL and moved["payload"]["attributes"] == {"size": "large", "surface": "road"}
    assert [entry.notes for entry in office.lookup(refs[0]).history] == [f"imported from {stick.name}"]
    helped = office.db.conn.execute("SELECT reference, assisted_by, assist_consent FROM submissions WHERE "
                                    "assisted_by IS NOT NULL").fetchall()
    assert [(row[1], row[2]) for row in helped] == [("Sam", "resident_types")], "the help travels with it"
    office.close()
    assert "Nothing is queued" in run("outbox", "export", str(tmp_path / "again.assist"),
                                      input=f"{PASS}\n{PASS}\n").output


def test_an_export_needs_its_passphrase_and_a_changed_file_is_refused(run, env, tmp_path):
    saved_here(env, 1)
    stick = tmp_path / "out.assist"
    run("outbox", "export", str(stick), input=f"{PASS}\n{PASS}\n")
    elsewhere = {"ASSIST_STORE__PATH": str(tmp_path / "other" / "assist.db")}
    wrong = run("outbox", "import", str(stick), input="not-the-passphrase\n", extra_env=elsewhere)
    assert wrong.exit_code == 1 and "passphrase does not open this file" in wrong.output
    envelope = json.loads(stick.read_text())
    envelope["count"] = 99  # relabelled: the header is authenticated too
    stick.write_text(json.dumps(envelope))
    tampered = run("outbox", "import", str(stick), input=f"{PASS}\n", extra_env=elsewhere)
    assert tampered.exit_code == 1 and "passphrase does not open this file" in tampered.output


def test_a_short_passphrase_or_an_existing_file_is_refused_and_nothing_is_marked(run, env, tmp_path):
    saved_here(env, 1)
    short = run("outbox", "export", str(tmp_path / "a.assist"), input="short\nshort\n")
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    existing = tmp_path / "b.assist"
    existing.write_text("keep me")
    clash = run("outbox", "export", str(existing), input=f"{PASS}\n{PASS}\n")
    assert clash.exit_code == 1 and "already exists" in clash.output and existing.read_text() == "keep me"
    assert json.loads(run("outbox", "status", "--json").output)["queued"] == 1


def paper(tmp_path, *lines) -> str:
    path = tmp_path / "forms.jsonl"
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return str(path)


def test_paper_forms_good_lines_go_in_and_bad_lines_are_reported_by_number(run, env, tmp_path):
    forms = paper(tmp_path,
                  {"service_code": "missed_bin", "address_string": "12 High Street",
                   "attributes": {"bin_type": "recycling"}, "phone": "07911 123456", "first_name": "Ann",
                   "last_name": "Smith", "updates_by_text": True},
                  {"service_code": "pothole", "lat": 52.1, "long": -1.2, "attributes": {"size": "huge", "surface": 1}},
                  "this is not json",
                  {"service_code": "bulky_waste", "address_id": "100012345678",
                   "attributes": {"items": ["sofa", "fridge"], "item_count": 2}, "channel": "paper"},
                  "",
                  {"service_code": "teleport", "address_string": "x"},
                  {"service_code": "graffiti", "attributes": {"offensive": "no"}, "colour": "red"})
    result = run("outbox", "import", forms)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.startswith("line 1: queued ") for line in lines)
    assert any(line.startswith("line 4: queued ") for line in lines)
    assert ("line 2: not imported: attributes.size: Choose one of the numbered options "
            "(one of: small, medium, large)") in lines
    assert any(line.startswith("line 3: not imported: not valid JSON") for line in lines)
    assert any(line.startswith("line 6: not imported: service_code 'teleport' is not in the catalogue")
               for line in lines)
    assert any(line.startswith("line 7: not imported: unknown field(s): colour") for line in lines)
    assert "2 added, 0 already here, 4 not imported." in lines

    store = Store.open(load_settings(environ=env))
    ref = next(line.split()[-1] for line in lines if line.startswith("line 1: queued"))
    found = store.personal(ref)
    assert found["contact"] == {"name": "Ann Smith", "phone": "+447911123456"}
    assert found["notify_phone"] == "+447911123456"
    assert store.listing()[0]["channel"] == "paper"
    store.close()
    again = run("outbox", "import", forms)
    assert "0 added, 2 already here" in again.output


def test_a_paper_line_answering_a_question_the_service_does_not_ask_is_refused_by_number(run, env, tmp_path):
    forms = paper(tmp_path,
                  {"service_code": "graffiti", "address_string": "Mill Lane bridge", "attributes": {"offensive": "no"}},
                  {"service_code": "graffiti", "address_string": "Mill Lane bridge",
                   "attributes": {"offensive": "no", "size": "large", "colour": "red"}},
                  {"service_code": "litter", "address_string": "Park gates", "attributes": {"bags": 3}})
    result = run("outbox", "import", forms)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert "line 2: not imported: attributes colour, size: not asked by service graffiti (it asks: offensive)" in lines
    assert "line 3: not imported: attributes bags: not asked by service litter (it asks: nothing)" in lines
    assert "1 added, 0 already here, 2 not imported." in lines


def test_a_paper_line_missing_a_location_or_a_required_answer_says_which(run, tmp_path):
    forms = paper(tmp_path, {"service_code": "missed_bin", "attributes": {}})
    output = run("outbox", "import", forms).output
    assert "line 1: not imported: location: Choose an address, or describe where it is; attributes.bin_type: " \
           "Choose an answer" in output


def test_staff_cancel_or_resend_what_needs_attention_and_nothing_else(run, env):
    store = Store.open(load_settings(environ=env))
    stuck = store.enqueue(draft(idempotency_key="stuck"))
    sent = store.enqueue(draft(idempotency_key="sent"))
    for item in store.claim("w"):
        store.mark_sending(item.id, "w")
        if item.reference == stuck.reference:
            store.mark_needs_attention(item.id, "w", "400: size is required")
        else:
            store.mark_accepted(item.id, "w", "12")
    result = run("outbox", "requeue", stuck.display_reference.lower(), "--note", "size added by phone")
    assert result.exit_code == 0 and f"queued {stuck.display_reference} again" in result.output
    assert store.lookup(stuck.reference).state == "queued" and store.take_request("sync_now")
    refused = run("outbox", "cancel", sent.display_reference, "--reason", "duplicate")
    assert refused.exit_code == 1 and "cannot be cancelled" in refused.output
    assert run("outbox", "cancel", stuck.display_reference, "--reason", "resident withdrew").exit_code == 0
    found = store.lookup(stuck.reference)
    assert found.state == "cancelled" and found.history[-1].notes == "resident withdrew"
    assert "cannot be sent again" in run("outbox", "requeue", "AAA-AAA-AAAA", "--note", "x").output
    store.close()


def fixed_reference(body: str) -> str:
    return body + luhn.calc_check_digit(body, alphabet=reference.ALPHABET)


@pytest.fixture
def staff_view(settings):
    """A store with a fixed clock holding one request of each kind staff look at, and `assist
    outbox ...` run against it (the group invoked with that store, so ages and times are stable)."""
    clock = Clock()
    store = Store.open(settings, clock=clock)
    queued = store.enqueue(draft(idempotency_key="q"), reference=fixed_reference("QQQ222333"))
    clock.advance(minutes=5)
    accepted = store.enqueue(draft(idempotency_key="a", service_code="graffiti", attributes={"offensive": "no"}),
                             reference=fixed_reference("AAA222333"))
    store.enqueue(draft(idempotency_key="l", description="Pothole outside Ann's house, 07911 123456"),
                  reference=fixed_reference("NNN222333"))
    for item in store.claim("w"):
        store.mark_sending(item.id, "w")
        store.db.conn.execute("INSERT INTO outbox_events (submission_id, at, kind, detail) VALUES (?, ?, ?, ?)",
                              (item.id, iso(clock()), "sending", "attempt 1"))
        if item.id == queued.id:
            store.retry_later(item.id, "w", "cannot connect: refused", maybe_sent=False, retry_after=60)
        elif item.id == accepted.id:
            store.mark_accepted(item.id, "w", "4021")
        else:
            for kind, detail in (("search", "pothole requests 09:00 to 09:20"), ("unsearchable", "400: no search"),
                                 ("gave_up", "may be at the council")):
                clock.advance(seconds=30)  # within the lease
                store.db.conn.execute("INSERT INTO outbox_events (submission_id, at, kind, detail) "
                                      "VALUES (?, ?, ?, ?)", (item.id, iso(clock()), kind, detail))
            store.mark_needs_attention(item.id, "w", "no answer after sending; the council cannot be searched")
            store.db.conn.execute("UPDATE submissions SET maybe_sent = 1 WHERE id = ?", (item.id,))
    clock.advance(hours=1)
    store.record_status(accepted.id, "in_progress", "Dear Ann, our crew visits 12 Mill Lane on Friday")
    clock.advance(hours=2)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(outbox, list(args), obj=AppContext(settings, _store=store), catch_exceptions=False)

    yield invoke, store
    store.close()


def test_list_shows_the_councils_id_and_status_and_what_may_be_there_golden(staff_view):
    invoke, _ = staff_view
    assert invoke("list").output == LIST_GOLDEN
    rows = [json.loads(line) for line in invoke("list", "--json").output.splitlines()]
    assert [(row["service_request_id"], row["council_status"], row["updated_at"], row["maybe_sent"])
            for row in rows] == [(None, None, "2026-11-24T09:05:00.000000Z", False),
                                 ("4021", "in_progress", "2026-11-24T10:06:30.000000Z", False),
                                 (None, None, "2026-11-24T09:06:30.000000Z", True)]


def test_show_prints_states_attempts_events_and_history_and_nothing_personal_golden(staff_view):
    invoke, store = staff_view
    lost = invoke("show", "nnn-222-333" + fixed_reference("NNN222333")[-1].lower())
    assert lost.output == SHOW_LOST_GOLDEN
    accepted = invoke("show", reference.display(fixed_reference("AAA222333"))).output
    assert accepted == SHOW_ACCEPTED_GOLDEN
    everything = lost.output + accepted + invoke("list").output + invoke("list", "--json").output
    for secret in (PHONE, "07911", EMAIL, "Ann", "Station Road", "Deep pothole", "Mill Lane", "Friday"):
        assert secret not in everything
    missing = invoke("show", "AAA-AAA-AAAA")
    assert missing.exit_code == 1 and "no submission with this reference here" in missing.output
