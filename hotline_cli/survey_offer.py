"""Which callers the IVR's satisfaction survey is offered to, asked of the call tracker.

The dialplan sends every caller whose agent hung up; the tracker still knows more: a call
that reached 110/119/120 (an attended transfer leaves the caller in the queue's bridge with
the trunk, so the trunk's hang-up looks like the agent's) is the emergency line's, not ours
to rate, and a call nobody answered has no service to rate.
"""

from __future__ import annotations

import logging
from collections.abc import Collection

from telephony.call import Call
from telephony.tracker import CallTracker

log = logging.getLogger(__name__)


def survey_due(call: Call | None, emergency_numbers: Collection[str]) -> bool:
    """Answered by an agent and never sent to an emergency line."""
    return (
        call is not None and call.active and call.answered_at is not None
        and call.transfer_target not in emergency_numbers
    )  # fmt: skip


class SurveyOffer:
    """`ivr.survey.Offer` over the live tracker."""

    def __init__(self, tracker: CallTracker, emergency_numbers: Collection[str]) -> None:
        self._tracker = tracker
        self._emergency = frozenset(emergency_numbers)

    def __call__(self, uniqueid: str) -> bool:
        return survey_due(self._tracker.get(uniqueid), self._emergency)
