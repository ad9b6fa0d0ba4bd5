"""What a report of a call's progress carries into the call log, and how reports merge.

The call log (`call_log/`) turns the tracker's calls into `CallUpdate`s; the CRM stores them
(`crm.usecases.call_records.record_progress`). A later report may know less than an earlier
one (a backend restarted mid-call revives the call from Asterisk's lists: no IVR path, no
recording name, an answer time that is the re-sync's), so `merge` lets fields only fill in:
times, the caller, the IVR path and the agent who answered keep the first value known, the
queue the newest (none for a caller the IVR sent straight to 110); how the call ended comes
from the newest report (one that says the call is up again is Asterisk's word after a lost
link: the call was revived, not ended). Pure: plain dataclasses and functions.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crm.domain.calls import CallEventKind, CallOutcome
from crm.domain.survey import SurveyAnswer


@dataclass(frozen=True, slots=True)
class CallFacts:
    """A call's record as one report knows it; times naive UTC, "" / None for not known."""

    linkedid: str
    started_at: datetime
    outcome: CallOutcome = CallOutcome.IN_PROGRESS
    caller_number: str = ""
    caller_name: str = ""
    ivr_choice: str = ""
    ivr_label: str = ""
    queue: str = ""
    queued_at: datetime | None = None
    rang_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    agent_extension: str = ""
    agent_name: str = ""
    end_reason: str = ""
    emergency_line: str = ""
    emergency_started_at: datetime | None = None  # a consult or transfer to 110/119/120 began
    survey: SurveyAnswer | None = None  # the caller's survey after the agent hung up; None: none
    # The agent hung up, the caller stayed (the survey): kept as the record's talk_s, no column
    # of its own (every report of the call carries it, from the tracker's call).
    talk_ended_at: datetime | None = None

    @property
    def ended(self) -> bool:
        return self.outcome is not CallOutcome.IN_PROGRESS


@dataclass(frozen=True, slots=True)
class CallEventFact:
    """One thing that happened on the call (its (kind, at, agent) make it unique)."""

    kind: CallEventKind
    at: datetime
    agent: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    # Read back after a backend restart (`at` then only approximate): stored only when the
    # call has no event of its kind yet, which the backend that saw it happen wrote.
    restated: bool = False


@dataclass(frozen=True, slots=True)
class CallUpdate:
    """One report: the record's facts, what happened, and the recording once answered."""

    facts: CallFacts
    events: tuple[CallEventFact, ...] = ()
    recording: str = ""  # relative path (YYYYMMDD/<uniqueid>.wav), only for an answered call


NOT_STORED = ("talk_ended_at",)  # facts of the reports the record keeps only as talk_s
# First value known wins: a later report's guess is poorer (a re-sync's "now" for the answer,
# the agent's phone's display name for the agent's).
FIRST_KNOWN = (
    "started_at", "queued_at", "rang_at", "answered_at", "caller_number", "caller_name",
    "ivr_choice", "ivr_label", "agent_extension", "agent_name", "emergency_started_at",
    "talk_ended_at",
)  # fmt: skip
# The newest value known: the IVR replaces the dialplan's default queue with the caller's
# choice; a later transfer to 110 is the one that counts; the survey's answer replaces its
# "no answer" (set as it is offered).
NEWEST_KNOWN = ("queue", "emergency_line", "survey")
# The newest report's: reports arrive in Asterisk's order.
ENDING = ("outcome", "ended_at", "end_reason")


def merge(stored: CallFacts, report: CallFacts) -> CallFacts:
    """The record after `report`, never blanking what `stored` knew."""
    changes: dict[str, Any] = {}
    for name in FIRST_KNOWN:
        old = getattr(stored, name)
        changes[name] = old if old not in (None, "") else getattr(report, name)
    for name in NEWEST_KNOWN:
        changes[name] = getattr(report, name) or getattr(stored, name)
    for name in ENDING:
        changes[name] = getattr(report, name)
    if report.ended and changes["emergency_line"]:
        changes["outcome"] = CallOutcome.EMERGENCY  # a revived call forgot its transfer
    if changes["emergency_line"] and changes["queued_at"] is None:
        changes["queue"] = ""  # key 9: the IVR sent it to the line; the dialplan's fallback
        # queue, in the reports before, was never its queue
    return dataclasses.replace(stored, **changes)


def wait_s(facts: CallFacts) -> float | None:
    """Seconds in queue until answered, or until the call ended unanswered."""
    until = facts.answered_at or facts.ended_at
    if facts.queued_at is None or until is None:
        return None
    return max(0.0, (until - facts.queued_at).total_seconds())


def talk_s(facts: CallFacts) -> float | None:
    """From the answer to the agent's hang-up (a survey after it is no talk) or the end."""
    until = facts.talk_ended_at or facts.ended_at
    if facts.answered_at is None or until is None:
        return None
    return max(0.0, (until - facts.answered_at).total_seconds())


def outcome_when_lost(facts: CallFacts) -> CallOutcome:
    """How a call that ended unseen (the backend was away) most likely ended, by what was
    known: answered if it had been, emergency if sent to 110/119/120, abandoned if it was
    waiting in a queue, else hung up in the IVR."""
    if facts.emergency_line:
        return CallOutcome.EMERGENCY
    if facts.answered_at is not None:
        return CallOutcome.ANSWERED
    if facts.queued_at is not None:
        return CallOutcome.ABANDONED
    return CallOutcome.IVR_HANGUP
