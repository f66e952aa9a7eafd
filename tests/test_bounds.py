"""Bounded inputs and weak secrets: export files whose readable header is checked before any key
is derived from it, export passphrases and volunteers' PINs that are hard to guess (a weak PIN
set before the rules must be changed at the next sign-in), report CSV cells a spreadsheet shows
rather than runs, and passwords in URLs masked by `assist config`."""

from __future__ import annotations

import csv
import json
import time
import tomllib
from datetime import date
from pathlib import Path

import pytest

from sync import crypto
from sync.reporting.page import spreadsheet_safe, write_csv
from sync.reporting.report import Column, Period, Report, Row, Section
from sync.store import audit, pins, volunteers
from sync.transfer import export as transfer
from sync.transfer.export import TransferError
from tests.helpers import draft

PASS = "orbit lamp river toast"


@pytest.fixture
def exported(store, tmp_path) -> dict:
    """A real export file's envelope, holding one submission."""
    store.enqueue(draft())
    transfer.export(store, tmp_path / "out.assist", PASS)
    return json.loads((tmp_path / "out.assist").read_text())


def changed(envelope: dict, path: tuple, value) -> dict:
    copy = json.loads(json.dumps(envelope))
    target = copy
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return copy


TAMPERED = [
    (("kdf", "p"), -1, "p=-1"),
    (("kdf", "n"), 2**24, "n=16777216"),
    (("kdf", "p"), 10**6, "p=1000000"),
    (("kdf", "r"), 0, "r=0"),
    (("kdf", "n"), 3 * 2**12, "not a power of two"),
    (("kdf", "n"), 1, "n=1"),
    (("kdf", "n"), "32768", "not whole numbers"),
    (("kdf", "p"), True, "not whole numbers"),
    (("kdf", "n"), 2**16, "more work"),  # within each maximum, too much together with r=16, p=4
    (("kdf", "name"), "pbkdf2", "not scrypt"),
    (("kdf",), KeyError, "not scrypt"),
    (("kdf", "salt"), "!!not base64!!", "salt is missing or not base64"),
    (("kdf", "salt"), "AAAA", "salt is 3 bytes"),
    (("nonce",), "AAAAAAAA", "nonce is 6 bytes"),
    (("nonce",), KeyError, "nonce is missing"),
    (("ciphertext",), "", "ciphertext is 0 bytes"),
    (("ciphertext",), 12, "ciphertext is missing or not base64"),
    (("cipher",), "ChaCha20", "not AES-256-GCM"),
    (("version",), 2, "version 2 is not supported"),
    (("version",), True, "version True is not supported"),
    (("format",), "something-else", "not an assist export file"),
    (("count",), -3, "count is not a whole number"),
    (("device_id",), None, "device_id is missing"),
]


@pytest.mark.parametrize("path, value, said", TAMPERED, ids=[f"{'.'.join(p)}={v!r}"[:40] for p, v, _ in TAMPERED])
def test_a_tampered_header_is_refused_plainly_before_any_key_is_derived(store, exported, tmp_path, monkeypatch,
                                                                         path, value, said):
    envelope = changed(exported, path, value)
    if said == "more work":
        envelope["kdf"].update(r=16, p=4)
    bad = tmp_path / "bad.assist"
    bad.write_text(json.dumps(envelope))
    derived = []
    monkeypatch.setattr(crypto, "_derive", lambda *args: derived.append(args))
    started = time.monotonic()
    with pytest.raises(TransferError) as refused:
        transfer.import_file(store, bad, PASS)
    assert said in str(refused.value) and str(refused.value).startswith(f"{bad}: not a readable export file")
    assert derived == [] and time.monotonic() - started < 1


@pytest.mark.parametrize("content", ["[1, 2]", '"text"', "null", "{}"])
def test_a_file_that_is_json_but_not_an_object_is_refused_plainly(store, tmp_path, content):
    bad = tmp_path / "bad.assist"
    bad.write_text(content)
    with pytest.raises(TransferError, match="not a readable export file"):
        transfer.import_file(store, bad, PASS)


