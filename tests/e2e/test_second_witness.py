"""Asterisk's own record as a second witness, with a real Asterisk and SIPp callers: after an
answered call, a call abandoned in the queue and an IVR hang-up, the CDR and queue_log that
Asterisk wrote agree with what SIPp placed, and the reconciliation finds no difference for
the calls our records have (once the answered call has its outcome, which it first reports
missing), but does find the one they lack. The records are the ones the running backend's
call log wrote.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from crm.db.call_models import Recording
from crm.domain.calls import CallOutcome, Disposition, RecordingStatus
from crm.domain.clock import utc_now
from crm.domain.enums import Role
from crm.domain.lifecycle import Actor
from crm.repo.directory import user_by_token
from crm.usecases.call_disposition import dispose_call
from hotline_cli.demo.sipp import CallerIdentity, CallerPlan
from hotline_cli.recording_jobs import witness_of
from recordings.reconcile import Kind, Reconciler, Witness
from tests.e2e.harness import Centre, crm_user, ended_records

ANSWERED, ABANDONED, IVR = "13900000101", "13900000102", "13900000103"
WITNESS_KINDS = {Kind.NOT_IN_OURS, Kind.ANSWERED_DISAGREES, Kind.END_MISSING}


def _utc(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


async def _poll(probe: Callable[[], Awaitable[Witness | None]], timeout_s: float) -> Witness:
    async with asyncio.timeout(timeout_s):
        while True:
            if (found := await probe()) is not None:
                return found
            await asyncio.sleep(0.2)


async def test_asterisks_record_agrees_with_sipp_and_with_ours(centre: Centre) -> None:
    plan = CallerPlan(dtmf="1", dtmf_after_ms=600, hangup_after_ms=4000)
    placed = await centre.call([CallerIdentity("张三", ANSWERED)], plan)
    assert placed.ok, placed.errors
    async with centre.agents_paused("1001", "1002", "1901", reason="午休"):
        queued = CallerPlan(dtmf="1", dtmf_after_ms=600, hangup_after_ms=3500)
        placed = await centre.call([CallerIdentity("赵六", ABANDONED)], queued)
        assert placed.ok, placed.errors
    ivr = CallerPlan(dtmf=None, hangup_after_ms=1000)
    placed = await centre.call([CallerIdentity("王五", IVR)], ivr)
    assert placed.ok, placed.errors
    calls = {n: await centre.log.wait_ended(n) for n in (ANSWERED, ABANDONED, IVR)}
    ours = {c.linkedid for c in calls.values()}
    settings = centre.hotline.settings

    async def witnessed() -> Witness | None:
        witness = await asyncio.to_thread(witness_of, settings)
        return witness if ours <= set(witness.calls) else None

    witness = await _poll(witnessed, 30)
    assert witness.bad_lines == 0, witness.sources
    # What SIPp placed, in Asterisk's own words: one answered, one abandoned, one IVR hang-up.
    seen = {n: witness.calls[c.linkedid] for n, c in calls.items()}
    assert seen[ANSWERED].answered and seen[ANSWERED].queued
    assert seen[ABANDONED].abandoned and not seen[ABANDONED].answered
    assert not seen[IVR].queued and not seen[IVR].answered
    for number, call in calls.items():  # CDR times are whole seconds, naive UTC
        ended = _utc(call.ended_at)
        assert ended is not None and abs(seen[number].ended_at - ended) < timedelta(seconds=2)

    records = await ended_records(centre, list(calls))  # what our call log wrote
    assert {n: r.outcome for n, r in records.items()} == {
        ANSWERED: CallOutcome.ANSWERED, ABANDONED: CallOutcome.ABANDONED,
        IVR: CallOutcome.IVR_HANGUP,
    }  # fmt: skip
    sessions = centre.hotline.sessions
    reconciler = Reconciler(sessions, settings.recordings_dir, timedelta(0))
    live = set(centre.hotline.tracker.calls)
    report = await reconciler.run(utc_now() + timedelta(seconds=2), witness, repair=True, live=live)
    about_ours = {(f.kind, f.linkedid) for f in report.findings if f.linkedid in ours}
    # Nobody chose an outcome for the answered call: the one thing found about our calls.
    answered = calls[ANSWERED]
    assert about_ours == {(Kind.NO_OUTCOME, answered.linkedid)}, report
    rows = await _recording_rows(centre, answered.linkedid)
    assert [r.path for r in rows] == [answered.recording]
    assert rows[0].status in {RecordingStatus.PENDING, RecordingStatus.ATTACHED}
    token = await crm_user(centre, "核对坐席", Role.AGENT)
    async with sessions() as session, session.begin():
        user = await user_by_token(session, token)
        assert user is not None
        actor = Actor(user_id=user.id, role=Role.AGENT, unit_id=None)
        await dispose_call(session, answered.linkedid, Disposition.TEST, "", actor, utc_now())
    again = await reconciler.run(utc_now() + timedelta(seconds=2), witness, repair=False)
    assert not [f for f in again.findings if f.linkedid in ours], again
    # The command itself, as an administrator runs it on the centre's state directory.
    command = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hotline_cli.main", "--state-dir", str(settings.state_dir),
        "reconcile", "--json", "--grace-s", "0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(command.communicate(), 60)
    printed = json.loads(out)
    assert not [f for f in printed["findings"] if f["linkedid"] in ours], printed
    assert printed["witness_calls"] >= 3 and printed["witness_bad_lines"] == 0
    assert ANSWERED not in (out + err).decode()

    # A call Asterisk saw that our records lack is found, told apart from the others.
    lost = replace(seen[IVR], linkedid="1796000000.99")
    extra = Witness({**witness.calls, lost.linkedid: lost}, 0, witness.sources)
    third = await reconciler.run(utc_now() + timedelta(seconds=2), extra, repair=False)
    assert [(f.kind, f.linkedid) for f in third.findings] == [(Kind.NOT_IN_OURS, lost.linkedid)], (
        third
    )


async def _recording_rows(centre: Centre, linkedid: str) -> list[Recording]:
    async with centre.hotline.sessions() as session:
        return list(await session.scalars(select(Recording).where(Recording.linkedid == linkedid)))
