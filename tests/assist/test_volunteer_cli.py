"""`assist volunteer add|list|disable|audit` as a supervisor types it."""

from __future__ import annotations

import json

import pytest

from sync.config import load_settings
from sync.store import Store, volunteers

PIN = "55501234"


def test_add_list_and_disable_without_ever_showing_a_pin_or_its_hash(run, env, settings):
    added = run("volunteer", "add", "Sam Okafor", input=f"{PIN}\n{PIN}\n")
    assert added.exit_code == 0 and "Added Sam Okafor as a volunteer" in added.output
    assert run("volunteer", "add", "Ravi", "--role", "supervisor", input=f"{PIN}\n{PIN}\n").exit_code == 0
    listing = run("volunteer", "list").output.splitlines()
    assert [line.split()[-2:] for line in listing] == [["supervisor", "active"], ["volunteer", "active"]]
    assert listing[1].startswith("Sam Okafor ")

    disabled = run("volunteer", "disable", "Sam Okafor")
    assert disabled.exit_code == 0 and "can no longer sign in" in disabled.output
    assert "already disabled" in run("volunteer", "disable", "sam okafor").output
    rows = [json.loads(line) for line in run("volunteer", "list", "--json").output.splitlines()]
    assert [(row["name"], row["role"], row["state"]) for row in rows] == [
        ("Ravi", "supervisor", "active"), ("Sam Okafor", "volunteer", "disabled")]
    assert "disabled since 2" in run("volunteer", "list").output
    everything = run("volunteer", "list").output + run("volunteer", "list", "--json").output
    assert PIN not in everything and "argon2" not in everything

    store = Store.open(settings)
    assert [v.name for v in volunteers.names(store)] == ["Ravi"]
    store.close()
    audit_lines = run("volunteer", "audit").output.splitlines()
    assert "cli  disable  ok  Sam Okafor" in audit_lines[1] and "cli  add  ok  Ravi  supervisor" in audit_lines[2]


@pytest.mark.slow
def test_a_locked_volunteer_shows_as_locked(run, env):
    run("volunteer", "add", "Sam", input=f"{PIN}\n{PIN}\n")
    store = Store.open(load_settings(environ=env))
    for _ in range(volunteers.MAX_WRONG_PINS):
        try:
            volunteers.sign_in(store, "Sam", "00000000")
        except volunteers.SignInRefused:
            pass
    store.close()
    assert "locked until" in run("volunteer", "list").output


def test_a_pin_too_short_not_digits_or_not_matching_adds_nobody(run):
    for typed, message in (("12345\n12345\n", "6 to 12 digits"), ("1234567890123\n1234567890123\n", "6 to 12 digits"),
                           ("12ab56\n12ab56\n", "digits only"),
                           (f"{PIN}\n{PIN[::-1]}\n", "two PINs do not match"), (f"{PIN}\n", "PIN twice"),
                           ("", "PIN twice")):
        result = run("volunteer", "add", "Sam", input=typed)
        assert result.exit_code == 1 and message in result.output, typed
    assert "No volunteers yet" in run("volunteer", "list").output


def test_a_second_account_of_the_same_name_or_an_unknown_one_is_refused_with_a_message(run):
    run("volunteer", "add", "Sam", input=f"{PIN}\n{PIN}\n")
    again = run("volunteer", "add", "SAM", "--role", "supervisor", input=f"{PIN}\n{PIN}\n")
    assert again.exit_code == 1 and "already a volunteer called SAM" in again.output
    assert run("volunteer", "list").output.split()[:3] == ["Sam", "volunteer", "active"]
    nobody = run("volunteer", "disable", "Nobody")
    assert nobody.exit_code == 1 and "no volunteer called Nobody" in nobody.output
    assert run("volunteer", "add", "Ann", "--role", "admin", input=f"{PIN}\n{PIN}\n").exit_code == 2