def test_an_untampered_file_still_opens(store, exported, tmp_path):
    """The settings this version writes are a quarter of the most allowed, and the file opens."""
    assert exported["kdf"]["n"] * exported["kdf"]["r"] * exported["kdf"]["p"] * 4 == transfer.SCRYPT_MAX_WORK
    good = tmp_path / "good.assist"
    good.write_text(json.dumps(exported))
    result = transfer.import_file(store, good, PASS)
    assert len(result.already_here) == 1 and not result.problems


@pytest.mark.parametrize("passphrase", ["aaaaaaaaaa", "1234567890", "passwordpassword", "assist assist assist assist",
                                        "kiosk-test-1 export"])
def test_a_guessable_passphrase_is_refused_and_nothing_is_exported(store, tmp_path, passphrase):
    store.enqueue(draft())
    with pytest.raises(TransferError, match="easy to guess; choose a stronger one. Four or more unrelated words"):
        transfer.export(store, tmp_path / "out.assist", passphrase)
    assert not (tmp_path / "out.assist").exists()
    assert store.db.conn.execute("SELECT state FROM submissions").fetchone()[0] == "queued"


@pytest.mark.parametrize("passphrase", [PASS, "Crane-Velvet-Nine-Moss", "river-library-4411", "q7#Lm2!vX9pR"])
def test_four_words_or_zxcvbns_top_score_are_accepted(passphrase):
    assert transfer.check_passphrase(passphrase) == passphrase


def test_a_very_long_passphrase_is_judged_quickly_and_a_long_pattern_is_still_a_pattern():
    started = time.monotonic()
    with pytest.raises(TransferError, match="easy to guess"):
        transfer.check_passphrase("Zq9!" * 5000)
    assert time.monotonic() - started < 2


# ---------------------------------------------------------------------------------------------
# PINs

@pytest.mark.parametrize("pin, why", [
    ("123456", "commonest"), ("000000", "commonest"), ("111111", "commonest"), ("654321", "commonest"),
    ("121212", "commonest"), ("123123", "commonest"), ("696969", "commonest"), ("112233", "commonest"),
    ("159753", "commonest"), ("147258", "commonest"), ("12345678", "commonest"), ("8675309", "commonest"),
    ("444444", "repeated"), ("44444444", "repeated"), ("3333333333", "repeated"),
    ("345678", "consecutive"), ("876543", "consecutive"), ("7890123", "consecutive"), ("3210987", "consecutive"),
    ("456789012345", "consecutive"),
    ("271271", "block"), ("40404040", "block"), ("857857857", "block"),
])
def test_a_guessable_pin_is_refused_saying_why(store, pin, why):
    with pytest.raises(volunteers.AccountError, match=why) as refused:
        volunteers.add(store, "Ann", "volunteer", pin)
    assert pin not in str(refused.value)
    assert volunteers.accounts(store) == []


@pytest.mark.parametrize("pin", ["246810", "90817263", "480617", "55501234", "135792468024"])
def test_a_pin_that_is_no_pattern_is_accepted(pin):
    assert volunteers.check_pin(pin) == pin


def test_the_list_of_commonest_pins_names_its_source_and_fits_the_pin_rules():
    data = tomllib.loads((Path(volunteers.__file__).parents[1] / "data" / "common_pins.toml").read_text())
    assert "datagenetics" in data["source"].lower()
    assert all(pin.isdigit() and volunteers.PIN_MIN_DIGITS <= len(pin) <= volunteers.PIN_MAX_DIGITS
               for pin in data["pins"])
    assert len(volunteers.common_pins()) >= 100


def test_the_demo_pin_is_valid():
    from assist.cli import demo
    assert volunteers.check_pin(demo.DEMO_PIN)


WEAK, NEW = "123456", "480617"


@pytest.fixture
def weak_sam(store):
    """Sam's account from before the PIN rules, with a PIN they now refuse."""
    volunteers.add(store, "Sam", "volunteer", "90817263")
    store.db.conn.execute("UPDATE volunteers SET pin_hash = ? WHERE name = 'Sam'", (pins.hash_pin(WEAK),))
    store.db.conn.commit()


def required(store) -> volunteers.PinChangeRequired:
    with pytest.raises(volunteers.PinChangeRequired) as caught:
        volunteers.sign_in(store, "Sam", WEAK)
    return caught.value


