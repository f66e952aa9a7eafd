"""The SMS web service: signatures, retries, delivery callbacks, health, bad input, the commands."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from sms.simulator import inbound_params, replies, sign
from sync.texting import numbers, outbound, segments
from tests.sms.sms_support import AUTH_TOKEN, MOBILE, PUBLIC_URL, english, sms_env

ROOT = Path(__file__).resolve().parents[2]


def submissions(store) -> int:
    return store.db.conn.execute("SELECT count(*) FROM submissions").fetchone()[0]


def inbound_count(store) -> int:
    return store.db.conn.execute("SELECT count(*) FROM sms_inbound").fetchone()[0]


# -- signatures ------------------------------------------------------------------------------------

def test_a_request_signed_with_the_real_twilio_computation_is_answered_with_twiml(phone):
    exchange = phone.send("hello")
    assert exchange.status == 200
    assert "Which language?" in exchange.text and "Cymraeg" in exchange.text


def test_a_replayed_request_is_answered_as_before_and_acts_once(phone, sms_store):
    english(phone)
    first = phone.send("pothole outside 12 High Street")
    params = inbound_params(MOBILE, "3", sid="SMreplayed0001")
    answers = [phone.post(params) for _ in range(3)]  # Twilio's retries, or an attacker's replay
    assert len({response.text for response in answers}) == 1 and all(r.status_code == 200 for r in answers)
    assert "Where on the street" in replies(answers[0].text)[0]  # one step taken, not three
    assert "How big" in first.text
    row = sms_store.db.conn.execute("SELECT count(*) FROM sms_inbound WHERE message_sid = 'SMreplayed0001'").fetchone()
    assert row[0] == 1


def test_a_duplicate_delivery_of_the_confirming_yes_saves_one_request(phone, sms_store):
    english(phone)
    phone.say("fly tipping behind the library")
    for answer in ("1", "1", "SKIP", "SKIP", "NO", "NO"):
        phone.say(answer)
    params = inbound_params(MOBILE, "YES", sid="SMconfirm0001")
    first, second = phone.post(params), phone.post(params)
    assert replies(first.text) == replies(second.text)
    assert "Your reference is" in replies(first.text)[0]
    assert submissions(sms_store) == 1


# -- delivery status callbacks ---------------------------------------------------------------------

def queued_text(store, sid: str = "SMoutbound0001") -> int:
    queued = outbound.queue_text(store, MOBILE, "Your pothole has been fixed.", kind="status", dedupe_key="t-1",
                              language="en")
    claimed = outbound.claim_texts(store, "worker", 10, lease=timedelta(seconds=60),
                                give_up_after=timedelta(hours=48))
    assert outbound.text_sent(store, claimed[0].id, "worker", provider="twilio", provider_id=sid,
                              provider_status="queued")
    return queued.id


def provider_status(store, text_id: int) -> str:
    return store.db.conn.execute("SELECT provider_status FROM sms_texts WHERE id = ?", (text_id,)).fetchone()[0]


def test_status_callbacks_move_forward_only_whatever_order_they_arrive_in(phone, sms_store):
    text_id = queued_text(sms_store)
    assert phone.delivery("SMoutbound0001", "delivered") == 200
    assert phone.delivery("SMoutbound0001", "sent") == 200  # late
    assert phone.delivery("SMoutbound0001", "queued") == 200  # later still
    assert provider_status(sms_store, text_id) == "delivered"
    assert phone.delivery("SMoutbound0001", "read") == 200
    assert provider_status(sms_store, text_id) == "read"


def test_each_message_sid_and_status_is_taken_once_and_later_states_are_not_lost(phone, sms_store):
    text_id = queued_text(sms_store)
    for status in ("sent", "sent", "sent"):
        assert phone.delivery("SMoutbound0001", status) == 200
    assert phone.delivery("SMoutbound0001", "undelivered", error_code="30003") == 200
    events = sms_store.db.conn.execute("SELECT status FROM sms_status_events ORDER BY status").fetchall()
    assert [row[0] for row in events] == ["sent", "undelivered"]
    assert provider_status(sms_store, text_id) == "undelivered"


def test_a_delivery_failure_saying_the_number_cannot_take_texts_is_recorded(phone, sms_store):
    queued_text(sms_store)
    assert phone.delivery("SMoutbound0001", "undelivered", error_code="30006") == 200
    assert numbers.number_state(sms_store, MOBILE)["cannot_receive_at"] is not None


def test_an_unsigned_status_callback_is_refused(client, sms_store):
    text_id = queued_text(sms_store)
    response = client.post("/sms/status", data={"MessageSid": "SMoutbound0001", "MessageStatus": "failed"})
    assert response.status_code == 403
    assert provider_status(sms_store, text_id) == "queued"


def test_a_status_for_a_message_we_never_sent_is_accepted_and_ignored(phone):
    assert phone.delivery("SMnotours", "delivered") == 200


# -- health -----------------------------------------------------------------------------------------

def test_health_reports_the_database_and_the_back_offices_last_known_reachability(client, sms_store):
    sms_store.set_backoffice_state("default", reachable=False, error="connection refused")
    found = client.get("/healthz")
    assert found.status_code == 200
    body = found.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["backoffices"]["default"]["reachable"] is False
    assert set(body["texts"]) == {"queued", "sending", "sent", "failed", "suppressed"}


# -- bad input ------------------------------------------------------------------------------------

def test_a_body_over_1600_characters_gets_a_short_polite_answer(phone):
    english(phone)
    answer = phone.say("a" * 1601)
    assert "too long" in answer and segments.segments(answer) == 1


def test_an_empty_body_and_a_picture_alone_get_short_polite_answers(phone):
    english(phone)
    assert "empty" in phone.say("")
    assert "pictures" in phone.say("", media=1)
    assert "pictures" in phone.say("   ", media=2)


def test_a_signed_request_without_a_message_sid_is_a_bad_request_not_an_error(phone):
    params = {"From": MOBILE, "Body": "hello"}
    assert phone.post(params).status_code == 400


def test_escapes_and_control_characters_never_come_back(phone, sms_store):
    english(phone)
    phone.say("pothole outside 12 High Street")
    phone.say("3")
    phone.say("1")
    answer = phone.say("\x1b[31mred\x1b[0m \u202eevil\x00 hole \x07")
    assert "\x1b" not in answer and "\u202e" not in answer and "\x00" not in answer


# -- the commands ---------------------------------------------------------------------------------

@pytest.mark.parametrize("missing, named", [
    ({"ASSIST_TWILIO__AUTH_TOKEN": ""}, "twilio.auth_token"),
    ({"ASSIST_TWILIO__PUBLIC_URL": ""}, "twilio.public_url"),
    ({"ASSIST_TWILIO__AUTH_TOKEN": "", "ASSIST_TWILIO__PUBLIC_URL": ""}, "twilio.auth_token and twilio.public_url"),
])
def test_serve_refuses_to_start_without_its_secrets_and_says_which(run, env, missing, named):
    result = run("sms", "serve", extra_env={**sms_env(env), **missing})
    assert result.exit_code == 3  # a configuration error (README, "Exit codes")
    assert named in result.output and "Traceback" not in result.output


def test_the_simulator_chats_through_the_signed_webhook(run, env, sms_settings, gazetteer_template):
    import shutil

    sms_settings.store_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(gazetteer_template, sms_settings.store_path)
    result = run("sms", "chat", "--from", "+447911123456", input="missed bin 12 High St\n1\n2\n\n",
                 extra_env=sms_env(env))
    assert result.exit_code == 0, result.output
    assert "Which language?" in result.output and "Which bin was not emptied?" in result.output
    assert "segment" in result.output and "Which day should it have been emptied?" in result.output


def test_the_help_of_the_sms_commands(run):
    result = run("sms", "--help")
    assert "serve" in result.output and "chat" in result.output


def test_the_channel_imports_nothing_from_the_kiosk_and_nothing_that_calls_out():
    code = ("import sys, sms.app, sms.bot, assist.cli.sms, sms.simulator, sms.recognise; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('kiosk', 'textual', "
            "'notifications_python_client') or m.startswith('twilio.rest') "
            "or m in ('sync.texting.sender', 'sync.open311.worker', 'sync.open311.client')); print(bad)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_answers_signed_webhooks_and_stops_cleanly(env, sms_settings, gazetteer_template, signum):
    import shutil
    import socket
    import time

    import httpx

    sms_settings.store_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(gazetteer_template, sms_settings.store_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "assist", "sms", "serve", "--port", str(port)], cwd=ROOT,
                               env={**os.environ, "PYTHONPATH": str(ROOT), **sms_env(env)},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).json()["status"] == "ok"
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        params = inbound_params(MOBILE, "hello")
        answer = httpx.post(f"http://127.0.0.1:{port}/sms/inbound", data=params,
                            headers={"X-Twilio-Signature": sign(AUTH_TOKEN, PUBLIC_URL + "/sms/inbound", params)})
        assert "Which language?" in replies(answer.text)[0]
        process.send_signal(signum)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = process.stdout.read().decode()
    assert MOBILE not in output and "hello" not in output.lower().replace("hello from", "")


