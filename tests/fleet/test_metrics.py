"""`/metrics`: per-kiosk gauges and the service's counters, readable only with its own token."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.fleet.fleet_support import heartbeat_body, start_fleet

TOKEN = "metrics-token-for-prometheus"


@pytest.fixture
def fleet(tmp_path, fleet_clock):
    peer = start_fleet(tmp_path / "council", clock=fleet_clock, environ={"ASSIST_FLEET__METRICS_TOKEN": TOKEN})
    yield peer
    peer.stop()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def test_per_kiosk_gauges_and_the_services_counters(fleet, fleet_clock):
    stuck = fleet.enrol("stuck", fleet.add_kiosk("stuck", library="Old Town Library"))
    fleet.enrol("silent", fleet.add_kiosk("silent"))
    fleet.post("/fleet/heartbeat", heartbeat_body("stuck", fleet_clock(), outbox={"queued": 4, "accepted": 9},
                                                  oldest_queued_seconds=7200, needs_attention=2),
               device="stuck", token=stuck)
    fleet.post("/fleet/heartbeat", heartbeat_body("stuck", fleet_clock()), device="stuck", token="wrong")
    fleet_clock.advance(minutes=40)
    answer = httpx.get(fleet.url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    found = _samples(answer.text)
    stuck_labels = (("device_id", "stuck"), ("library", "Old Town Library"))
    silent_labels = (("device_id", "silent"), ("library", "Central Library"))
    assert found[("assist_fleet_kiosk_queue", tuple(sorted((*stuck_labels, ("state", "queued")))))] == 4
    assert found[("assist_fleet_kiosk_oldest_queued_seconds", stuck_labels)] == 7200
    assert found[("assist_fleet_kiosk_needs_attention", stuck_labels)] == 2
    assert found[("assist_fleet_kiosk_seconds_since_heartbeat", stuck_labels)] == 40 * 60
    assert found[("assist_fleet_kiosk_seconds_since_heartbeat", silent_labels)] == 40 * 60  # since enrolment
    # Tuesday 11:40 in London, open since 09:00 (tests/fleet/fleet_support.py's hours)
    assert found[("assist_fleet_kiosk_open_seconds", silent_labels)] == (2 * 60 + 40) * 60
    assert found[("assist_fleet_heartbeats_total", ())] == 1
    assert found[("assist_fleet_refused_requests_total", (("status", "401"),))] == 1
    assert TOKEN not in answer.text


def test_metrics_need_their_own_token(fleet, fleet_clock):
    kiosk_token = fleet.enrol("kiosk-1", fleet.add_kiosk("kiosk-1"))
    missing = httpx.get(fleet.url + "/metrics")
    assert missing.status_code == 401 and missing.json()["error"].startswith("the metrics token is needed")
    wrong = httpx.get(fleet.url + "/metrics", headers={"Authorization": "Bearer guessed"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "that is not the metrics token (fleet.metrics_token)"
    assert httpx.get(fleet.url + "/metrics", headers={"Authorization": f"Bearer {kiosk_token}"}).status_code == 401
    assert httpx.get(fleet.url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}x"}).status_code == 401


def test_metrics_are_off_without_a_token_set(tmp_path, fleet_clock):
    peer = start_fleet(tmp_path / "council", clock=fleet_clock)
    try:
        answer = httpx.get(peer.url + "/metrics", headers={"Authorization": "Bearer anything"})
        assert answer.status_code == 403 and "fleet.metrics_token is not set" in answer.json()["error"]
    finally:
        peer.stop()


def test_a_kiosk_never_heard_and_one_revoked(fleet, fleet_clock):
    from fleet import registry

    fleet.add_kiosk("waiting")  # not enrolled: no gauges yet
    fleet.enrol("gone", fleet.add_kiosk("gone"))
    registry.revoke(fleet.store.db, "gone", fleet_clock())
    fleet_clock.advance(hours=1)
    text = httpx.get(fleet.url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    assert "waiting" not in text and "gone" not in text


def alert_rules(document: str) -> str:
    """The Prometheus rule file a document shows (its ```yaml block of the group assist-fleet)."""
    text = (Path(__file__).resolve().parents[2] / document).read_text(encoding="utf-8")
    blocks = [block for block in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL) if "name: assist-fleet" in block]
    assert len(blocks) == 1, document
    return blocks[0]


def test_the_readmes_alert_rules_are_the_docs_and_name_only_metrics_the_service_exports(fleet, fleet_clock):
    assert alert_rules("README.md") == alert_rules("docs/fleet.md"), "two copies of the rules have drifted apart"
    rules = yaml.safe_load(alert_rules("README.md"))["groups"][0]["rules"]
    assert {"KioskSilent", "KioskQueueStuck"} <= {rule["alert"] for rule in rules}
    token = fleet.enrol("kiosk-1", fleet.add_kiosk("kiosk-1"))
    fleet.post("/fleet/heartbeat", heartbeat_body("kiosk-1", fleet_clock()), device="kiosk-1", token=token)
    exported = {name for name, _labels in _samples(httpx.get(fleet.url + "/metrics",
                                                             headers={"Authorization": f"Bearer {TOKEN}"}).text)}
    named = {name for rule in rules for name in re.findall(r"assist_fleet_\w+", rule["expr"])}
    assert named and named <= exported, named - exported
