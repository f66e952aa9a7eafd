"""Volunteers at the kiosk: signing in with a PIN, lockout, roles, and the audit log."""

from __future__ import annotations

import logging

import pytest

from sync.store import Store, audit, pins, volunteers
from sync.store.volunteers import NotAllowed, SignInRefused
from tests.helpers import draft

PIN = "90817263"
WRONG = "11112222"


@pytest.fixture
def sam(store):
    return volunteers.add(store, "Sam", "volunteer", PIN)


def refused(store, name, pin) -> SignInRefused:
    with pytest.raises(SignInRefused) as caught:
        volunteers.sign_in(store, name, pin)
    return caught.value


def test_the_right_pin_signs_in_and_a_wrong_one_says_how_many_tries_are_left(store, sam):
    assert volunteers.sign_in(store, "Sam", PIN) == volunteers.Volunteer("Sam", "volunteer")
    first = refused(store, "Sam", WRONG)
    assert (first.reason, first.attempts_left) == ("wrong_pin", 4)
    assert refused(store, "Sam", WRONG).attempts_left == 3
    assert volunteers.sign_in(store, "Sam", PIN).name == "Sam"  # a right PIN resets the count
    assert refused(store, "Sam", WRONG).attempts_left == 4
    assert refused(store, "Sam", "").reason == "wrong_pin"


@pytest.mark.slow  # argon2 is slow on purpose, and this checks six PINs or more
def test_five_wrong_pins_lock_the_volunteer_out_for_fifteen_minutes(store, sam, clock):
    for left in (4, 3, 2, 1):
        assert refused(store, "Sam", WRONG).attempts_left == left
    fifth = refused(store, "Sam", WRONG)
    assert fifth.reason == "locked" and fifth.until == clock.now + volunteers.LOCKOUT
    clock.advance(minutes=14, seconds=59)
    assert refused(store, "Sam", PIN).reason == "locked"  # even the right PIN, while locked
    assert volunteers.accounts(store)[0].locked_until == fifth.until
    clock.advance(seconds=1)
    assert volunteers.sign_in(store, "Sam", PIN).name == "Sam"
    assert volunteers.accounts(store)[0].locked_until is None
    assert refused(store, "Sam", WRONG).attempts_left == 4  # a fresh count after the lock


@pytest.mark.slow  # argon2 is slow on purpose, and this checks six PINs or more
def test_two_kiosks_cannot_both_get_a_sixth_try(store, sam, settings, clock, monkeypatch):
    """The other kiosk's fifth wrong PIN is recorded while this one checks the right PIN: the
    lock it set holds, and the right PIN does not undo it."""
    for _ in range(4):
        refused(store, "Sam", WRONG)
    other_kiosk = Store.open(settings, clock=clock)
    real_matches = pins.matches

    def meanwhile_at_the_other_kiosk(pin_hash, pin):
        monkeypatch.setattr(pins, "matches", real_matches)
        assert refused(other_kiosk, "Sam", WRONG).reason == "locked"
        return real_matches(pin_hash, pin)

    monkeypatch.setattr(pins, "matches", meanwhile_at_the_other_kiosk)
    assert refused(store, "Sam", PIN).reason == "locked"
    other_kiosk.close()


def test_a_disabled_or_unknown_volunteer_is_refused_and_drops_off_the_list(store, sam):
    volunteers.add(store, "Ravi", "supervisor", "24681357")
    assert volunteers.names(store) == [volunteers.Volunteer("Ravi", "supervisor"), sam]
    assert volunteers.disable(store, "Sam") is True
    assert volunteers.disable(store, "Sam") is False
    assert refused(store, "Sam", PIN).reason == "disabled"
    assert refused(store, "Nobody", PIN).reason == "unknown"
    assert [v.name for v in volunteers.names(store)] == ["Ravi"]
    assert [a.name for a in volunteers.accounts(store)] == ["Ravi", "Sam"]  # the row is kept


