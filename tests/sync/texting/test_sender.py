"""Sending queued texts through the real twilio and notifications-python-client libraries, to
Twilio's and GOV.UK Notify's APIs faked at the HTTP boundary on loopback, with their real
answers and error codes."""

from __future__ import annotations

import asyncio

import pytest

from sync.config import load_settings
from sync.texting import deliveries, numbers, outbound, retention
from sync.texting.sender import TextSender
from tests.helpers import PHONE
from tests.sms.sms_fakes import NOTIFY_KEY, NOTIFY_TEMPLATE, notify_error, twilio_error
from tests.sms.sms_support import sms_env, stop


@pytest.fixture
def twilio_settings(env):
    return load_settings(environ=sms_env(env))


@pytest.fixture
def notify_settings(env):
    return load_settings(environ={**env, "ASSIST_SMS__PROVIDER": "notify", "ASSIST_NOTIFY__API_KEY": NOTIFY_KEY,
                                  "ASSIST_NOTIFY__TEMPLATE_ID": NOTIFY_TEMPLATE})


def queue(store, number=PHONE, key="status:1:a", body="Brackenford Borough Council: your request is fixed."):
    return outbound.queue_text(store, number, body, kind="status", dedupe_key=key, language="en")


def send(store, settings, fake, **options):
    option = "notify_base_url" if settings.sms.provider == "notify" else "twilio_base_url"

    async def go():
        sender = TextSender(store, settings, **{option: fake.url}, **options)
        try:
            return await sender.send_due()
        finally:
            await sender.aclose()

    return asyncio.run(go())


def row(store, text_id):
    found = store.db.conn.execute("SELECT state, provider, provider_id, provider_status, error, body, attempts "
                                  "FROM sms_texts WHERE id = ?", (text_id,)).fetchone()
    return dict(zip(("state", "provider", "provider_id", "provider_status", "error", "body", "attempts"), found))


# -- Twilio ---------------------------------------------------------------------------------------

def test_a_text_goes_through_twilios_rest_api_with_a_status_callback(store, twilio_settings, twilio):
    queued = queue(store)
    report = send(store, twilio_settings, twilio)
    assert report.sent == 1
    request = twilio.requests[0]
    assert request["auth_ok"] and request["To"] == PHONE and request["From"] == "+447700900000"
    assert request["Body"] == "Brackenford Borough Council: your request is fixed."
    assert request["StatusCallback"] == "https://sms.brackenford.example/sms/status"
    found = row(store, queued.id)
    assert found["state"] == "sent" and found["provider_id"].startswith("SM") and found["provider_status"] == "queued"
    assert found["body"] is None  # the words go once they have left
    assert send(store, twilio_settings, twilio).sent == 0 and len(twilio.requests) == 1


def test_error_21610_marks_the_number_stopped_and_nothing_more_is_sent(store, twilio_settings, twilio):
    first = queue(store)
    twilio.fail(twilio_error(21610))
    report = send(store, twilio_settings, twilio)
    assert report.failed == 1 and "21610" in row(store, first.id)["error"]
    assert numbers.number_state(store, PHONE)["opted_out_at"] is not None
    later = queue(store, key="status:1:b")
    assert later.state == "suppressed"
    send(store, twilio_settings, twilio)
    assert len(twilio.requests) == 1


@pytest.mark.parametrize("code", [21614, 21211])
def test_a_number_that_cannot_take_texts_is_recorded(store, twilio_settings, twilio, code):
    queued = queue(store)
    twilio.fail(twilio_error(code))
    send(store, twilio_settings, twilio)
    assert row(store, queued.id)["state"] == "failed"
    assert numbers.number_state(store, PHONE)["cannot_receive_at"] is not None
    assert "+44" not in row(store, queued.id)["error"]  # Twilio's words quote the number: never kept


@pytest.mark.parametrize("code", [20429, 20500])
def test_429_and_5xx_retry_after_a_backoff_and_then_send(store, twilio_settings, twilio, clock, code):
    queued = queue(store)
    twilio.fail(twilio_error(code))
    report = send(store, twilio_settings, twilio)
    assert report.retried == 1 and row(store, queued.id)["state"] == "queued"
    assert send(store, twilio_settings, twilio).sent == 0  # not due yet
    clock.advance(minutes=15)
    assert send(store, twilio_settings, twilio).sent == 1
    assert row(store, queued.id)["attempts"] == 2


def test_refused_credentials_keep_the_text_and_retry_later(store, env, twilio, clock):
    settings = load_settings(environ=sms_env(env, ASSIST_TWILIO__AUTH_TOKEN="wrong"))
    queued = queue(store)
    assert send(store, settings, twilio).retried == 1
    assert row(store, queued.id)["state"] == "queued" and "credentials" in row(store, queued.id)["error"]


def test_no_connection_retries(store, twilio_settings, twilio):
    queued = queue(store)
    stop(twilio.url)
    report = send(store, twilio_settings, twilio)
    assert report.retried == 1 and row(store, queued.id)["state"] == "queued"


