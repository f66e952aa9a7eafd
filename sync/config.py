"""Settings: one TOML file, `ASSIST_<SECTION>__<KEY>` environment overrides, offline defaults.

The keys themselves, with their types, defaults and documentation, are in settings.py; this
module reads the file, the environment and systemd credentials into them, and refuses a value
it cannot use with the file, the key and what was expected.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sync import catalogue as catalogue_module
from sync.printing import address as printer_address
from sync.printing.address import parse_printer
from sync.settings import (
    DEFAULT_BACKOFFICE,
    NAMED_BACKOFFICES,
    POSTGRES_URLS,
    SQLITE_URL,
    BackofficeSettings,
    KioskSettings,
    Settings,
    SyncSettings,
    documented_keys,
    mask_url_password,
    sections,
)

__all__ = ["DEFAULT_BACKOFFICE", "BackofficeSettings", "ConfigError", "KioskSettings", "Settings", "SyncSettings",
           "documented_keys", "load_settings", "mask_url_password", "parse_point"]

ENV_PREFIX = "ASSIST_"
CONFIG_ENV = "ASSIST_CONFIG"
#: systemd credentials (`LoadCredential=<name>:<file>`): when `$CREDENTIALS_DIRECTORY` holds a file of
#: one of these names, its content (stripped) is the setting, unless `ASSIST_<SECTION>__<KEY>` is set.
#: One way to hand secrets to every unit, never in an environment file or the TOML file.
CREDENTIALS = {"store.key": "store_key", "store.url": "store_url", "twilio.auth_token": "twilio_auth_token",
               "notify.api_key": "notify_api_key", "backoffice.api_key": "backoffice_api_key",
               "fleet.metrics_token": "fleet_metrics_token"}
CREDENTIALS_ENV = "CREDENTIALS_DIRECTORY"


class ConfigError(Exception):
    """A setting that cannot be used, named by file, key and what was expected."""

    def __init__(self, source: str, key: str, expected: str, got: object = None) -> None:
        self.source, self.key, self.expected = source, key, expected
        detail = f" (got {got!r})" if got is not None else ""
        super().__init__(f"{source}: {key}: expected {expected}{detail}")


def _coerce(value: Any, f: dataclasses.Field[Any], source: str, key: str) -> Any:
    """Turn a TOML value or an environment string into the field's type, or say what was wrong."""
    kind = f.type if isinstance(f.type, str) else f.type.__name__
    from_env = isinstance(value, str) and source.startswith("env")
    if kind == "bool":
        return _boolean(value, from_env, source, key)
    if kind == "int":
        return _whole_number(value, from_env, f.metadata["minimum"], source, key)
    if kind == "dict[str, Any]":
        return _table(value, source, key, from_env)
    if kind == "list[str]":
        strings = _strings(value, from_env, source, key)
        if f.metadata["networks"] and (wrong := next((item for item in strings if not is_network(item)), None)):
            raise ConfigError(source, key, "IP addresses or networks, such as 10.0.2.5 or 10.0.2.0/28 (a network "
                              "with no host bits set: 10.0.2.0/28, not 10.0.2.5/28)", wrong)
        return [item.strip() for item in strings] if f.metadata["networks"] else strings
    return _text(value, f.metadata, source, key)


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _boolean(value: Any, from_env: bool, source: str, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if from_env and value.strip().lower() in _TRUE | _FALSE:
        return bool(value.strip().lower() in _TRUE)
    raise ConfigError(source, key, "true or false", value)


def _whole_number(value: Any, from_env: bool, minimum: int | None, source: str, key: str) -> int:
    if isinstance(value, str) and from_env:
        try:
            value = int(value.strip())
        except ValueError:
            raise ConfigError(source, key, "a whole number", value) from None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(source, key, "a whole number", value)
    if minimum is not None and value < minimum:
        raise ConfigError(source, key, f"a whole number of at least {minimum}", value)
    return value


def _strings(value: Any, from_env: bool, source: str, key: str) -> list[str]:
    if isinstance(value, str) and from_env:
        value = [item.strip() for item in value.split(",") if item.strip()]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(source, key, "a list of strings", value)
    return value


def _text(value: Any, metadata: Mapping[str, Any], source: str, key: str) -> str:
    """A string setting, checked against its choices, or as a URL or a point where it is one."""
    if not isinstance(value, str):
        raise ConfigError(source, key, "a string", value)
    choices = metadata["choices"]
    if choices and value not in choices:
        raise ConfigError(source, key, "one of " + ", ".join(choices), value)
    if metadata["url"] and value and not _is_http_url(value):
        raise ConfigError(source, key, "an http or https URL, such as https://council.example/open311/v2/", value)
    if metadata["point"] and value and parse_point(value) is None:
        raise ConfigError(source, key, "a latitude and longitude as `lat,long`, such as 52.2053,0.1218", value)
    if metadata["printer"] and value and parse_printer(value) is None:
        raise ConfigError(source, key, printer_address.EXPECTED, value)
    if metadata["header"] and value and not HEADER_NAME.fullmatch(value):
        raise ConfigError(source, key, "an HTTP header's name, such as X-Remote-User", value)
    return value


#: An HTTP header's name (RFC 9110's token), as a setting may give one.
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def is_network(text: str) -> bool:
    """Whether `text` is an IP address or a network (`10.0.2.0/28`, no host bits set)."""
    try:
        ipaddress.ip_network(text.strip())
    except ValueError:
        return False
    return True


def parse_point(text: str) -> tuple[float, float] | None:
    """`lat,long` in WGS84 as two numbers, or None for anything else (or nothing)."""
    try:
        lat, long = (float(part) for part in text.split(","))
    except ValueError:
        return None
    return (lat, long) if -90 <= lat <= 90 and -180 <= long <= 180 else None


TABLE_EXPECTED = ("a table of council code = bundled code (strings), or of back-office tables of them; "
                  "in the environment CODE=code,CODE=code or a JSON object")


def _table(value: Any, source: str, key: str, from_env: bool) -> dict[str, Any]:
    """A table of strings, or of tables of strings (one level), as TOML or the environment gives it."""
    if isinstance(value, str) and from_env:
        text = value.strip()
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except ValueError:
                raise ConfigError(source, key, TABLE_EXPECTED, value) from None
        else:
            pairs = [item.partition("=") for item in text.split(",") if item.strip()]
            if any(not sep or not left.strip() or not right.strip() for left, sep, right in pairs):
                raise ConfigError(source, key, TABLE_EXPECTED, value)
            value = {left.strip(): right.strip() for left, _sep, right in pairs}
    if not isinstance(value, dict) or not all(
            isinstance(item, str) or (isinstance(item, dict) and all(isinstance(v, str) for v in item.values()))
            for item in value.values()):
        raise ConfigError(source, key, TABLE_EXPECTED, value)
    return value


def _is_http_url(text: str) -> bool:
    try:
        parts = urlsplit(text)
        parts.port  # raises ValueError for a port out of range
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(str(path), "(file)", "an existing TOML file") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(str(path), "(file)", f"valid TOML: {error}") from None
    except OSError as error:
        raise ConfigError(str(path), "(file)", f"a readable file: {error.strerror}") from None


def load_settings(path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Defaults, then the TOML file (`path` or `$ASSIST_CONFIG`), then `ASSIST_<SECTION>__<KEY>`."""
    environ = os.environ if environ is None else environ
    path = path or environ.get(CONFIG_ENV) or None
    file_values = _read_file(Path(path)) if path else {}
    source_name = str(path) if path else "(no file)"
    known = sections()
    for section, table in file_values.items():
        if section not in known and section != NAMED_BACKOFFICES:
            raise ConfigError(source_name, section, "a known section: " + ", ".join(known))
        if not isinstance(table, dict):
            raise ConfigError(source_name, section, "a table of settings", table)

    built: dict[str, Any] = {}
    sources: dict[str, str] = {}
    credentials = _credentials(environ)
    for section, cls in known.items():
        built[section] = _build(cls, section, f"{ENV_PREFIX}{section.upper()}__", file_values.get(section, {}),
                                environ, source_name, sources, credentials)
    built[NAMED_BACKOFFICES] = _named_backoffices(file_values.get(NAMED_BACKOFFICES, {}), environ, source_name,
                                                  sources)
    settings = Settings(**built, sources=sources)
    _check_store(settings, source_name)
    _check_overlay(settings, sources.get("catalogue.overlay", source_name))
    if settings.fleet.sso_header and not settings.fleet.trusted_proxies:
        raise ConfigError(sources.get("fleet.sso_header", source_name), "fleet.sso_header",
                          "fleet.trusted_proxies set too: the proxies it is trusted from (none is, by default)")
    if settings.kiosk.warning_seconds >= settings.kiosk.timeout_seconds:
        raise ConfigError(sources.get("kiosk.warning_seconds", source_name), "kiosk.warning_seconds",
                          "fewer seconds than kiosk.timeout_seconds", settings.kiosk.warning_seconds)
    return settings


def check_fleet_service(settings: Settings) -> None:
    """The time zone the fleet service reads opening hours in, checked when it starts (ConfigError,
    exit 3). Not when any settings are read: a setting only the council's side uses must never stop
    a kiosk or its worker (a kiosk's `fleet.url` is checked by the fleet step, which logs it)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(settings.fleet.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(settings.sources.get("fleet.timezone", "the defaults"), "fleet.timezone",
                          "a time zone's IANA name, such as Europe/London", settings.fleet.timezone) from None


def _check_store(settings: Settings, source_name: str) -> None:
    """`store.url` names an engine this version has, and is not set beside `store.path` (which of
    the two is meant cannot be guessed: a council moving to PostgreSQL keeps its old file)."""
    url, sources = settings.store.url, settings.sources
    if url and settings.store.path:
        raise ConfigError(f"{sources.get('store.url', source_name)} and {sources.get('store.path', source_name)}",
                          "store.url and store.path", "only one of them (store.url names the engine and place)")
    if url and not (url.startswith(SQLITE_URL) and len(url) > len(SQLITE_URL)) and not url.startswith(POSTGRES_URLS):
        raise ConfigError(sources.get("store.url", source_name), "store.url",
                          "sqlite:///PATH or postgresql://USER@HOST/DATABASE", mask_url_password(url))


def _named_backoffices(named: dict[str, Any], environ: Mapping[str, str], source_name: str,
                       sources: dict[str, str]) -> dict[str, BackofficeSettings]:
    """`[backoffices.<name>]` from the file and `ASSIST_BACKOFFICES__<NAME>__<KEY>`, each with the
    service codes routed to it, no code routed to two."""
    env_named = f"{ENV_PREFIX}{NAMED_BACKOFFICES.upper()}__"
    names = set(named) | {key[len(env_named):].split("__")[0].lower() for key in environ
                          if key.startswith(env_named) and "__" in key[len(env_named):]}
    backoffices: dict[str, BackofficeSettings] = {}
    for name in sorted(names):
        table = named.get(name, {})
        if not isinstance(table, dict) or name == DEFAULT_BACKOFFICE:
            raise ConfigError(source_name, f"{NAMED_BACKOFFICES}.{name}",
                              "a table of back-office settings, named other than 'default'", table)
        backoffices[name] = _build(BackofficeSettings, f"{NAMED_BACKOFFICES}.{name}",
                                   f"{env_named}{name.upper()}__", table, environ, source_name, sources)
    claimed: dict[str, str] = {}
    for name, backoffice in backoffices.items():
        if not backoffice.services:
            raise ConfigError(source_name, f"{NAMED_BACKOFFICES}.{name}.services", "the service codes routed to it")
        for code in backoffice.services:
            if code in claimed:
                raise ConfigError(source_name, f"{NAMED_BACKOFFICES}.{name}.services",
                                  f"codes not already routed to {claimed[code]}", code)
            claimed[code] = name
    return backoffices


def _check_overlay(settings: Settings, source: str) -> None:
    """Each pin names a bundled service that exists, once; a back-office table, a back office
    the code is routed to."""
    if not settings.catalogue.overlay:
        return
    known = [service.code for service in catalogue_module.bundled().services]
    council_codes: set[str] = set()
    bundled_codes: dict[str, str] = {}
    for key, value in settings.catalogue.overlay.items():
        table = {key: value} if isinstance(value, str) else value
        where = "catalogue.overlay" if isinstance(value, str) else f"catalogue.overlay.{key}"
        if not isinstance(value, str):
            if key not in settings.all_backoffices():
                raise ConfigError(source, where, "a back office's name: " + ", ".join(settings.all_backoffices()), key)
        for council, ours in table.items():
            if not isinstance(value, str) and settings.route(council) != key:
                raise ConfigError(source, f"{where}.{council}",
                                  f"a code routed to back office {key!r} (it goes to {settings.route(council)!r})")
            if ours not in known:
                raise ConfigError(source, f"{where}.{council}", "a bundled service code: " + ", ".join(known), ours)
            if council in council_codes:
                raise ConfigError(source, f"{where}.{council}", "each council code pinned once", council)
            if ours in bundled_codes:
                raise ConfigError(source, f"{where}.{council}",
                                  f"a bundled service not already pinned to {bundled_codes[ours]!r}", ours)
            council_codes.add(council)
            bundled_codes[ours] = council


def _credentials(environ: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """`section.key` -> (value, source) for each systemd credential present (see CREDENTIALS)."""
    folder = environ.get(CREDENTIALS_ENV)
    if not folder:
        return {}
    found = {}
    for dotted, name in CREDENTIALS.items():
        path = Path(folder) / name
        try:
            found[dotted] = (path.read_text(encoding="utf-8").strip(), f"credential {name}")
        except FileNotFoundError:
            continue
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or error
            raise ConfigError(str(path), dotted, f"a readable credential file: {reason}") from None
    return found


def _build(cls: type, section: str, env_prefix: str, table: dict[str, Any], environ: Mapping[str, str],
           source_name: str, sources: dict[str, str], credentials: Mapping[str, tuple[str, str]] = {}) -> Any:
    """One section's settings: defaults, then its TABLE in the file, then a systemd credential,
    then its environment."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in table:
        if key not in fields:
            raise ConfigError(source_name, f"{section}.{key}", "a known key: " + ", ".join(fields))
    values: dict[str, Any] = {}
    for name, f in fields.items():
        dotted = f"{section}.{name}"
        env_name = f"{env_prefix}{name.upper()}"
        if env_name in environ:
            values[name] = _coerce(environ[env_name], f, f"env {env_name}", dotted)
            sources[dotted] = f"env {env_name}"
        elif dotted in credentials:
            values[name], sources[dotted] = credentials[dotted]
        elif name in table:
            values[name] = _coerce(table[name], f, source_name, dotted)
            sources[dotted] = source_name
    return cls(**values)
