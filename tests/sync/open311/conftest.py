"""Fixtures for the Open311 client and worker's tests: a fake Twilio for the texts the worker sends."""

from __future__ import annotations

from tests.sms.sms_support import twilio  # noqa: F401  (the fake Twilio of the SMS tests, as a fixture here)
