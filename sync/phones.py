"""Phone numbers residents give: every number of a valid UK format, and which of them take texts.

phonenumbers' validity check reads its allocation tables, which lag Ofcom's and leave out the
ranges Ofcom keeps for drama (07700 900xxx, 01632 960xxx): the examples our own error message
gives were refused, and so were real mobiles in newly allocated blocks. A UK number is taken here
when Ofcom's numbering plan gives its leading digits a kind (mobile, geographic, pager...) and the
library's possible-number rules give it a length that kind of number has. Numbers from abroad (with
+ and a country code) must be valid by the library's tables: we cannot know every other plan.

Texts are offered only for mobiles: 070 numbers are personal numbers (forwarded anywhere, often
at a premium) and 076 numbers are pagers, whatever they look like.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the library loads with the first number given, not at every kiosk start
    from phonenumbers import PhoneNumber

#: Ofcom's National Telephone Numbering Plan by the national number's leading digits (after the 0),
#: longest first: the kind of number each range holds, allocated yet or not. Values are names of
#: phonenumbers.PhoneNumberType.
UK_PLAN = (
    ("7624", "MOBILE"),  # Isle of Man mobiles, inside the pager range
    ("70", "PERSONAL_NUMBER"),
    ("76", "PAGER"),
    ("7", "MOBILE"),  # 071-075 and 077-079
    ("1", "FIXED_LINE"), ("2", "FIXED_LINE"),
    ("3", "UAN"),  # 03: non-geographic numbers charged as geographic ones
    ("55", "UAN"), ("56", "VOIP"),
    ("80", "TOLL_FREE"),
    ("84", "SHARED_COST"), ("87", "SHARED_COST"),
    ("9", "PREMIUM_RATE"),
)
#: Digits in a UK national number, after the 0 (the plan's few shorter ones are in the library's tables).
UK_DIGITS = 10
#: The kinds of number a text message reaches (names of phonenumbers.PhoneNumberType).
TEXTABLE = ("MOBILE", "FIXED_LINE_OR_MOBILE")


def _uk_kind(number: PhoneNumber) -> int | None:
    """The kind of a UK number by Ofcom's plan (a phonenumbers.PhoneNumberType), None for others."""
    import phonenumbers

    if number.country_code != 44:
        return None
    national = str(number.national_number)
    name = next((kind for prefix, kind in UK_PLAN if national.startswith(prefix)), None)
    return None if name is None else int(getattr(phonenumbers.PhoneNumberType, name))


def _parsed(text: str) -> PhoneNumber | None:
    """`text` as a number of a valid format (UK unless it starts with + or 00), or None."""
    import phonenumbers

    try:
        number = phonenumbers.parse(text, "GB", keep_raw_input=True)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_valid_number(number):
        return number
    kind = _uk_kind(number)
    # Beyond the tables, only the plan's whole form: ten digits after the 0 (or after +44 or 0044).
    typed_whole = (number.country_code_source != phonenumbers.CountryCodeSource.FROM_DEFAULT_COUNTRY
                   or re.sub(r"\D", "", text).startswith("0"))
    if kind is None or not typed_whole or len(str(number.national_number)) != UK_DIGITS:
        return None
    whole = phonenumbers.ValidationResult.IS_POSSIBLE  # not only dialable locally, without its area code
    return number if phonenumbers.is_possible_number_for_type_with_reason(number, kind) == whole else None


def e164(text: str) -> str | None:
    """The number typed, in E.164, or None when it is not one of a valid format."""
    import phonenumbers

    number = _parsed(text)
    return None if number is None else phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=4096)
def is_mobile(number: str) -> bool:
    """Whether a text message can reach this number (cached: the SMS bot asks on every message).
    A number the library's tables know is of the kind they say; another goes by Ofcom's plan."""
    import phonenumbers

    parsed = _parsed(number)
    if parsed is None:
        return False
    known = phonenumbers.number_type(parsed)
    kind = _uk_kind(parsed) if known == phonenumbers.PhoneNumberType.UNKNOWN else known
    return kind in {getattr(phonenumbers.PhoneNumberType, name) for name in TEXTABLE}