def test_another_refusal_fails_the_text_only(store, twilio_settings, twilio):
    queued = queue(store)
    twilio.fail(twilio_error(21606))
    assert send(store, twilio_settings, twilio).failed == 1
    assert row(store, queued.id)["state"] == "failed"
    assert numbers.number_state(store, PHONE)["cannot_receive_at"] is None


def test_nothing_is_sent_without_a_configured_provider(store, env, twilio):
    queue(store)
    settings = load_settings(environ=env)
    report = send(store, settings, twilio)
    assert report.not_configured == ("twilio.account_sid, twilio.auth_token, "
                                     "twilio.from_number or twilio.messaging_service_sid")
    assert twilio.requests == [] and outbound.text_states(store)["queued"] == 1


def test_a_messaging_service_sends_in_place_of_a_from_number(store, env, twilio):
    """A council whose Twilio numbers sit in a Messaging Service sends through it: Twilio picks
    the sender, and no from_number is needed."""
    queued = queue(store)
    service = "MG" + "2" * 32
    environ = sms_env(env, ASSIST_TWILIO__MESSAGING_SERVICE_SID=service)
    settings = load_settings(environ={k: v for k, v in environ.items() if k != "ASSIST_TWILIO__FROM_NUMBER"})
    assert send(store, settings, twilio).sent == 1
    request = twilio.requests[0]
    assert request["MessagingServiceSid"] == service and "From" not in request and request["To"] == PHONE
    assert row(store, queued.id)["provider_status"] == "accepted"


def test_texts_go_out_several_at_a_time_each_once(store, twilio_settings, twilio):
    for index in range(9):
        queue(store, number=f"+4479111230{index:02d}", key=f"k{index}")
    assert send(store, twilio_settings, twilio, concurrency=3).sent == 9
    assert sorted(request["To"] for request in twilio.requests) == sorted(f"+4479111230{i:02d}" for i in range(9))


# -- GOV.UK Notify --------------------------------------------------------------------------------

def test_a_text_goes_through_notify_with_the_body_as_personalisation(store, notify_settings, notify):
    queued = queue(store)
    assert send(store, notify_settings, notify).sent == 1
    request = notify.requests[0]
    assert request["authorised"] and request["phone_number"] == PHONE and request["template_id"] == NOTIFY_TEMPLATE
    assert request["personalisation"] == {"body": "Brackenford Borough Council: your request is fixed."}
    assert request["reference"] == "status:1:a"
    found = row(store, queued.id)
    assert found["state"] == "sent" and found["provider"] == "notify" and len(found["provider_id"]) == 36


def test_notify_refusing_the_phone_number_records_it_cannot_receive(store, notify_settings, notify):
    queued = queue(store)
    notify.fail(notify_error(400, "ValidationError", "phone_number Not a UK mobile number"))
    assert send(store, notify_settings, notify).failed == 1
    assert row(store, queued.id)["state"] == "failed"
    assert numbers.number_state(store, PHONE)["cannot_receive_at"] is not None


@pytest.mark.parametrize("answer", [
    notify_error(429, "RateLimitError", "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds"),
    notify_error(500, "Exception", "Internal server error"),
])
def test_notify_429_and_500_retry(store, notify_settings, notify, clock, answer):
    queued = queue(store)
    notify.fail(answer)
    assert send(store, notify_settings, notify).retried == 1 and row(store, queued.id)["state"] == "queued"
    clock.advance(minutes=15)
    assert send(store, notify_settings, notify).sent == 1


def test_notify_team_only_key_fails_the_text_with_notifys_words(store, notify_settings, notify):
    queued = queue(store)
    notify.fail(notify_error(400, "BadRequestError", "Can't send to this recipient using a team-only API key"))
    assert send(store, notify_settings, notify).failed == 1
    assert "team-only" in row(store, queued.id)["error"]
    assert numbers.number_state(store, PHONE)["cannot_receive_at"] is None


def test_a_wrong_notify_key_keeps_the_text(store, env, notify):
    other = "assist_test-11111111-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0"
    settings = load_settings(environ={**env, "ASSIST_SMS__PROVIDER": "notify", "ASSIST_NOTIFY__API_KEY": other,
                                      "ASSIST_NOTIFY__TEMPLATE_ID": NOTIFY_TEMPLATE})
    queued = queue(store)
    assert send(store, settings, notify).retried == 1 and row(store, queued.id)["state"] == "queued"


def check(store, settings, fake):
    async def go():
        sender = TextSender(store, settings, notify_base_url=fake.url, twilio_base_url=fake.url)
        try:
            return await sender.check_deliveries()
        finally:
            await sender.aclose()

    return asyncio.run(go())


