"""Trunk failover as the caller lives it, with a real Asterisk: 119's primary answering 503
and its backup answering, 120's primary not answering (failover after `dial_timeout_s`),
both of 119's legs refusing (the agent told at once, over its desk, the caller kept). Each
checked in Asterisk's own lists (`ConfbridgeList`, `CoreShowChannels`) and in the recording:
the whole conversation is in it, who is heard when."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

from crm.db.call_models import CallEvent
from crm.domain.calls import CallEventKind, CallOutcome
from hotline_cli.demo.sipp import CallerResult
from telephony.call import Call, CallState
from telephony.call_control import ConsultState, Room
from telephony.dialplan import main_room
from tests.e2e import control_support as cs
from tests.e2e.control_support import centre, no_call_left, tones  # noqa: F401  (fixtures)
from tests.e2e.harness import Centre
from tests.e2e.test_desktop import Desktop
from tests.support.audio import tone_share
from tests.support.trunk_peers import RefusingTrunk

# Both legs refuse with a 503 at once: Asterisk dials the backup as soon as the primary's
# 503 is in, so the agent's desk hears of it within a few SIP round trips on localhost and
# the events' way back (AMI → control → desk → websocket), tens of milliseconds when idle.
# Two seconds leave room for a loaded two-core machine, and are still "at once" for an
# agent (a ring of the phone lasts longer); a dial timeout (3 s here) would not pass.
TOLD_WITHIN_S = 2.0


async def _transferred(
    where: Centre, calling: asyncio.Task[CallerResult], call: Call, line: str,
    consulted: tuple[float, float],
) -> list[CallEvent]:
    """After HOLD_S with the backup's operator the agent completes the transfer: Asterisk
    leaves the caller with that leg (the agent gone); after AFTER_S the caller hangs up.
    The recording: the caller with the agent, on hold, then with the operator; the record:
    an emergency call handed to `line`. Its events."""
    await asyncio.sleep(cs.HOLD_S)
    completing = time.time()
    await where.hotline.control.complete(call)
    completed = (completing, time.time())
    listed = await cs.channels(where)
    assert call.agent_channel not in listed
    assert cs.trunk_channels(listed, line) == {"backup": "Up"}
    together = await cs.room(where, main_room(call.linkedid))
    assert call.channel in together and len(together) == 2, together  # caller and operator
    await asyncio.sleep(cs.AFTER_S)
    ended = await cs.end_call(where, calling, call)
    assert ended.state is CallState.ENDED
    heard = await cs.recording_of(where, ended)
    # On hold through the failover and the briefing: never silence, never the agent.
    cs.assert_heard_around_hold(heard, consulted, completed, then=cs.OPERATOR_HZ)
    record, events = await cs.stored(where, call.linkedid)
    assert record.outcome is CallOutcome.EMERGENCY and record.emergency_line == line
    return events


async def test_119_primary_refuses_with_503_and_the_backup_answers(
    centre: Centre, tones: dict[str, Path]  # noqa: F811
) -> None:
    async with RefusingTrunk(centre.workdir, "127.0.0.1", cs.PORTS["119"][0]), \
            cs.operator(centre, "119", 1, tones):  # fmt: skip
        calling, call = await cs.answered_call(centre, "13900001191", tones)
        consulted, st = await cs.consulted(centre, call, "119")
        assert st.consult is not None
        assert [(a.leg, a.status) for a in st.consult.attempts] == [
            ("primary", "CONGESTION"), ("backup", "ANSWER")
        ]
        assert cs.trunk_channels(await cs.channels(centre), "119") == {"backup": "Up"}
        events = await _transferred(centre, calling, call, "119", consulted)
    attempts = [e.detail for e in events if e.kind is CallEventKind.TRUNK_ATTEMPT]
    assert [(a["leg"], a["status"]) for a in attempts] == [
        ("primary", "CONGESTION"), ("backup", "ANSWER")
    ]


async def test_120_primary_not_answering_fails_over_after_the_dial_timeout(
    centre: Centre, tones: dict[str, Path]  # noqa: F811
) -> None:
    async with cs.operator(centre, "120", 0, tones, ring_ms=60_000), \
            cs.operator(centre, "120", 1, tones):  # fmt: skip
        calling, call = await cs.answered_call(centre, "13900001201", tones)
        consulted, st = await cs.consulted(centre, call, "120")
        assert st.consult is not None
        primary, backup = st.consult.attempts
        assert (primary.leg, primary.status, backup.leg) == ("primary", "NOANSWER", "backup")
        assert primary.ended_at is not None
        rang_s = primary.ended_at - primary.started_at
        assert cs.DIAL_TIMEOUT_S - 0.2 <= rang_s <= cs.DIAL_TIMEOUT_S + 1.0, rang_s
        assert backup.started_at - primary.ended_at < 0.5
        assert cs.trunk_channels(await cs.channels(centre), "120") == {"backup": "Up"}
        await _transferred(centre, calling, call, "120", consulted)


async def _told_all_trunks_down(desk: Desktop, result: dict[str, Any], linkedid: str) -> float:
    """When (epoch s) the agent's desk learnt the consult failed with both trunks down: its
    command's result, or (if the command returned once the first leg rang) the call update
    after it. What the agent reads of it is Chinese."""
    if not result["ok"]:
        assert result["error"]["code"] == "all_trunks_down", result
        assert not re.search("[A-Za-z]", result["error"]["message"]), result  # Chinese
        return desk.arrival(result)
    async with asyncio.timeout(10):
        while True:
            for at, frame in desk.frames:
                consult = (frame.get("control") or {}).get("consult") or {}
                if frame["type"] == "call_update" and frame.get("call_id") == linkedid \
                        and consult.get("state") == "failed":  # fmt: skip
                    assert consult["reason"] == "all_trunks_down", frame
                    return at
            await asyncio.sleep(0.02)


async def test_both_trunks_down_keeps_the_caller_with_the_agent(
    centre: Centre, tones: dict[str, Path]  # noqa: F811
) -> None:
    async with RefusingTrunk(centre.workdir, "127.0.0.1", cs.PORTS["119"][0]), \
            RefusingTrunk(centre.workdir, "127.0.0.1", cs.PORTS["119"][1]), \
            cs.agent_desktop(centre, "1001") as desk:  # fmt: skip
        calling, call = await cs.answered_call(centre, "13900001192", tones)
        await asyncio.sleep(cs.TALK_S)
        consulted_at = time.time()
        result = await desk.command("consult", target="119", mode="hold")
        told_s = await _told_all_trunks_down(desk, result, call.linkedid) - consulted_at
        assert told_s < TOLD_WITHIN_S, f"the agent was told after {told_s:.2f} s"
        how = "its call update" if result["ok"] else f"its command result: {result['error']}"
        print(f"both trunks down: the agent told after {told_s * 1000:.0f} ms, by {how}")
        st = await cs.until_state(centre, call.linkedid, lambda s: s.consult is not None
                               and s.consult.state is ConsultState.FAILED
                               and s.agent_room is Room.MAIN)  # fmt: skip
        assert st.consult is not None and st.consult.reason == "all_trunks_down"
        assert [(a.leg, a.status) for a in st.consult.attempts] == [
            ("primary", "CONGESTION"), ("backup", "CONGESTION")
        ]

        # Asterisk: the agent back with the caller (at once too), no trunk leg.
        async def together() -> bool:
            return await cs.room(centre, main_room(call.linkedid)) == {
                call.channel, call.agent_channel}  # fmt: skip

        await cs.eventually(together, TOLD_WITHIN_S, "the agent back with the caller")
        back_at = time.time()
        await cs.eventually(lambda: cs.no_trunk(centre, "119"), 5, "119's legs gone")
        await asyncio.sleep(cs.AFTER_S)
        ended = await cs.end_call(centre, calling, call)
    assert ended.state is CallState.ENDED
    heard = await cs.recording_of(centre, ended)
    cs.assert_talking(heard.during(consulted_at - 1.2, consulted_at - 0.2))
    cs.assert_talking(heard.during(back_at + 0.5, back_at + cs.AFTER_S))
    assert tone_share(heard.frames, cs.OPERATOR_HZ) == 0  # nobody answered on 119
    record, events = await cs.stored(centre, call.linkedid)
    assert record.outcome is CallOutcome.ANSWERED and record.emergency_line == ""
    assert record.emergency_started_at is not None  # the clock started with the attempt
    failed = [e.detail for e in events if e.kind is CallEventKind.CONSULT_FAILED]
    assert [f["reason"] for f in failed] == ["all_trunks_down"]
    assert len([e for e in events if e.kind is CallEventKind.TRUNK_ATTEMPT]) == 2
