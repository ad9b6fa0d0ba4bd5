"""The IVR's nuisance screen: the current settings' list (`follow` swaps it when a change is
applied live) asked at each call, each refusal logged with the number masked; a caller ID
that is no phone number (withheld, hostile) is logged as such, by what was wrong with it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from config.nuisance_list import listed, why_no_number
from config.telephony_sections import NuisanceNumber
from crm.domain.masking import mask_number

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class NuisanceScreen:
    """`ivr.welcome.Refuse` over `entries` (replaced whole when the settings change)."""

    def __init__(
        self, entries: Sequence[NuisanceNumber], clock: Callable[[], datetime] = _now
    ) -> None:
        self.entries = entries
        self._clock = clock

    def __call__(self, caller_id: str, uniqueid: str) -> bool:
        why = why_no_number(caller_id)
        if why is not None:  # the caller goes on, on no list; support learns what came
            log.log(
                logging.INFO if why == "withheld" else logging.WARNING,
                "IVR %r: caller ID of %d characters is no phone number (%s): on no list",
                uniqueid, len(caller_id), why,
            )  # fmt: skip
            return False
        entry = listed(self.entries, caller_id, self._clock())
        if entry is None:
            return False
        log.info(
            "IVR %r: caller %s refused as a nuisance number (%s; until %s)",
            uniqueid, mask_number(entry.number), entry.reason,
            entry.until.isoformat() if entry.until else "removed",
        )  # fmt: skip
        return True
