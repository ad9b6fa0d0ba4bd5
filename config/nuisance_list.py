"""Whether a caller is on the nuisance list (骚扰电话): the caller ID as the carrier sends it
matched against the list's numbers, both read as the same national number. Pure.

Carriers present one Chinese number in several forms: ``+8613800138000``,
``008613800138000``, ``8613800138000``, a mobile behind a trunk's ``0``
(``013800138000``), a landline with its area code (``037912345678``, from abroad
``+8637912345678``). Anything that is not digits (after a leading ``+`` and the separators
people type: blanks, ``-``, ``(``, ``)``) is no phone number and matches nothing: a hostile
caller ID (letters, control characters, full-width or other non-ASCII digits, thousands of
characters) can neither match a listed number nor fail the call.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime

from config.telephony_sections import NuisanceNumber

MAX_CALLER_ID = 32  # longer is no phone number (ITU: 15 digits, with prefixes well below 32)
_SEPARATORS = str.maketrans("", "", " -()")
_DIGITS = re.compile(r"\+?[0-9]{3,24}", re.ASCII)
_MOBILE = re.compile(r"1[3-9][0-9]{9}", re.ASCII)
# what carriers and phones put for a number withheld (Asterisk says "unknown" for none)
WITHHELD = frozenset({"anonymous", "unknown", "restricted", "private", "unavailable"})


def national_number(caller_id: str) -> str | None:
    """The number as dialled inside China (mobiles bare, landlines with their ``0`` and area
    code, other countries ``00`` + country code), or None when it is no phone number."""
    if len(caller_id) > MAX_CALLER_ID:
        return None
    raw = caller_id.strip().translate(_SEPARATORS)
    if not _DIGITS.fullmatch(raw):
        return None
    digits = "00" + raw[1:] if raw.startswith("+") else raw
    if digits.startswith("0086"):
        rest = digits[4:]
        return rest if _MOBILE.fullmatch(rest) else "0" + rest
    if digits.startswith("86") and _MOBILE.fullmatch(digits[2:]):
        return digits[2:]
    if digits.startswith("0") and _MOBILE.fullmatch(digits[1:]):
        return digits[1:]
    return digits


def why_no_number(caller_id: str) -> str | None:
    """Why `national_number` reads no number in `caller_id`, in a few words a log may say
    (never the caller ID itself: it is personal data, or an attack on whoever reads the log);
    None when it is a number."""
    if national_number(caller_id) is not None:
        return None
    if not caller_id.strip():
        return "empty"
    if caller_id.strip().lower() in WITHHELD:
        return "withheld"
    if len(caller_id) > MAX_CALLER_ID:
        return f"longer than {MAX_CALLER_ID} characters"
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") for ch in caller_id):
        return "control characters"
    if not caller_id.isascii():
        return "non-ASCII characters"
    if caller_id.strip().translate(_SEPARATORS).lstrip("+").isdigit():
        return "too few or too many digits"
    return "letters or symbols"


def listed(
    entries: Iterable[NuisanceNumber], caller_id: str, now: datetime
) -> NuisanceNumber | None:
    """The entry that refuses this caller at `now` (aware): its number is the caller's and its
    `until` has not come (None: until removed); None when the caller may call."""
    number = national_number(caller_id)
    if number is None:
        return None
    for entry in entries:
        if (entry.until is None or now < entry.until) and national_number(entry.number) == number:
            return entry
    return None
