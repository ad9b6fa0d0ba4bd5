"""Storing calls as they progress, and ending those that ended while nobody watched."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from crm.domain.call_progress import (
    CallEventFact,
    CallFacts,
    CallUpdate,
    merge,
    outcome_when_lost,
    talk_s,
    wait_s,
)
from crm.domain.calls import CallEventKind
from crm.domain.survey import satisfaction_of
from crm.repo import call_records as repo
from crm.usecases.survey import surveys_onto_orders

LOST_REASON = "ended while the backend was away: not found in Asterisk after re-sync"


async def record_progress(
    session: AsyncSession, updates: Sequence[CallUpdate], now: datetime
) -> list[str]:
    """Upsert each call's record (fields only fill in), append its events once, and add its
    recording's PENDING row once it is answered with one. Returns the Linkedids whose record
    is now ended. The caller commits; `now` (naive UTC) stamps `updated_at` and new rows."""
    records = await repo.get_records(session, {u.facts.linkedid for u in updates})
    merged: dict[str, CallFacts] = {}
    for update in updates:
        linkedid = update.facts.linkedid
        stored = merged.get(linkedid)
        if stored is None and (record := records.get(linkedid)) is not None:
            stored = repo.facts_of(record)
        merged[linkedid] = update.facts if stored is None else merge(stored, update.facts)
    answered = {
        linkedid: facts.survey for linkedid, facts in merged.items()
        if satisfaction_of(facts.survey) is not None
        and ((record := records.get(linkedid)) is None or record.survey is not facts.survey)
    }  # fmt: skip
    for linkedid, facts in merged.items():
        repo.store_facts(session, records.get(linkedid), facts, wait_s(facts), talk_s(facts), now)
    await session.flush()  # the records exist before their events and recordings point at them
    await surveys_onto_orders(session, answered, now)
    for update in updates:
        await repo.add_events(session, update.facts.linkedid, update.events)
        if update.recording:
            await repo.add_recording(session, update.facts.linkedid, update.recording, now)
    return [linkedid for linkedid, facts in merged.items() if facts.ended]


async def end_lost_calls(session: AsyncSession, live: Collection[str], now: datetime) -> list[str]:
    """Records still in progress whose call Asterisk no longer has (it ended while the backend
    was down) are ended now, their outcome by what was known. Returns their Linkedids."""
    ended = []
    for record in await repo.in_progress(session):
        if record.linkedid in live:
            continue
        facts = repo.facts_of(record)
        lost = dataclasses.replace(
            facts, outcome=outcome_when_lost(facts), ended_at=now, end_reason=LOST_REASON
        )
        repo.store_facts(session, record, lost, wait_s(lost), talk_s(lost), now)
        event = CallEventFact(CallEventKind.ENDED, now, "", {"reason": LOST_REASON})
        await session.flush()
        await repo.add_events(session, record.linkedid, [event])
        ended.append(record.linkedid)
    return ended
