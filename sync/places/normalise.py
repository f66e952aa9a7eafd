"""How addresses and what residents type are read: postcodes, words, house numbers and streets.

The index and every query go through the same functions (`address_words` above all), so that
"St Mary's Rd" typed at a kiosk meets "ST MARYS ROAD" from the council's file.
"""

from __future__ import annotations

import re
import unicodedata

# Royal Mail's postcode formats with the letters each position may hold (BS 7666): the area's
# first letter is never Q, V or X, its second never I, J or Z, and the inward code never uses
# C, I, K, M, O or V. GIR 0AA (the old Girobank) is the one exception still in use.
_OUTWARD = (
    "(?:[A-PR-UWYZ][0-9][0-9]?"
    "|[A-PR-UWYZ][0-9][ABCDEFGHJKPSTUW]"
    "|[A-PR-UWYZ][A-HK-Y][0-9][0-9]?"
    "|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY])"
)
_INWARD_LETTER = "[ABD-HJLNP-UW-Z]"
_POSTCODE = re.compile(f"{_OUTWARD}[0-9]{_INWARD_LETTER}{{2}}|GIR0AA")
_OUTWARD_ONLY = re.compile(_OUTWARD)
_PARTIAL_INWARD = re.compile(f"[0-9]{_INWARD_LETTER}?")

#: Abbreviations residents and address systems use, read as the full word on both sides of a search.
ABBREVIATIONS = {
    "st": "street", "rd": "road", "ave": "avenue", "av": "avenue", "ln": "lane", "cl": "close",
    "dr": "drive", "cres": "crescent", "gdns": "gardens", "pl": "place", "sq": "square",
    "tce": "terrace", "ct": "court",
}
#: Last words that mark an address part as the street when no house number does.
STREET_TYPES = frozenset(ABBREVIATIONS.values()) | {
    "way", "walk", "grove", "rise", "mews", "view", "green", "row", "hill", "parade", "approach", "park", "gate",
}
_WORD = re.compile(r"[^\W_]+")
_DIGITS = re.compile(r"[0-9]+")
#: A word that is a house number: "12", "12a".
HOUSE_NUMBER = re.compile(r"[0-9]+[a-z]?")
# "12 High Street", "12A High Street", "12-14 High Street", "Flat 2 14 High Street": the last
# number in an address part, followed by words to the end of it.
_NUMBERED_STREET = re.compile(r"(?:^|\s)([0-9]+[A-Za-z]?(?:-[0-9]+[A-Za-z]?)?)\s+([^\W\d_][^0-9]*)$")


def normalise_postcode(text: str) -> str | None:
    """`text` as a postcode in its printed form ("BF1 2AB"), or None if it is not one.

    Case and spacing are ignored, as residents type them every which way; the format and the
    letters allowed in each position are checked strictly, because other modules rely on this to
    tell a postcode from anything else a resident might type.
    """
    if not isinstance(text, str):
        return None
    compact = "".join(text.split())
    if not compact.isascii():
        return None
    compact = compact.upper()
    if not _POSTCODE.fullmatch(compact):
        return None
    return f"{compact[:-3]} {compact[-3:]}"


def postcode_prefixes(query: str) -> list[tuple[str, int]]:
    """(postcode_key prefix, length of the whole key) for each way `query` can start a postcode.

    "BF1" is a whole outward code, so matches BF1 2AB but not BF12 3AB; "BF1 2" is a sector.
    Without a space "BF12" is both the district BF12 and sector 2 of BF1, so both are returned.
    """
    text = query.strip()
    if not text.isascii():
        return []
    parts = text.upper().split()
    if len(parts) == 2:
        outward, inward = parts
        if _OUTWARD_ONLY.fullmatch(outward) and _PARTIAL_INWARD.fullmatch(inward):
            return [(outward + inward, len(outward) + 3)]
        return []
    if len(parts) != 1:
        return []
    compact = parts[0]
    prefixes = []
    for inward_length in (0, 1, 2):
        outward, inward = compact[: len(compact) - inward_length], compact[len(compact) - inward_length:]
        if _OUTWARD_ONLY.fullmatch(outward) and (not inward or _PARTIAL_INWARD.fullmatch(inward)):
            prefixes.append((compact, len(outward) + 3))
    return prefixes


def address_words(text: str) -> list[str]:
    """Lower-case words with accents, apostrophes and abbreviations taken out ("St Mary's Rd" ->
    street marys road), the same for the index and for a query so the two always meet."""
    text = unicodedata.normalize("NFKD", text.lower())
    if not text.isascii():
        text = "".join(char for char in text if not unicodedata.combining(char))
    text = text.replace("'", "").replace("\u2019", "")
    return [ABBREVIATIONS.get(word, word) for word in _WORD.findall(text)]


def natural(text: str) -> str:
    """Text that sorts numbers by value: "2" before "10", "Flat 2" before "Flat 10"."""
    return _DIGITS.sub(lambda match: match.group().zfill(6), text.lower())


def sort_key(street: str, number: str, address: str) -> str:
    """Reading order: by street, then house number, then what comes before the street (the flat
    or house name). Kept short, as it is stored in two indexes for every address."""
    before_street = address.partition(street)[0] if street else address
    return "\x1f".join((natural(street), natural(number), natural(before_street)))


def split_address(address: str) -> tuple[str, str, str]:
    """(house number, street, town) read from a one-line address, for files without those columns.

    The street is the part with a house number in it ("Flat 2, 14 Station Road, ..." -> 14,
    Station Road); failing that, the first part ending in a street word (a named house:
    "Rose Cottage, Church Lane, ..."); failing that, the second of three or more parts. The town
    is the part after the street: the village, where there is one, so that two villages' Church
    Lanes stay apart.
    """
    parts = [part.strip() for part in address.split(",") if part.strip()]
    if parts and normalise_postcode(parts[-1]):
        parts.pop()
    return split_parts(parts)


def split_parts(parts: list[str]) -> tuple[str, str, str]:
    """(house number, street, town) from an address's comma-separated parts, postcode taken off."""
    if not parts:
        return "", "", ""
    for index, part in enumerate(parts):
        if match := _NUMBERED_STREET.search(part):
            return match.group(1), match.group(2).strip(), _part(parts, index + 1)
    for index, part in enumerate(parts):
        words = address_words(part)
        if words and words[-1] in STREET_TYPES:
            return "", part, _part(parts, index + 1)
    index = 1 if len(parts) >= 3 else 0
    return "", parts[index], _part(parts, index + 1)


def _part(parts: list[str], index: int) -> str:
    return parts[index] if index < len(parts) else ""
