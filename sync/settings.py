"""Every setting: its section, type, default and a line of documentation, in one place.

The README's configuration reference is generated from `documented_keys` and checked by a test;
`assist config` prints the values in force and where each came from. With no file and no
environment at all the defaults work offline on a fresh machine. Reading the file and the
environment into these classes is config.py's.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import platformdirs

DEFAULT_BACKOFFICE = "default"
NAMED_BACKOFFICES = "backoffices"


def setting(default: Any, doc: str, *, choices: tuple[str, ...] = (), minimum: int | None = None,
            url: bool = False, point: bool = False, printer: bool = False, networks: bool = False,
            header: bool = False) -> Any:
    """A dataclass field carrying its documentation and constraints."""
    meta = {"doc": doc, "choices": choices, "minimum": minimum, "url": url, "point": point, "printer": printer,
            "networks": networks, "header": header}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


#: How `store.url` names each engine.
SQLITE_URL = "sqlite:///"
POSTGRES_URLS = ("postgresql://", "postgres://")


@dataclass(frozen=True)
class StoreSettings:
    path: str = setting(
        "", "SQLite file holding the outbox, status history, catalogue cache and gazetteer. Empty: `assist.db` in the "
        "platform data directory. Not set together with `url`.")
    url: str = setting(
        "", "The store's engine and place: `sqlite:///PATH` (as `path`) or `postgresql://USER@HOST/DATABASE` for the "
        "council's assist service run as several processes (one council per database; give the password in "
        "`ASSIST_STORE__URL`, the `store_url` systemd credential or a `.pgpass`, not in a file others read). Empty: "
        "`path` applies. Not set together with `path`.")
    gazetteer_path: str = setting(
        "", "For a store on PostgreSQL: the SQLite file holding the gazetteer (the address list, reference data "
        "searched with FTS5), one beside each server. Empty: `gazetteer.db` in the platform data directory. A SQLite "
        "store keeps its addresses in itself.")
    key_file: str = setting(
        "", "File holding the encryption key for personal data (created with mode 0600 on first run; never again while "
        "the store holds sealed data: a missing one is refused). Empty: `assist.key` beside the store.")
    key: str = setting(
        "", "The encryption key itself (urlsafe base64, 32 bytes), for services given it as a systemd credential "
        "(`store_key`) or in the environment (`ASSIST_STORE__KEY`). Overrides `key_file`.")
    retention_days: int = setting(
        90,
        "Days after which everything personal in a finished submission (accepted, cancelled or exported) is purged; "
        "one still waiting to be sent never is.", minimum=1)
    allow_shared_key_file: bool = setting(
        False,
        "Use a key file that other users may read (any group or other permission bits). Off: such a file is refused "
        "with the `chmod` that fixes it.")
    min_free_mb: int = setting(
        200, "Free space (MiB) below which the store's disk is reported as a problem by `assist store check` and "
        "`/healthz`.", minimum=0)


@dataclass(frozen=True)
class BackofficeSettings:
    url: str = setting(
        "http://127.0.0.1:8311/",
        "Base URL of the council's Open311 GeoReport v2 endpoint; `services.json` and the rest are relative to it.",
        url=True)
    api_key: str = setting("", "Open311 api_key sent with every POST.")
    jurisdiction_id: str = setting("", "Open311 jurisdiction_id, sent only when set.")
    format: str = setting("json", "Response format the back office is asked for.", choices=("json", "xml"))
    services: list[str] = setting(
        [],
        "Service codes routed to this back office, as the council names them (its own codes, such as `POT`, not the "
        "bundled `pothole`; a submission queued under a bundled code before the council's catalogue arrived follows "
        "its `[catalogue.overlay]` pin). For the default one, leave empty: it takes every code no "
        "`[backoffices.<name>]` claims.")
    updates: str = setting(
        "",
        "How residents' follow-ups (\"it is not fixed\", a comment) reach this back office: `fixmystreet` posts them "
        "to mySociety's `servicerequestupdates` (falling back as below if it answers 404/405); empty sends each as a "
        "new request for the same service and place that names the original one.", choices=("", "fixmystreet"))


@dataclass(frozen=True)
class SyncSettings:
    lease_seconds: int = setting(
        120, "How long a worker's claim on a submission lasts before another worker may take it.", minimum=1)
    backoff_base_seconds: int = setting(
        30, "First retry delay ceiling; full-jitter exponential backoff doubles it each attempt.", minimum=0)
    backoff_cap_seconds: int = setting(3600, "Largest retry delay ceiling, however many attempts.", minimum=0)
    concurrency: int = setting(
        8, "Submissions to each back office marked `sending` without a recorded outcome at once, at most (the "
        "write-ahead bound after a crash): half of them in flight, each with the next one marked ahead while it "
        "waits for the council's answer.", minimum=1)
    batch_size: int = setting(
        100, "Submissions claimed, marked `sending` and recorded at a time (one commit each).", minimum=1)
    timeout_seconds: int = setting(15, "Timeout for each call to a back office (connect, read, write); twice it "
                                   "bounds each round's report to the fleet service.", minimum=1)
    max_response_bytes: int = setting(
        5_000_000, "Largest answer read from a back office; a larger one is refused unread.", minimum=1024)
    poll_seconds: int = setting(
        10, "How often `assist sync run` looks for due submissions and \"sync now\" requests.", minimum=1)
    status_poll_seconds: int = setting(
        600, "How often statuses of accepted requests are pulled back from the council.", minimum=1)
    catalogue_refresh_seconds: int = setting(
        21600, "How often the council's service catalogue is fetched again.", minimum=60)
    reprobe_seconds: int = setting(180, "How often a back office paused for a bad API key is tried again.", minimum=1)
    reconcile_days: int = setting(
        7, "How far back (by the council's clock) to look for a submission whose answer was lost, at least.", minimum=1)
    reconcile_give_up_hours: int = setting(
        24,
        "Hours a submission whose answer was lost may wait for its back office's search to work (counted only while "
        "the council answers but cannot be searched, never while it is unreachable) before it goes to staff as "
        "`needs_attention`, maybe sent.", minimum=1)
    poison_attempts: int = setting(
        8, "5xx answers in a row to one submission, while its back office accepts others, before it goes to staff as "
        "`needs_attention`, maybe sent.", minimum=2)


@dataclass(frozen=True)
class CatalogueSettings:
    overlay: dict[str, Any] = setting(
        {}, "Council services matched by hand to the bundled service whose plain words, urgent notice and translations "
        "they take, overriding the automatic match (LGSL code, then name): `POT = \"pothole\"` (council code = bundled "
        "code). A table named after a back office (`[catalogue.overlay.county]`) holds the pins of codes routed to "
        "it. Environment: `POT=pothole,BIN=missed_bin`, or a JSON object "
        "(`{\"county\": {\"GUL\": \"blocked_drain\"}}`).")


@dataclass(frozen=True)
class KioskSettings:
    device_id: str = setting(
        "", "Identifies this kiosk in submissions and to the back office. Empty: the machine's host name.")
    library_name: str = setting("Central Library", "Where the kiosk stands, as residents and the council know it.")
    timeout_seconds: int = setting(180, "Seconds without input before the inactivity warning appears.", minimum=30)
    warning_seconds: int = setting(
        60, "Seconds the inactivity warning counts down before the session is wiped (WCAG 2.2.1: at least 20).",
        minimum=20)
    name_volunteer_to_council: bool = setting(
        False,
        "Name the volunteer who helped in the description sent to the council (\"with help from Sam (volunteer)\"). "
        "Off: the council is told only that a volunteer helped; the name stays in this kiosk's store.")
    location: str = setting(
        "", "The library's own latitude and longitude, `lat,long` in WGS84 (for example `52.2053,0.1218`): sent, with "
        "the resident's words in the description, for a place described only in words that the gazetteer cannot "
        "place, to councils that require coordinates. Empty: none sent.", point=True)
    bidi: str = setting(
        "reorder",
        "Right-to-left text (Arabic, Urdu): `reorder` puts each line in display order for terminals that draw "
        "characters as they come, like foot; `terminal` leaves it to a terminal that reorders by itself.",
        choices=("reorder", "terminal"))
    printer: str = setting(
        "",
        "The receipt printer beside the kiosk, for residents to print their reference (\"Print my reference\" on the "
        "confirmation page): `usb://VENDOR:PRODUCT` (hexadecimal ids, as `lsusb` shows them), "
        "`serial:///dev/ttyUSB0?baud=9600` or `tcp://HOST:9100` (an ESC/POS printer on the network). The slip tells "
        "residents to text STATUS to `twilio.from_number` where one is set. Needs the `[printer]` extra; "
        "docs/kiosk.md says how the kiosk user gets the device. Empty: no printer, no button.", printer=True)
    web_max_sessions: int = setting(
        4, "Browser tabs `assist kiosk serve` runs at once, each its own kiosk (a process of about 100 MB); one more "
        "is shown a page saying that all kiosks are busy.", minimum=1)


@dataclass(frozen=True)
class CouncilSettings:
    name: str = setting("Brackenford Borough Council", "The council's name, shown to residents.")
    phone: str = setting("01632 960000", "The council's phone number for urgent problems and help.")


@dataclass(frozen=True)
class LanguagesSettings:
    enabled: list[str] = setting([], "Language codes offered to residents, in order. Empty: every shipped language.")
    reviewed_only: bool = setting(
        False, "Offer only English and languages whose translation a native speaker has reviewed.")


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str = setting("", "Twilio account SID, for outbound texts.")
    auth_token: str = setting("", "Twilio auth token: signs webhooks and outbound calls.")
    from_number: str = setting("", "The council's Twilio number texts are sent from.")
    messaging_service_sid: str = setting(
        "",
        "Twilio Messaging Service SID (MG...) to send through instead of `from_number`: the service picks the sender "
        "from its pool and applies its opt-out settings.")
    public_url: str = setting(
        "",
        "Public base URL Twilio reaches the SMS service at (for example https://sms.council.example); webhook paths "
        "are appended to it.")


@dataclass(frozen=True)
class SmsSettings:
    provider: str = setting(
        "twilio",
        "Who sends outbound texts (status updates, references): `twilio` (Twilio's REST API) or `notify` (GOV.UK "
        "Notify).", choices=("twilio", "notify"))
    rate_limit_per_number_per_hour: int = setting(
        30, "Messages one number may send the SMS service in an hour; past it, one polite answer and then silence.",
        minimum=1)
    rate_limit_global_per_minute: int = setting(
        600, "Messages the SMS service takes from everyone together in a minute; past it, one polite answer and then "
        "silence.", minimum=1)
    conversation_expiry_hours: int = setting(
        24, "Hours an unfinished text conversation is kept; a resident who returns later is told it was cleared.",
        minimum=1)
    send_for_hours: int = setting(
        48, "Hours an outbound text keeps being retried (429, 5xx, no connection) before it is given up as stale.",
        minimum=1)


@dataclass(frozen=True)
class NotifySettings:
    api_key: str = setting("", "GOV.UK Notify API key, used when `sms.provider = \"notify\"`.")
    template_id: str = setting(
        "", "Notify text message template whose whole content is `((body))`; assist writes the body.")
    sms_sender_id: str = setting("", "Notify text message sender ID to send from. Empty: the service's default sender.")


@dataclass(frozen=True)
class FleetSettings:
    timezone: str = setting(
        "Europe/London", "The time zone of the kiosks' opening hours (`assist fleet add-kiosk --hours`), as an IANA "
        "name.")
    heartbeat_seconds: int = setting(
        300, "How often an enrolled kiosk's sync worker sends the fleet service its heartbeat and new take-up "
        "events.", minimum=10)
    stale_minutes: int = setting(
        30, "Minutes without a heartbeat, during a kiosk's opening hours, after which the fleet service flags it as "
        "silent.", minimum=1)
    queue_alert_minutes: int = setting(
        120, "Minutes a kiosk's oldest queued request may wait before the fleet service flags its queue as stuck.",
        minimum=1)
    url: str = setting(
        "", "For a kiosk: the fleet service's base URL it enrolled with (`assist fleet enrol --url`, which records "
        "it in the store); set here only to override that one. Plain http is refused except to this machine.",
        url=True)
    metrics_token: str = setting(
        "", "The fleet service's bearer token for `/metrics` (the council's monitoring sends it; give it as the "
        "systemd credential `fleet_metrics_token` or in `ASSIST_FLEET__METRICS_TOKEN`). Empty: `/metrics` is refused.")
    trusted_proxies: list[str] = setting(
        [], "Addresses and networks (`10.0.2.5`, `10.0.2.0/28`, `::1`) of the reverse proxies in front of the fleet "
        "service: only a request whose connection comes from one of them may sign staff in with `fleet.sso_header`, "
        "and only their `X-Forwarded-For` and `X-Forwarded-Proto` are believed (in logs, and for the Secure cookie). "
        "Empty: none is trusted.", networks=True)
    sso_header: str = setting(
        "", "The request header in which the council's single sign-on proxy names the member of staff it signed in "
        "(such as `X-Remote-User`): with it, from `fleet.trusted_proxies`, the fleet page opens as that person without "
        "the service's own sign-in. From any other address it is ignored. Never opens the kiosks' API or `/metrics`. "
        "Empty: single sign-on is off.", header=True)


@dataclass(frozen=True)
class Settings:
    store: StoreSettings = field(default_factory=StoreSettings)
    backoffice: BackofficeSettings = field(default_factory=BackofficeSettings)
    sync: SyncSettings = field(default_factory=SyncSettings)
    catalogue: CatalogueSettings = field(default_factory=CatalogueSettings)
    kiosk: KioskSettings = field(default_factory=KioskSettings)
    council: CouncilSettings = field(default_factory=CouncilSettings)
    languages: LanguagesSettings = field(default_factory=LanguagesSettings)
    twilio: TwilioSettings = field(default_factory=TwilioSettings)
    sms: SmsSettings = field(default_factory=SmsSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    fleet: FleetSettings = field(default_factory=FleetSettings)
    #: Further back offices by name (`[backoffices.<name>]`), for two-tier areas.
    backoffices: Mapping[str, BackofficeSettings] = field(default_factory=dict)
    #: Where each non-default value came from, for `assist config`: {"store.path": "env ASSIST_STORE__PATH"}.
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def store_path(self) -> Path:
        """The SQLite store's file; on PostgreSQL, where one would be (the key file's default place)."""
        if self.store.url.startswith(SQLITE_URL):
            return Path(self.store.url[len(SQLITE_URL):]).expanduser()
        return _path_or(self.store.path, platformdirs.user_data_path("assist") / "assist.db")

    @property
    def gazetteer_path(self) -> Path:
        """Where a PostgreSQL store's gazetteer is (a SQLite store holds its own)."""
        return _path_or(self.store.gazetteer_path, self.store_path.with_name("gazetteer.db"))

    @property
    def store_name(self) -> str:
        """The store as messages name it: its file, or its database's URL without the password."""
        return mask_url_password(self.store.url) if self.on_postgres else str(self.store_path)

    @property
    def on_postgres(self) -> bool:
        """Whether the store is a PostgreSQL database (`store.url`) rather than a SQLite file."""
        return self.store.url.startswith(POSTGRES_URLS)

    @property
    def key_path(self) -> Path:
        return _path_or(self.store.key_file, self.store_path.with_name("assist.key"))

    @property
    def device_id(self) -> str:
        return self.kiosk.device_id or socket.gethostname()

    def all_backoffices(self) -> dict[str, BackofficeSettings]:
        """Every back office by name, the default one as "default"."""
        return {DEFAULT_BACKOFFICE: self.backoffice, **self.backoffices}

    def route(self, service_code: str) -> str:
        """The back office a service's submissions go to. `services` name council codes; a
        bundled code (a submission queued before the council's catalogue arrived) goes where the
        council code pinned to it in `[catalogue.overlay]` goes."""
        for name, backoffice in self.backoffices.items():
            if service_code in backoffice.services:
                return name
        pinned = next((council for council, ours in self.overlay_pins().items() if ours == service_code), None)
        if pinned is not None and pinned != service_code:
            return self.route(pinned)
        return DEFAULT_BACKOFFICE

    def overlay_pins(self) -> dict[str, str]:
        """`[catalogue.overlay]` as council code -> bundled code, back-office tables flattened."""
        pins: dict[str, str] = {}
        for key, value in self.catalogue.overlay.items():
            if isinstance(value, str):
                pins[key] = value
            else:
                pins.update(value)
        return pins


