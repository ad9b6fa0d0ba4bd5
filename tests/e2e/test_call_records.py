"""Real Asterisk and SIPp callers: the call records stored match what SIPp placed.

Answered, abandoned in the queue, hung up in the IVR: each call's record in the CRM database,
its outcome, wait and talk against what the scenario did, and for an answered call the
recording Asterisk wrote, on disk, with its PENDING row.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from crm.db.call_models import CallEvent, Recording
from crm.domain.calls import CallEventKind, CallOutcome, RecordingStatus
from hotline_cli.demo.sipp import CallerIdentity, CallerPlan
from telephony.actions import blind_transfer
from telephony.call import CallState
from telephony.dialplan import CONTEXT_AGENTS
from tests.e2e.harness import Centre, ended_records

ANSWERED = [CallerIdentity("陈一", "13911110001"), CallerIdentity("陈二", "13911110002")]
ABANDONED = [CallerIdentity("林一", "13922220001"), CallerIdentity("林二", "13922220002")]
IVR = [CallerIdentity("黄一", "13933330001"), CallerIdentity("黄二", "13933330002")]


async def test_the_records_match_what_sipp_placed(centre: Centre) -> None:
    answered = await centre.call(
        ANSWERED, CallerPlan(dtmf="1", dtmf_after_ms=600, hangup_after_ms=4000)
    )
    async with centre.agents_paused("1001", "1002", reason="午休"):
        abandoned = await centre.call(
            ABANDONED, CallerPlan(dtmf="1", dtmf_after_ms=600, hangup_after_ms=3500)
        )
    ivr = await centre.call(IVR, CallerPlan(dtmf=None, hangup_after_ms=1000))
    for result in (answered, abandoned, ivr):
        assert result.ok, result.errors
    numbers = [c.number for c in ANSWERED + ABANDONED + IVR]
    records = await ended_records(centre, numbers)
    assert len(records) == 6  # one record per call placed, no more
    outcomes = {n: r.outcome for n, r in records.items()}
    assert outcomes == {
        **{c.number: CallOutcome.ANSWERED for c in ANSWERED},
        **{c.number: CallOutcome.ABANDONED for c in ABANDONED},
        **{c.number: CallOutcome.IVR_HANGUP for c in IVR},
    }
    recordings_dir = centre.hotline.settings.recordings_dir
    async with centre.hotline.sessions() as session:
        for caller in ANSWERED:
            r = records[caller.number]
            assert r.caller_name == caller.name and r.queue == "hotline"
            assert r.ivr_choice == "1" and r.agent_extension in {"1001", "1002"}
            # the phone rings 0.8 s before answering; the caller hangs up 4 s after Asterisk
            # answered, of which the IVR took at least the 0.6 s before the key
            assert r.wait_s is not None and 0.5 <= r.wait_s < 5
            assert r.talk_s is not None and 0.5 < r.talk_s < 3.5
            assert r.ended_at is not None and r.answered_at is not None
            kinds = (await session.scalars(
                select(CallEvent.kind).where(CallEvent.linkedid == r.linkedid)
                .order_by(CallEvent.at, CallEvent.id)
            )).all()  # fmt: skip
            assert kinds[0] is CallEventKind.QUEUED and kinds[-1] is CallEventKind.ENDED
            assert CallEventKind.ANSWERED in kinds and CallEventKind.RINGING in kinds
            (recording,) = (await session.scalars(
                select(Recording).where(Recording.linkedid == r.linkedid)
            )).all()  # fmt: skip
            assert recording.path.endswith(f"/{r.linkedid}.wav") and recording.part == 1
            assert recording.status is RecordingStatus.PENDING or recording.checked_at
            assert (recordings_dir / recording.path).is_file()  # Asterisk wrote it there
        for caller in ABANDONED:
            r = records[caller.number]
            assert r.answered_at is None and r.talk_s is None and r.agent_extension == ""
            assert r.wait_s is not None and 1.0 < r.wait_s < 4.0
        for caller in IVR:
            r = records[caller.number]
            assert r.queued_at is None and r.wait_s is None and r.answered_at is None
        unanswered = [records[c.number].linkedid for c in ABANDONED + IVR]
        none = await session.scalars(select(Recording).where(Recording.linkedid.in_(unanswered)))
        assert none.all() == []


async def test_a_blind_transfer_is_on_record_with_both_agents(centre: Centre) -> None:
    number = "13944440001"
    call = asyncio.create_task(centre.call(
        [CallerIdentity("郑一", number)],
        CallerPlan(dtmf="1", dtmf_after_ms=600, hangup_after_ms=9000),
    ))  # fmt: skip
    talking = await centre.log.wait_for(
        lambda e: e.call.caller_number == number and e.call.state is CallState.TALKING, 20
    )
    first = talking.call.agent_interface.split("/")[1]
    other = "1002" if first == "1001" else "1001"
    await blind_transfer(centre.hotline.ami, talking.call.agent_channel, CONTEXT_AGENTS, other)
    assert (await call).ok  # the caller stayed on the line, talking to the other phone
    record = (await ended_records(centre, [number]))[number]
    assert record.outcome is CallOutcome.ANSWERED and record.agent_extension == first
    async with centre.hotline.sessions() as session:
        events = (await session.scalars(
            select(CallEvent).where(CallEvent.linkedid == record.linkedid)
            .order_by(CallEvent.at, CallEvent.id)
        )).all()  # fmt: skip
    answers = [(e.agent, e.detail.get("after_transfer", False)) for e in events
               if e.kind is CallEventKind.ANSWERED]  # fmt: skip
    assert answers == [(first, False), (other, True)]
    (moved,) = [e for e in events if e.kind is CallEventKind.TRANSFERRED]
    assert moved.agent == first and moved.detail == {"target": other, "kind": "blind"}
    kinds = [e.kind for e in events]
    assert kinds.index(CallEventKind.TRANSFERRED) < len(kinds) - 2  # the second answer after it
    assert kinds[-1] is CallEventKind.ENDED
