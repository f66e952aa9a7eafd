"""The PIN rules (six to twelve digits, and none of the first anyone would try) and the one way a PIN
is kept: its argon2id hash.

Not one of the commonest PINs (sync/data/common_pins.toml names its source), one digit repeated,
a run of consecutive digits or a short block repeated. A PIN set before these rules that breaks
them still signs in once, and must then be changed (sync/store/volunteers.py).
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from argon2 import PasswordHasher

PIN_MIN_DIGITS = 6
#: As long as the kiosk's PIN field takes: a longer PIN could be set but never typed.
PIN_MAX_DIGITS = 12


def problem(pin: str) -> str | None:
    """What is wrong with `pin`, said for the person choosing it; None when it is acceptable."""
    if not (pin.isascii() and pin.isdigit()):
        return "A PIN is digits only (0 to 9), with no spaces or letters."
    if not PIN_MIN_DIGITS <= len(pin) <= PIN_MAX_DIGITS:
        return f"A PIN is {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits long."
    weakness = weak_pin(pin)
    if weakness is not None:
        return f"That PIN is {weakness}, among the first anyone would try; choose another."
    return None


def weak_pin(pin: str) -> str | None:
    """Why a PIN of the right shape is too easy to guess, or None."""
    if pin in common_pins():
        return "one of the commonest PINs"
    if len(set(pin)) == 1:
        return "one digit repeated"
    steps = {(int(b) - int(a)) % 10 for a, b in zip(pin, pin[1:])}
    if steps in ({1}, {9}):  # 9: down by one; 9 to 0 going up, and 0 to 9 going down, continue a run
        return "a run of consecutive digits"
    for size in range(2, len(pin) // 2 + 1):
        if len(pin) % size == 0 and pin == pin[:size] * (len(pin) // size):
            return "a short block of digits repeated"
    return None


@cache
def common_pins() -> frozenset[str]:
    """The published list of the commonest PINs (its source is named in the file)."""
    text = resources.files("sync").joinpath("data/common_pins.toml").read_text(encoding="utf-8")
    return frozenset(tomllib.loads(text)["pins"])


@cache
def _hasher() -> PasswordHasher:
    """argon2id with argon2-cffi's defaults (RFC 9106's low-memory profile): tens of milliseconds a
    guess, on purpose. Made when a PIN is first hashed or checked, so a resident's visit never
    loads argon2 (2.5 MB of a kiosk's memory)."""
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_pin(pin: str) -> str:
    """The PIN's argon2id hash, the only form in which it is kept."""
    return _hasher().hash(pin)


def matches(pin_hash: str, pin: str) -> bool:
    """Whether `pin` is the one `pin_hash` was made from (False for a hash that is not one)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(pin_hash, pin)
    except (VerificationError, InvalidHashError):
        return False
