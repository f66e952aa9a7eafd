"""Which bundled service lends its plain words to each council service.

Real councils use their own codes (`POT`, `BIN`), so the bundled catalogue's keywords, prompts,
urgent notices and translations would never apply if they were matched by identical code alone.
Each council service is matched, strongest evidence first:

* ``pinned``: the operator said so in `[catalogue.overlay]` (council code = bundled code);
* ``code``: the council uses the bundled code itself;
* ``lgsl``: the council gives the same Local Government Service List code (``lgsl:557`` among
  its keywords, /work/shared/reference/services.md);
* ``name``: its name (alone, or after its group) is close to the bundled name or one of its
  keywords, by rapidfuzz, and clearly closer than to any other bundled service;
* ``none``: nothing good enough. A wrong match would show a wrong urgent notice and send text
  about potholes to the bins team, so no match is preferred: the service keeps its own words.

A bundled service lends its words to one council service only (the strongest match; the next
one keeps its own words, logged), so that a submission queued under a bundled code has exactly
one council code to go to. Attributes are then matched by code, then by description; list values
by key, then by name. All of this is pure: `sync.catalogue.merge` applies it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence, TypeVar

if TYPE_CHECKING:
    from sync.catalogue import Attribute, Service, Value

log = logging.getLogger(__name__)

#: How close (0-100, rapidfuzz token_sort_ratio) a council name must be to a bundled one. High on
#: purpose: "Potholes" (93) and "Street Lighting" (89) match; "Bin request" and "Street cleaning"
#: (under 70) do not.
SERVICE_THRESHOLD = 85
#: How far ahead of the second-best bundled service the best must be, so that a name close to two
#: services ("Bins") matches neither.
SERVICE_MARGIN = 5
#: Attribute descriptions and value names are short and council-worded: only near-identical text.
TEXT_THRESHOLD = 90
HOW = ("pinned", "code", "lgsl", "name", "none")
LGSL_KEYWORD = re.compile(r"^\s*lgsl\s*:\s*(\d+)\s*$", re.IGNORECASE)
_STRENGTH = {"pinned": 3, "code": 2, "lgsl": 1, "name": 0}

T = TypeVar("T")


@dataclass(frozen=True)
class Match:
    """How one council service found its bundled overlay (`bundled` empty when `how` is "none")."""

    council: str
    bundled: str
    how: str


def lgsl_of(service: "Service") -> int | None:
    """The service's LGSL code: its own field, else an `lgsl:NNN` keyword as councils send it."""
    if service.lgsl:
        return int(service.lgsl)
    for keyword in service.keywords:
        found = LGSL_KEYWORD.match(keyword)
        if found:
            return int(found.group(1))
    return None


def words_only(keywords: Iterable[str]) -> tuple[str, ...]:
    """Keywords a resident might type: without `lgsl:NNN`, which is for matching, not reading."""
    return tuple(keyword for keyword in keywords if not LGSL_KEYWORD.match(keyword))


def _plain(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def name_score(council: "Service", bundled: "Service") -> float:
    """How close the council service's name (or group and name) is to the bundled name or keywords."""
    # rapidfuzz here, not at the top: only a council's own catalogue is matched, and a kiosk starts without one
    from rapidfuzz import fuzz

    theirs = [_plain(council.name)]
    if council.group:
        theirs.append(_plain(f"{council.group} {council.name}"))
    ours = [_plain(text) for text in (bundled.name, *bundled.keywords)]
    return max(fuzz.token_sort_ratio(a, b) for a in theirs if a for b in ours if b) if any(theirs) else 0.0


def _candidates(council: "Service", bundled: Sequence["Service"], pins: Mapping[str, str]
                ) -> list[tuple[int, float, str]]:
    """(strength, score, bundled code) for every bundled service this council service could take."""
    if council.code in pins:
        return [(_STRENGTH["pinned"], 100.0, pins[council.code])]
    found = []
    by_code = {service.code: service for service in bundled}
    if council.code in by_code:
        found.append((_STRENGTH["code"], 100.0, council.code))
    lgsl = lgsl_of(council)
    if lgsl is not None:
        found += [(_STRENGTH["lgsl"], name_score(council, service), service.code)
                  for service in bundled if service.lgsl == lgsl]
    scored = sorted(((name_score(council, service), service.code) for service in bundled), reverse=True)
    if scored and scored[0][0] >= SERVICE_THRESHOLD and (
            len(scored) == 1 or scored[0][0] - scored[1][0] >= SERVICE_MARGIN or scored[0][0] == 100):
        found.append((_STRENGTH["name"], scored[0][0], scored[0][1]))
    return found


def match_services(council: Sequence["Service"], bundled: Sequence["Service"],
                   pins: Mapping[str, str] = {}) -> dict[str, Match]:
    """Council code -> its Match; each bundled service goes to one council service at most."""
    pairs = sorted(((strength, score, -index, service.code, code)
                    for index, service in enumerate(council)
                    for strength, score, code in _candidates(service, bundled, pins)), reverse=True)
    how_named = {strength: how for how, strength in _STRENGTH.items()}
    matches: dict[str, Match] = {}
    taken: dict[str, str] = {}
    for strength, _score, _order, council_code, bundled_code in pairs:
        if council_code in matches:
            continue
        if bundled_code in taken:
            log.warning("council services %r and %r both match bundled service %r; its words go to %r only "
                        "(pin one in [catalogue.overlay] to choose)", taken[bundled_code], council_code,
                        bundled_code, taken[bundled_code])
            continue
        matches[council_code] = Match(council_code, bundled_code, how_named[strength])
        taken[bundled_code] = council_code
    return {service.code: matches.get(service.code, Match(service.code, "", "none")) for service in council}


def _best(text: str, options: Iterable[tuple[str, T]]) -> T | None:
    """The option whose text is near-identical to `text`, if exactly one clearly is."""
    from rapidfuzz import fuzz

    scored = sorted(((fuzz.token_sort_ratio(_plain(text), _plain(words)), index, item)
                     for index, (words, item) in enumerate(options)), key=lambda row: (-row[0], row[1]))
    if not scored or scored[0][0] < TEXT_THRESHOLD:
        return None
    if len(scored) > 1 and scored[1][0] >= TEXT_THRESHOLD:
        return None
    return scored[0][2]


def match_attribute(attribute: "Attribute", bundled: Sequence["Attribute"], taken: set[str]) -> "Attribute | None":
    """The bundled attribute answering the same question: same code, else a near-identical
    description of the same datatype. `taken` are bundled codes already used."""
    free = [candidate for candidate in bundled if candidate.code not in taken]
    for candidate in free:
        if candidate.code == attribute.code:
            return candidate
    return _best(attribute.description, [(candidate.description, candidate) for candidate in free
                                         if candidate.datatype == attribute.datatype])


def match_value(value: "Value", bundled: Sequence["Value"], taken: set[str]) -> "Value | None":
    """The bundled list value meaning the same: same key, else a near-identical name."""
    free = [candidate for candidate in bundled if candidate.key not in taken]
    for candidate in free:
        if candidate.key == value.key:
            return candidate
    return _best(value.name, [(candidate.name, candidate) for candidate in free])
