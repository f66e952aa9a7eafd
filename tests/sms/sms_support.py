"""Helpers of the SMS tests: the test numbers and Twilio settings, a phone that texts the app
through signed webhooks (the real twilio signature computation), and loopback servers standing in
for Twilio's and GOV.UK Notify's APIs, whose fixtures tests/sync uses too. The SMS tests' own
fixtures (a store with the demo gazetteer, the app, a phone) are in tests/sms/conftest.py.

tests/sms has no __init__.py on purpose: with one, pytest would import it as a package named
`sms` and shadow the real one. Import from here as `tests.sms.sms_support`.
"""

from __future__ import annotations

import warnings
from typing import Any

with warnings.catch_warnings():  # starlette's TestClient asks for httpx2; the httpx it has works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from sms.app import INBOUND_PATH, STATUS_PATH
from sms.simulator import Exchange, inbound_params, replies, sign
from tests.peers import Running, serve_in_thread

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
ACCOUNT_SID = "AC" + "1" * 32
PUBLIC_URL = "https://sms.brackenford.example"
MOBILE = "+447911123456"
OTHER_MOBILE = "+447911654321"


def sms_env(env: dict[str, str], **extra: str) -> dict[str, str]:
    return {**env, "ASSIST_TWILIO__AUTH_TOKEN": AUTH_TOKEN, "ASSIST_TWILIO__PUBLIC_URL": PUBLIC_URL,
            "ASSIST_TWILIO__ACCOUNT_SID": ACCOUNT_SID, "ASSIST_TWILIO__FROM_NUMBER": "+447700900000", **extra}


class Phone:
    """A resident's phone texting the app through Twilio's signed webhook."""

    def __init__(self, client: TestClient, sender: str = MOBILE, token: str = AUTH_TOKEN,
                 url: str = PUBLIC_URL) -> None:
        self.client = client
        self.sender = sender
        self.token = token
        self.url = url

    def post(self, params: dict[str, str], *, path: str = INBOUND_PATH, signature: str | None = None,
             headers: dict[str, str] | None = None):
        if signature is None:
            signature = sign(self.token, self.url + path, params)
        return self.client.post(path, data=params, headers={"X-Twilio-Signature": signature, **(headers or {})})

    def send(self, body: str, *, sid: str | None = None, media: int = 0, sender: str | None = None) -> Exchange:
        params = inbound_params(sender or self.sender, body, sid=sid, media=media)
        response = self.post(params)
        assert response.status_code < 500
        found = replies(response.text) if response.status_code == 200 else []
        return Exchange(response.status_code, found, params["MessageSid"])

    def say(self, body: str, **options) -> str:
        exchange = self.send(body, **options)
        assert exchange.status == 200, exchange
        return exchange.text

    def delivery(self, message_sid: str, status: str, error_code: str | None = None) -> int:
        params = {"MessageSid": message_sid, "SmsSid": message_sid, "MessageStatus": status, "SmsStatus": status,
                  "AccountSid": "AC" + "1" * 32, "To": self.sender, "From": "+447700900000", "ApiVersion": "2010-04-01"}
        if error_code:
            params["ErrorCode"] = error_code
        return self.post(params, path=STATUS_PATH).status_code


def english(phone: Phone) -> Phone:
    """The phone's number has chosen English (the first contact asks)."""
    assert "Which language?" in phone.say("hello")
    assert "English" in phone.say("1")
    return phone


def welsh(phone: Phone) -> Phone:
    assert "Cymraeg" in phone.say("hello")
    phone.say("2")
    return phone


# ---------------------------------------------------------------------------------------------
# Loopback servers standing in for providers' clouds

class LoopbackServer(str):
    """A running server's base URL (no trailing slash), with its app and server."""

    app: Any
    running: Running


def serve(app) -> LoopbackServer:
    running = serve_in_thread(app, name="loopback")
    url = LoopbackServer(f"http://127.0.0.1:{running.port}")
    url.app, url.running = app, running
    return url


def stop(url: LoopbackServer) -> None:
    url.running.stop(timeout=5)