def test_accounts_refuse_weak_pins_odd_names_and_a_second_account_of_the_same_name(store, sam):
    for pin, message in (("12345", "6 to 12 digits"), ("1234567890123", "6 to 12 digits"), ("12345a", "digits only"),
                         ("１２３４５６", "digits only"), ("123 456", "digits only")):
        with pytest.raises(volunteers.AccountError, match=message):
            volunteers.add(store, "Ann", "volunteer", pin)
    with pytest.raises(volunteers.AccountError, match="already a volunteer called sam"):
        volunteers.add(store, "sam", "supervisor", PIN)
    with pytest.raises(volunteers.AccountError, match="kept for the command line"):
        volunteers.add(store, "CLI", "volunteer", PIN)
    with pytest.raises(volunteers.AccountError, match="role is one of"):
        volunteers.add(store, "Ann", "admin", PIN)
    with pytest.raises(volunteers.AccountError, match="Give the volunteer a name"):
        volunteers.add(store, "\x1b[2J ", "volunteer", PIN)
    assert [v.name for v in volunteers.names(store)] == ["Sam"]


def test_only_a_supervisor_may_leave_for_maintenance_and_a_refusal_is_audited(store, sam):
    volunteers.add(store, "Ravi", "supervisor", "24681357")
    ravi = volunteers.sign_in(store, "Ravi", "24681357")
    signed_in = volunteers.sign_in(store, "Sam", PIN)
    assert signed_in.can("dashboard") and not signed_in.can("maintenance") and ravi.can("maintenance")
    with pytest.raises(NotAllowed):
        volunteers.maintenance(store, signed_in)
    volunteers.maintenance(store, ravi)
    entries = [(e.actor, e.action, e.outcome) for e in audit.recent(store, 2)]
    assert entries == [("Ravi", "maintenance", "ok"), ("Sam", "maintenance", "refused")]


@pytest.mark.sqlite_only
def test_every_sign_in_and_sign_out_is_audited_and_no_pin_is_kept_anywhere(store, sam, settings, caplog):
    caplog.set_level(logging.DEBUG)
    signed_in = volunteers.sign_in(store, "Sam", PIN)
    refused(store, "Sam", WRONG)
    volunteers.sign_out(store, signed_in, "inactivity")
    with pytest.raises(ValueError):
        volunteers.sign_out(store, signed_in, "bored")
    entries = [(e.actor, e.action, e.outcome, e.detail) for e in reversed(audit.recent(store, 10))]
    assert entries == [("cli", "add", "ok", "volunteer"), ("Sam", "sign_in", "ok", "volunteer"),
                       ("Sam", "sign_in", "refused", "wrong PIN, 4 tries left"),
                       ("Sam", "sign_out", "ok", "inactivity")]
    assert all(e.device_id == "kiosk-test-1" for e in audit.recent(store, 10))
    store.db.conn.execute("PRAGMA wal_checkpoint(FULL)")
    for path in settings.store_path.parent.iterdir():
        assert PIN.encode() not in path.read_bytes() and WRONG.encode() not in path.read_bytes(), path
    [pin_hash] = store.db.conn.execute("SELECT pin_hash FROM volunteers").fetchone()
    assert pin_hash.startswith("$argon2id$")
    assert PIN not in caplog.text and WRONG not in caplog.text


def test_an_audit_entry_that_cannot_be_written_does_not_stop_a_sign_out(store, sam, caplog):
    store.db.conn.execute("DROP TABLE audit_log")  # as good as a broken disk, for this table
    volunteers.sign_out(store, volunteers.Volunteer("Sam", "volunteer"), "button")
    assert "audit entry sign_out ok by Sam not recorded" in caplog.text


def test_only_a_supervisor_may_resolve_what_may_be_at_the_council_and_a_refusal_is_audited(store, sam):
    ref = store.enqueue(draft()).reference
    [item] = store.claim("w")
    store.mark_sending(item.id, "w")
    store.mark_needs_attention(item.id, "w", "no answer after sending")
    signed_in = volunteers.sign_in(store, "Sam", PIN)
    assert not signed_in.can("resolve") and volunteers.OPERATOR.can("resolve")
    for action in (lambda: volunteers.ask_to_resolve(store, signed_in, ref, "4021"),
                   lambda: volunteers.resolve_not_at_council(store, signed_in, ref)):
        with pytest.raises(NotAllowed):
            action()
        assert [(e.actor, e.action, e.outcome) for e in audit.recent(store, 1)] == [("Sam", "resolve", "refused")]
    assert store.lookup(ref).state == "needs_attention" and store.pending_resolutions() == []
