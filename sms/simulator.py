"""Texting the bot without a phone: signed webhook posts, exactly as Twilio makes them.

`assist sms chat` uses this for demos and for volunteers learning what residents see; the tests
use it too. Each message goes through the real path: a form post signed with twilio's own
signature computation, the signature check, the store, the conversation and the TwiML reply.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from xml.etree import ElementTree

import httpx
from twilio.request_validator import RequestValidator

from sms.app import INBOUND_PATH, STATUS_PATH
from sync.texting.segments import segments

SIMULATOR_URL = "https://sms.simulator.invalid"
COUNCIL_NUMBER = "+447700900000"


def replies(twiml: str) -> list[str]:
    """The texts a TwiML answer sends (none for an empty <Response/>)."""
    root = ElementTree.fromstring(twiml)
    if root.tag != "Response":
        raise ValueError(f"not TwiML: <{root.tag}>")
    return [message.text or "" for message in root.iter("Message")]


def sign(auth_token: str, url: str, params: dict[str, str]) -> str:
    return RequestValidator(auth_token).compute_signature(url, params)


def inbound_params(sender: str, body: str, *, sid: str | None = None, media: int = 0,
                   to: str = COUNCIL_NUMBER) -> dict[str, str]:
    """The fields Twilio posts for an incoming text."""
    sid = sid or "SM" + uuid.uuid4().hex
    params = {"ToCountry": "GB", "SmsMessageSid": sid, "NumMedia": str(media), "SmsSid": sid, "SmsStatus": "received",
              "Body": body, "To": to, "FromCountry": "GB", "NumSegments": str(max(segments(body), 1)),
              "MessageSid": sid, "AccountSid": "AC" + "0" * 32, "From": sender, "ApiVersion": "2010-04-01"}
    for index in range(media):
        params[f"MediaUrl{index}"] = f"https://api.twilio.com/2010-04-01/Accounts/AC/Messages/{sid}/Media/ME{index}"
        params[f"MediaContentType{index}"] = "image/jpeg"
    return params


@dataclass
class Exchange:
    status: int
    texts: list[str]
    sid: str

    @property
    def text(self) -> str:
        return "\n".join(self.texts)


class Simulator:
    """A phone texting the SMS app, in-process: nothing leaves the machine."""

    def __init__(self, app, *, auth_token: str, public_url: str = SIMULATOR_URL, sender: str) -> None:
        self.auth_token = auth_token
        self.public_url = public_url.rstrip("/")
        self.sender = sender
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sms.simulator",
                                        timeout=30)

    async def send(self, body: str, *, media: int = 0, sid: str | None = None) -> Exchange:
        params = inbound_params(self.sender, body, sid=sid, media=media)
        signature = sign(self.auth_token, self.public_url + INBOUND_PATH, params)
        response = await self.client.post(INBOUND_PATH, data=params, headers={"X-Twilio-Signature": signature})
        found = replies(response.text) if response.status_code == 200 else []
        return Exchange(response.status_code, found, params["MessageSid"])

    async def delivery(self, message_sid: str, status: str, error_code: str | None = None) -> int:
        params = {"MessageSid": message_sid, "SmsSid": message_sid, "MessageStatus": status, "SmsStatus": status,
                  "AccountSid": "AC" + "0" * 32, "To": self.sender, "From": COUNCIL_NUMBER, "ApiVersion": "2010-04-01"}
        if error_code:
            params["ErrorCode"] = error_code
        signature = sign(self.auth_token, self.public_url + STATUS_PATH, params)
        response = await self.client.post(STATUS_PATH, data=params, headers={"X-Twilio-Signature": signature})
        return response.status_code

    async def aclose(self) -> None:
        await self.client.aclose()
