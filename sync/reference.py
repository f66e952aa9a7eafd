"""Resident-facing references: short, safe to read aloud or type on a phone keypad, checkable.

A reference is nine random characters and a check character from an alphabet with no 0/O, 1/I/L
or U (so nothing is misread or spells a word), shown in groups of three: `K7Q-4MB-XP9-Z` style is
avoided in favour of `K7Q-4MB-XP9Z`, three groups a person can hold in their head. Nine random
characters give 30**9 (about 2 x 10**13) possibilities: across a council's kiosks and SMS
service, which cannot ask one another while offline, two references collide with odds of about
one in a thousand after 200,000 submissions; each store's UNIQUE constraint retries within a
device, and the back office's own id is what the council goes by. The check character (Luhn mod
N, from python-stdnum) catches every single mistyped character and nearly every swap of two
neighbours, so a mistyped reference is reported as mistyped rather than "not found".
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
BODY_LENGTH = 9
LENGTH = BODY_LENGTH + 1
_SEPARATORS = re.compile(r"[\s\-_.]+")
_DISPLAYED = re.compile(rf"(?<![{ALPHABET}])[{ALPHABET}]{{3}}-[{ALPHABET}]{{3}}-[{ALPHABET}]{{4}}(?![{ALPHABET}])")


def new_reference() -> str:
    """A fresh reference in canonical (ungrouped, upper-case) form."""
    from stdnum import luhn  # here, not at the top: python-stdnum's package loads pydoc, a kiosk's start has no use for

    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return body + luhn.calc_check_digit(body, alphabet=ALPHABET)


def display(reference: str) -> str:
    """`K7Q4MBXP9Z` -> `K7Q-4MB-XP9Z`."""
    return f"{reference[:3]}-{reference[3:6]}-{reference[6:]}"


def parse(text: str) -> str | None:
    """The canonical reference a person typed, or None if it cannot be one of ours.

    Case, spaces, hyphens and dots are ignored. None means "mistyped": wrong length, a character
    outside the alphabet, or a failed check character.
    """
    from stdnum import luhn  # as in new_reference

    candidate = _SEPARATORS.sub("", text or "").upper()
    if len(candidate) != LENGTH or any(char not in ALPHABET for char in candidate):
        return None
    return candidate if luhn.is_valid(candidate, alphabet=ALPHABET) else None


def find_in(text: str) -> list[str]:
    """Every valid reference written in display form inside a longer text, such as the
    description a back office returns, which is how a sent submission is recognised there."""
    found = (parse(candidate) for candidate in _DISPLAYED.findall(text or ""))
    return list(dict.fromkeys(reference for reference in found if reference))  # once each, though written twice
