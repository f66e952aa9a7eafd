"""`/metrics` for the council's monitoring, in Prometheus' text format (prometheus-client).

Per kiosk, from its last heartbeat (kiosks enrolled only): its queue by state, its oldest queued
request's age, how long since it was heard (since enrolment, for one never heard), how many
submissions need attention, and how long its library has been open (0 while closed), so that an
alert on silence ignores the night and gives a kiosk switched on at opening time its half hour.
The service's own counters: heartbeats and events kept, requests refused by status. Each app has
its own registry, so two services in one process (tests) count apart.
docs/fleet.md shows alert rules for a silent kiosk and a stuck queue.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from fleet import heartbeats, registry
from fleet.hours import opened_at
from sync.store.db import Database
from sync.store.times import parse_iso

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LABELS = ["device_id", "library"]


class Kiosks(Collector):
    """The per-kiosk gauges, read from the store at each scrape."""

    def __init__(self, db: Callable[[], Database], clock: Callable[[], datetime]) -> None:
        self.db, self.clock = db, clock

    def collect(self) -> Iterator[Metric]:
        queue = GaugeMetricFamily("assist_fleet_kiosk_queue", "Submissions in the kiosk's outbox, by state",
                                  labels=[*LABELS, "state"])
        oldest = GaugeMetricFamily("assist_fleet_kiosk_oldest_queued_seconds",
                                   "Age of the kiosk's oldest queued submission (0: none queued)", labels=LABELS)
        silent = GaugeMetricFamily("assist_fleet_kiosk_seconds_since_heartbeat",
                                   "Seconds since the kiosk's last heartbeat (since its enrolment if none)",
                                   labels=LABELS)
        attention = GaugeMetricFamily("assist_fleet_kiosk_needs_attention", "Submissions needing staff's attention",
                                      labels=LABELS)
        opened = GaugeMetricFamily("assist_fleet_kiosk_open_seconds",
                                   "Seconds since the kiosk's library opened (0 while it is closed)", labels=LABELS)
        now, db = self.clock(), self.db()
        for kiosk in registry.kiosks(db, now):
            if kiosk.state != "enrolled":
                continue
            labels = [kiosk.device_id, kiosk.library]
            last = heartbeats.latest(db, kiosk.device_id)
            heard = parse_iso(last[0] if last else kiosk.enrolled_at or kiosk.created_at)
            silent.add_metric(labels, max(0.0, (now - heard).total_seconds()))
            since = opened_at(kiosk.week, kiosk.timezone, now)
            opened.add_metric(labels, 0.0 if since is None else (now - since).total_seconds())
            if last is None:
                continue
            body = last[2]
            for state, count in sorted(body["outbox"].items()):
                queue.add_metric([*labels, state], float(count))
            oldest.add_metric(labels, float(body["oldest_queued_seconds"] or 0))
            attention.add_metric(labels, float(body["needs_attention"]))
        yield from (queue, oldest, silent, attention, opened)


class Metrics:
    """The service's registry: the kiosks' gauges and its own counters."""

    def __init__(self, db: Callable[[], Database], clock: Callable[[], datetime]) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.heartbeats = Counter("assist_fleet_heartbeats", "Heartbeats kept", registry=self.registry)
        self.events = Counter("assist_fleet_events", "Take-up events kept, by whether their kind is known",
                              ["known"], registry=self.registry)
        self.refused = Counter("assist_fleet_refused_requests", "Requests refused, by HTTP status", ["status"],
                               registry=self.registry)
        self.registry.register(Kiosks(db, clock))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
