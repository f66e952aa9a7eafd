"""The take-up report's fixture: two stores with known sessions (tests/sync/reporting/test_report.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sync.reporting.test_report import KIOSK, KIOSK_SUBMISSIONS, SMS, SMS_SUBMISSIONS, build_store


@pytest.fixture
def stores(tmp_path) -> list[Path]:
    """A kiosk's store and the SMS server's, copied onto this machine."""
    return [build_store(tmp_path / "copies" / "central-library.db", "central-library-1", "kiosk", KIOSK,
                        KIOSK_SUBMISSIONS),
            build_store(tmp_path / "copies" / "sms-server.db", "sms-server", "sms", SMS, SMS_SUBMISSIONS)]