def test_notify_is_asked_how_a_text_got_on_and_a_delivered_one_is_not_asked_again(store, notify_settings, notify,
                                                                                  clock):
    queued = queue(store)
    send(store, notify_settings, notify)
    notification = row(store, queued.id)["provider_id"]
    assert check(store, notify_settings, notify) == 0  # not straight away: Notify is still sending it
    clock.advance(minutes=1)
    assert check(store, notify_settings, notify) == 1
    assert row(store, queued.id)["provider_status"] == "sending"
    notify.statuses[notification] = "delivered"
    clock.advance(seconds=30)
    assert check(store, notify_settings, notify) == 0  # asked a minute ago
    clock.advance(minutes=1)
    assert check(store, notify_settings, notify) == 1
    assert row(store, queued.id)["provider_status"] == "delivered"
    clock.advance(hours=2)
    assert check(store, notify_settings, notify) == 0
    assert notify.status_requests == [notification, notification]


def test_notifys_permanent_failure_records_that_the_number_cannot_receive_texts(store, notify_settings, notify, clock):
    queued = queue(store)
    send(store, notify_settings, notify)
    notify.statuses[row(store, queued.id)["provider_id"]] = "permanent-failure"
    waiting = queue(store, key="status:1:b", body="Brackenford Borough Council: your request is closed.")
    clock.advance(minutes=2)
    check(store, notify_settings, notify)
    assert row(store, queued.id)["provider_status"] == "permanent-failure"
    assert numbers.number_state(store, PHONE)["cannot_receive_at"] is not None
    assert row(store, waiting.id)["state"] == "suppressed"  # never sent to that number again


def test_a_failed_question_to_notify_is_asked_again_later_and_gives_up_after_three_days(store, notify_settings,
                                                                                       notify, clock):
    queued = queue(store)
    send(store, notify_settings, notify)
    notification = row(store, queued.id)["provider_id"]
    notify.fail(notify_error(500, "Exception", "Internal server error"), (200, None))
    clock.advance(minutes=2)
    assert check(store, notify_settings, notify) == 1
    clock.advance(minutes=2)
    assert check(store, notify_settings, notify) == 1  # an answer with no status in it this time
    assert row(store, queued.id)["provider_status"] == "created"
    clock.advance(minutes=2)
    notify.statuses[notification] = "sending"
    asked = 0
    for _hour in range(100):  # a phone that stays off: Notify keeps saying "sending"
        asked += check(store, notify_settings, notify)
        clock.advance(hours=1)
    assert 10 < asked < 60 and row(store, queued.id)["provider_status"] == "sending"


def test_notifys_technical_failure_sends_the_text_again_once_and_its_words_go_when_it_is_delivered(
        store, notify_settings, notify, clock):
    """Notify's technical failure means the text never left ("try sending it again"): it is sent
    again, with the same words. Until Notify has said how it went, the words stay sealed."""
    queued = queue(store)
    send(store, notify_settings, notify)
    first = row(store, queued.id)["provider_id"]
    assert row(store, queued.id)["body"] is not None  # sealed, in case Notify could not send it
    notify.statuses[first] = "technical-failure"
    clock.advance(minutes=2)
    check(store, notify_settings, notify)
    assert row(store, queued.id)["state"] == "queued" and "technical failure" in row(store, queued.id)["error"]
    assert send(store, notify_settings, notify).sent == 1
    second = row(store, queued.id)["provider_id"]
    assert second != first and len(notify.requests) == 2
    assert notify.requests[1]["personalisation"] == notify.requests[0]["personalisation"]
    assert deliveries.record_delivery(store, first, "delivered")  # a late word on the first try touches nothing
    assert row(store, queued.id)["provider_status"] == "created"
    notify.statuses[second] = "delivered"
    clock.advance(minutes=2)
    check(store, notify_settings, notify)
    found = row(store, queued.id)
    assert found["state"] == "sent" and found["provider_status"] == "delivered" and found["body"] is None
    assert send(store, notify_settings, notify).sent == 0 and len(notify.requests) == 2


def test_a_notify_text_never_settled_loses_its_words_once_it_is_no_longer_asked_about(store, notify_settings,
                                                                                      notify, clock):
    queued = queue(store)
    send(store, notify_settings, notify)
    clock.advance(hours=24)
    retention.purge(store)
    assert row(store, queued.id)["body"] is not None
    clock.advance(hours=60)
    assert retention.purge(store)["sent_bodies"] == 1 and row(store, queued.id)["body"] is None


def test_twilio_texts_are_never_asked_about_it_calls_back(store, twilio_settings, twilio, clock):
    queue(store)
    send(store, twilio_settings, twilio)
    clock.advance(minutes=5)
    assert check(store, twilio_settings, twilio) == 0


def test_a_sent_text_can_take_its_delivery_status(store, twilio_settings, twilio):
    queued = queue(store)
    send(store, twilio_settings, twilio)
    sid = row(store, queued.id)["provider_id"]
    assert deliveries.record_delivery(store, sid, "delivered")
    assert row(store, queued.id)["provider_status"] == "delivered"