@pytest.mark.slow
def test_a_weak_pin_must_be_changed_at_the_next_sign_in_before_going_on(store, weak_sam, caplog):
    needed = required(store)
    assert needed.volunteer == volunteers.Volunteer("Sam", "volunteer") and "commonest" in needed.problem
    with pytest.raises(volunteers.AccountError, match="commonest"):
        volunteers.change_pin(store, needed, "654321")  # another weak one
    assert volunteers.change_pin(store, needed, NEW) == volunteers.Volunteer("Sam", "volunteer")
    assert volunteers.sign_in(store, "Sam", NEW).name == "Sam"
    with pytest.raises(volunteers.SignInRefused):
        volunteers.sign_in(store, "Sam", WEAK)
    with pytest.raises(volunteers.AccountChanged):  # a ticket is good for one change
        volunteers.change_pin(store, needed, "58291736")
    entries = [(e.action, e.outcome) for e in reversed(audit.recent(store, 20)) if e.actor == "Sam"]
    assert ("change_pin", "ok") in entries and ("change_pin", "refused") in entries
    assert WEAK not in caplog.text and NEW not in caplog.text
    assert not any(WEAK in (e.detail or "") or NEW in (e.detail or "") for e in audit.recent(store, 50))


def test_a_wrong_pin_on_a_weak_account_counts_as_any_wrong_pin(store, weak_sam):
    with pytest.raises(volunteers.SignInRefused) as refused:
        volunteers.sign_in(store, "Sam", "654321")
    assert refused.value.reason == "wrong_pin" and refused.value.attempts_left == 4


def test_an_account_switched_off_before_the_change_is_not_signed_in(store, weak_sam):
    needed = required(store)
    volunteers.disable(store, "Sam")
    with pytest.raises(volunteers.AccountChanged):
        volunteers.change_pin(store, needed, NEW)


# ---------------------------------------------------------------------------------------------
# CSV cells and URLs

def test_report_csv_cells_that_start_like_a_formula_are_neutralised_and_numbers_are_not(tmp_path):
    groups = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-1+cmd", "@SUM(A1)", "\tx", "\rx", "pothole"]
    section = Section("services", "Services", "", "Service", (Column("requests", "Requests"),
                                                              Column("change", "Change", "rate")),
                      tuple(Row(group, group, (3, -0.25)) for group in groups))
    report = Report(Period(date(2026, 11, 1), date(2026, 11, 30)), [], Section("headline", "", "", "", (), ()),
                    [section], [])
    write_csv(report, tmp_path / "report.csv")
    with (tmp_path / "report.csv").open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["section"] == "services"]
    assert [row["group"] for row in rows[::2]] == ["'" + group for group in groups[:-1]] + ["pothole"]
    assert {row["value"] for row in rows} == {"3", "-0.2500"}, "numbers are left as numbers"


@pytest.mark.parametrize("cell, shown", [("-12", "-12"), ("+44.5", "+44.5"), ("-", "'-"), ("=", "'="),
                                         ("a=b", "a=b"), (7, 7), ("", "")])
def test_only_text_that_starts_like_a_formula_is_changed(cell, shown):
    assert spreadsheet_safe(cell) == shown


@pytest.mark.parametrize("url, shown", [
    ("https://user:secret@council.example/open311/", "https://user:***@council.example/open311/"),
    ("https://user:p%40ss@council.example:8443/v2?jurisdiction=x", "https://user:***@council.example:8443/v2?jurisdiction=x"),
    ("https://user@council.example/", "https://user@council.example/"),
    ("https://council.example/", "https://council.example/"),
])
def test_assist_config_masks_a_password_written_into_a_url(run, url, shown):
    for args in (("config",), ("config", "--json")):
        result = run(*args, extra_env={"ASSIST_BACKOFFICE__URL": url})
        assert result.exit_code == 0 and shown in result.output
        if shown != url:
            assert "secret" not in result.output and "p%40ss" not in result.output


def test_the_back_office_refuses_an_empty_key_file_rather_than_serving_without_a_key(run, tmp_path):
    empty = tmp_path / "backoffice_api_key"
    empty.write_text("\n")
    result = run("council", "serve", "--port", "0", "--db", str(tmp_path / "council.db"), "--api-key-file", str(empty))
    assert result.exit_code == 2 and "is empty" in result.output
