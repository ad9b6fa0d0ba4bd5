"""Work order numbers: centre code, local intake date and a daily sequence.

The format is fixed (e.g. ``SZ12345-20251009-000042``) because 110 and other hotlines exchange
orders by this number; the database guarantees uniqueness through the per-day sequence.
"""

import re
from datetime import date

_CENTRE_CODE = re.compile(r"^[A-Z0-9]{2,12}$")


def valid_centre_code(code: str) -> bool:
    return bool(_CENTRE_CODE.match(code))


def order_number(centre_code: str, day: date, sequence: int) -> str:
    if not valid_centre_code(centre_code):
        raise ValueError(f"invalid centre code {centre_code!r}")
    if not 1 <= sequence <= 999_999:
        raise ValueError("daily sequence out of range")
    return f"{centre_code}-{day:%Y%m%d}-{sequence:06d}"
