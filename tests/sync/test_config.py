"""Settings: offline defaults, one TOML file, environment overrides, and kind errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sync.config import ConfigError, documented_keys, load_settings

README = Path(__file__).resolve().parents[2] / "README.md"
REQUIRED = """store.path store.key_file store.retention_days backoffice.url backoffice.api_key
backoffice.jurisdiction_id backoffice.format sync.lease_seconds sync.backoff_base_seconds
sync.backoff_cap_seconds kiosk.device_id kiosk.library_name kiosk.timeout_seconds kiosk.warning_seconds
council.name council.phone languages.enabled languages.reviewed_only twilio.account_sid twilio.auth_token
twilio.from_number twilio.public_url""".split()


def test_no_file_and_no_environment_gives_defaults_that_work_offline():
    settings = load_settings(environ={})
    assert settings.backoffice.url.startswith("http://127.0.0.1")
    assert settings.store_path.name == "assist.db" and settings.key_path.name == "assist.key"
    assert settings.kiosk.timeout_seconds == 180 and settings.kiosk.warning_seconds == 60
    assert settings.device_id  # the host name
    assert settings.languages.enabled == [] and settings.languages.reviewed_only is False


def test_every_required_key_exists_and_the_readme_documents_each_with_its_default():
    keys = [key for key, _default, _doc in documented_keys()]
    assert set(REQUIRED) <= set(keys)
    readme = README.read_text()
    for key, default, doc in documented_keys():
        assert f"`{key}`" in readme and doc in readme, f"{key}: run python tools/config_reference.py"
    check = subprocess.run([sys.executable, "tools/config_reference.py", "--check"], cwd=README.parent)
    assert check.returncode == 0, "README's configuration table is out of date: run python tools/config_reference.py"


def test_the_file_then_the_environment(tmp_path):
    path = tmp_path / "assist.toml"
    path.write_text('[backoffice]\nurl = "https://open311.example.gov.uk/v2/"\nformat = "xml"\n'
                    '[languages]\nenabled = ["en", "cy"]\nreviewed_only = true\n[kiosk]\ntimeout_seconds = 300\n')
    settings = load_settings(path, environ={"ASSIST_BACKOFFICE__FORMAT": "json", "ASSIST_LANGUAGES__ENABLED": "cy, en",
                                            "ASSIST_LANGUAGES__REVIEWED_ONLY": "no"})
    assert settings.backoffice.url == "https://open311.example.gov.uk/v2/"
    assert settings.backoffice.format == "json" and settings.languages.enabled == ["cy", "en"]
    assert settings.languages.reviewed_only is False and settings.kiosk.timeout_seconds == 300
    assert settings.sources["backoffice.format"] == "env ASSIST_BACKOFFICE__FORMAT"
    assert settings.sources["backoffice.url"] == str(path)


def test_the_config_file_may_come_from_assist_config(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[council]\nname = "Llanfair Council"\n')
    assert load_settings(environ={"ASSIST_CONFIG": str(path)}).council.name == "Llanfair Council"


@pytest.mark.parametrize("text, key, expected", [
    ('[kiosk]\ntimeout_seconds = "soon"\n', "kiosk.timeout_seconds", "a whole number"),
    ('[kiosk]\nwarning_seconds = 5\n', "kiosk.warning_seconds", "at least 20"),
    ('[backoffice]\nformat = "yaml"\n', "backoffice.format", "one of json, xml"),
    ('[languages]\nenabled = "cy"\n', "languages.enabled", "a list of strings"),
    ('[languages]\nreviewed_only = "yes"\n', "languages.reviewed_only", "true or false"),
    ('[backofice]\nurl = "x"\n', "backofice", "a known section"),
    ('[store]\npaht = "x"\n', "store.paht", "a known key"),
    ('[store\npath = "x"\n', "(file)", "valid TOML"),
    ('[kiosk]\ntimeout_seconds = 60\nwarning_seconds = 60\n', "kiosk.warning_seconds", "fewer seconds than"),
    ('[backoffice]\nurl = "http://council.example:99999/"\n', "backoffice.url", "an http or https URL"),
    ('[backoffice]\nurl = "council.example/open311"\n', "backoffice.url", "an http or https URL"),
])
def test_a_bad_file_names_the_file_the_key_and_what_was_expected(tmp_path, text, key, expected):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    message = str(caught.value)
    assert str(path) in message and key in message and expected in message


def test_a_bad_environment_value_names_the_variable():
    with pytest.raises(ConfigError,
                       match="env ASSIST_SYNC__LEASE_SECONDS: sync.lease_seconds: expected a whole number"):
        load_settings(environ={"ASSIST_SYNC__LEASE_SECONDS": "two minutes"})


def test_the_command_line_reports_a_bad_file_without_a_traceback(run, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[store]\nretention_days = 0\n')
    result = run("--config", str(path), "outbox", "status")
    assert result.exit_code == 3  # configuration error (README, "Exit codes")
    assert f"configuration error: {path}: store.retention_days: expected a whole number of at least 1" in result.output
    assert "Traceback" not in result.output
    missing = run("--config", str(tmp_path / "nope.toml"), "outbox", "status")
    assert missing.exit_code == 3 and "expected an existing TOML file" in missing.output


def test_assist_config_shows_values_and_sources_with_secrets_masked(run):
    result = run("config", extra_env={"ASSIST_BACKOFFICE__API_KEY": "s3cret"})
    assert 'backoffice.api_key = "********"  (env ASSIST_BACKOFFICE__API_KEY)' in result.output
    assert "s3cret" not in result.output
    assert 'kiosk.timeout_seconds = 180  (default)' in result.output


def test_further_back_offices_for_two_tier_areas(tmp_path):
    path = tmp_path / "two-tier.toml"
    path.write_text('[backoffices.county]\nurl = "https://county.example/open311/"\nformat = "xml"\n'
                    'services = ["pothole", "street_light"]\n')
    settings = load_settings(path, environ={"ASSIST_BACKOFFICES__COUNTY__API_KEY": "k",
                                            "ASSIST_BACKOFFICES__PARKS__URL": "http://parks.example/",
                                            "ASSIST_BACKOFFICES__PARKS__SERVICES": "dog_fouling"})
    assert list(settings.all_backoffices()) == ["default", "county", "parks"]
    assert settings.backoffices["county"].format == "xml" and settings.backoffices["county"].api_key == "k"
    assert settings.route("pothole") == "county" and settings.route("dog_fouling") == "parks"
    assert settings.route("missed_bin") == "default"


@pytest.mark.parametrize("text, key, expected", [
    ('[backoffices.county]\nurl = "http://c/"\n', "backoffices.county.services", "the service codes routed to it"),
    ('[backoffices.a]\nservices = ["pothole"]\n[backoffices.b]\nservices = ["pothole"]\n',
     "backoffices.b.services", "codes not already routed to a"),
    ('[backoffices.default]\nservices = ["pothole"]\n', "backoffices.default", "named other than 'default'"),
    ('[backoffices.county]\nservices = ["pothole"]\nurll = "x"\n', "backoffices.county.urll", "a known key"),
])
def test_bad_back_office_tables_are_named(tmp_path, text, key, expected):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    assert key in str(caught.value) and expected in str(caught.value)
