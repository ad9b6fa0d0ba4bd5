"""The two kinds of text a request may carry, shared by every request model.

Control characters have no business in a name, a phone number or an order's text: a NUL is
refused by PostgreSQL (a 500 before this) and stored raw by SQLite, and others corrupt CSV
exports and desktops. So C0 controls, DEL and C1 controls are refused with a 400 naming the
field on both databases. `Prose` (an order's text, notes, reasons, results) may span lines and
keeps TAB, LF and CR; `Line` (names, places, codes, keywords) keeps none of them.

Surrounding whitespace is trimmed (a blank required text is refused), as before. Dates are
read as YYYY-MM-DD only.
"""

import re
from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, StringConstraints
from pydantic_core import PydanticCustomError

_LINE_FORBIDDEN = "\\x00-\\x1f\\x7f-\\x9f"
_PROSE_FORBIDDEN = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f"
LINE_PATTERN = f"^[^{_LINE_FORBIDDEN}]*$"
PROSE_PATTERN = f"^[^{_PROSE_FORBIDDEN}]*$"
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_LINE_BAD = re.compile(f"[{_LINE_FORBIDDEN}]")
_PROSE_BAD = re.compile(f"[{_PROSE_FORBIDDEN}]")


def _checker(bad: re.Pattern[str], allowed: str) -> Any:
    def check(value: Any) -> Any:
        if not isinstance(value, str):
            return value  # the str validator refuses it (strict: no coercion)
        found = bad.search(value)
        if found is not None:
            raise PydanticCustomError(
                "control_character",
                "control character {code} is not allowed here ({allowed})",
                {"code": f"U+{ord(found.group()):04X}", "allowed": allowed},
            )
        return value.strip()

    return check


# The pattern documents the rule in the OpenAPI document; the check before it (on the text as
# sent, then trimmed) gives the clear message. Constraints first, or pydantic drops the pattern
# from the JSON schema.
Line = Annotated[
    str,
    StringConstraints(pattern=LINE_PATTERN),
    BeforeValidator(_checker(_LINE_BAD, "one line of text")),
]
Prose = Annotated[
    str,
    StringConstraints(pattern=PROSE_PATTERN),
    BeforeValidator(_checker(_PROSE_BAD, "text; tab and line breaks are fine")),
]


def as_line(value: str) -> str:
    """Outside text that is no form's (a caller's name as the network sent it) made a `Line`:
    its control characters dropped, where a form's are refused."""
    return _LINE_BAD.sub("", value)


def iso_day(value: Any) -> Any:
    """A date is written YYYY-MM-DD: pydantic alone would read "0" as a Unix timestamp."""
    if not isinstance(value, str):
        return value  # the date validator refuses it (strict)
    try:
        if _ISO_DAY.fullmatch(value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise PydanticCustomError("date_format", "a date is written YYYY-MM-DD (a real day)")