def sections() -> dict[str, type]:
    """Section name -> its settings class, in declaration order."""
    found: dict[str, type] = {}
    for f in dataclasses.fields(Settings):
        if f.name not in ("sources", NAMED_BACKOFFICES) and isinstance(f.default_factory, type):
            found[f.name] = f.default_factory
    return found


def documented_keys() -> list[tuple[str, Any, str]]:
    """(`section.key`, default, doc) for every setting, in declaration order."""
    rows = []
    for section, cls in sections().items():
        for f in dataclasses.fields(cls):
            default = f.default if f.default_factory is dataclasses.MISSING else f.default_factory()
            rows.append((f"{section}.{f.name}", default, f.metadata["doc"]))
    return rows


def _path_or(setting: str, default: Path) -> Path:
    """A file setting as a path (`~` expanded), or `default` when it is empty."""
    return Path(setting).expanduser() if setting else default


def mask_url_password(value: str) -> str:
    """`https://user:secret@host/` as `https://user:***@host/`: a password written into a URL
    setting (such as `backoffice.url`) is as secret as the ones kept in their own settings."""
    if "@" not in value or "://" not in value:
        return value
    try:
        parts = urlsplit(value)
        password = parts.password
    except ValueError:
        return value
    if not password:
        return value
    user, host = parts.netloc.rpartition("@")[0], parts.netloc.rpartition("@")[2]
    masked = f"{user.partition(':')[0]}:***@{host}"
    return urlunsplit(parts._replace(netloc=masked))
