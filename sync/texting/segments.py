"""What a text costs and how it is made to fit: SMS segments (GSM-7 with its extension table,
else UCS-2 counted in UTF-16 code units), the normalisation that keeps text out of UCS-2 for
nothing, each language's segment budget, and the shortening that brings a message within it.

Pure functions of text: the bot's replies, the status and reference texts and the simulator all
count and cut through here, so a text is priced the same way wherever it is written.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any, Callable, Iterable, Mapping

#: The GSM 03.38 default alphabet (one septet each). The escape character is left out: it is
#: only ever the first half of an extension character.
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: The extension table: each costs two septets (escape + character).
GSM_EXTENSION = frozenset("^{}\\[~]|€\f")
GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
#: Most Twilio can send in one message (its limit), and the longest body we read.
MAX_MESSAGE_CHARS = 1600

_REPLACEMENTS = {
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u00b4\u0060", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043", "-"),
    "\u2026": "...", "\u2022": "-", "\u00b7": "-",
    **dict.fromkeys("\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f"
                    "\u3000\t", " "),
    **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff\u00ad", ""),
}
_TRANSLATE = str.maketrans(_REPLACEMENTS)
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
_GSM = GSM_BASIC | GSM_EXTENSION


def normalise(text: str) -> str:
    """Text as it should be sent: composed (so é is one GSM character, not e + an accent that
    forces UCS-2), with smart quotes, dashes, the ellipsis and invisible characters replaced by
    plain ones, as GOV.UK Notify does. Letters outside GSM that a language needs (Welsh ŵ, ŷ,
    â...) are kept: they make the text UCS-2, which is what they cost."""
    text = unicodedata.normalize("NFC", str(text)).translate(_TRANSLATE)
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def is_gsm(text: str) -> bool:
    return _GSM.issuperset(text)


def encoding(text: str) -> str:
    return "GSM-7" if is_gsm(text) else "UCS-2"


def _extension_count(text: str) -> int:
    return sum(text.count(char) for char in GSM_EXTENSION) if not GSM_EXTENSION.isdisjoint(text) else 0


def units(text: str) -> int:
    """Septets (GSM-7) or UTF-16 code units (UCS-2) the text costs."""
    if is_gsm(text):
        return len(text) + _extension_count(text)
    return len(text.encode("utf-16-le")) // 2


def segments(text: str) -> int:
    """How many SMS segments the text is sent as (0 for no text). Parts are packed as phones
    pack them: an extension character's two septets, or an emoji's surrogate pair, are never
    split across two parts."""
    if not text:
        return 0
    gsm = is_gsm(text)
    total = units(text)
    single, part = (GSM_SINGLE, GSM_PART) if gsm else (UCS2_SINGLE, UCS2_PART)
    if total <= single:
        return 1
    if total == len(text):  # every character costs one unit: nothing to keep together
        return math.ceil(total / part)
    count, used = 1, 0
    for char in text:
        cost = (2 if char in GSM_EXTENSION else 1) if gsm else (2 if ord(char) > 0xFFFF else 1)
        if used + cost > part:
            count, used = count + 1, 0
        used += cost
    return count


def segments_label(text: str) -> str:
    """"2 segments, GSM-7", for the simulator and logs."""
    count = segments(text)
    return f"{count} segment{'s' if count != 1 else ''}, {encoding(text)}"


def budget(language: str) -> int:
    """Most segments a message may take: English 2 (and most replies 1); other languages 3,
    since their letters often force UCS-2 (67 characters a part). A message in several
    languages at once counts as another language."""
    return 2 if language == "en" else 3


def shorten(value: str, limit: int) -> str:
    """`value` in at most `limit` characters, cut at a word where one is near, marked with '...'."""
    value = " ".join(str(value).split())
    if len(value) <= limit:
        return value
    if limit <= 3:
        return value[:max(limit, 0)]
    cut = value[:limit - 3]
    space = cut.rfind(" ")
    if space >= (limit - 3) * 2 // 3:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "..."


def truncate_to(text: str, max_segments: int) -> str:
    """The last resort: cut the text itself until it fits `max_segments`."""
    if segments(text) <= max_segments:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with "..." after it
        middle = (low + high + 1) // 2
        if segments(text[:middle].rstrip() + "...") <= max_segments:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + "..."


Build = Callable[[dict[str, str]], str]


def _longest_fitting(build: Build, values: dict[str, str], key: str, max_segments: int, minimum: int) -> int | None:
    """The most characters `values[key]` may keep for the text to fit, or None if not even `minimum`."""
    original = values[key]
    low, high, best = minimum, len(original) - 1, None
    while low <= high:
        middle = (low + high) // 2
        if segments(normalise(build({**values, key: shorten(original, middle)}))) <= max_segments:
            best, low = middle, middle + 1
        else:
            high = middle - 1
    return best


def fit(build: Build, params: Mapping[str, Any], shrink: Iterable[str], max_segments: int, *,
        minimum: int = 12) -> str:
    """`build(params)` normalised, within `max_segments`: the `shrink` values are shortened, in
    that order, each only as far as needed (down to `minimum` characters, then left out); only
    if that is not enough is the text itself cut. Read-backs and council notes go through here."""
    values = {key: normalise(str(value)) for key, value in params.items()}
    text = normalise(build(values))
    if segments(text) <= max_segments:
        return text
    for key in shrink:
        if not values.get(key):
            continue
        best = _longest_fitting(build, values, key, max_segments, minimum)
        if best is not None:
            values[key] = shorten(values[key], best)
            return normalise(build(values))
        values[key] = ""
        text = normalise(build(values))
        if segments(text) <= max_segments:
            return text
    return truncate_to(normalise(build(values)), max_segments)
