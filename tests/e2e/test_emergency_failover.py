"""A caller sent on to 110 when the police trunk's primary is down: the backup takes the call
(the dialplan tries the primary for `dial_timeout_s`, then the backup: a leg not qualified
is never known down; tests/e2e/test_trunk_health.py has one qualified). Sent by an agent's
transfer, or by the caller's key 9 in the IVR: straight to 110, never queued. The same
failover on the outbound trunk: a citizen called back (回访) while its primary is down is
reached over the backup with the centre's caller ID, and an agent joined to the call."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from crm.db.call_models import CallEvent, CallRecord
from crm.domain.calls import CallEventKind, CallOutcome
from hotline_cli.demo.ports import free_udp_port
from hotline_cli.demo.sipp import AgentPhone, CallerIdentity, CallerPlan, DtmfVia, Press
from telephony.actions import blind_transfer, call_out
from telephony.call import CallState
from telephony.dialplan import CONTEXT_AGENTS
from tests.e2e.harness import Centre, running_centre
from tests.e2e.ivr_support import AsteriskWitness, asterisk_witness
from tests.support.polling import eventually

# nothing answers on the primary but in the test of a primary that answers
PRIMARY, BACKUP = free_udp_port(), free_udp_port()
# the outbound trunk's: nothing on its primary either
OUT_PRIMARY, OUT_BACKUP = free_udp_port(), free_udp_port()


@pytest.fixture(scope="module")
async def centre(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Centre]:
    police = {
        "number": "110",
        "primary": f"127.0.0.1:{PRIMARY}",
        "backup": f"127.0.0.1:{BACKUP}",
        "dial_timeout_s": 3,
        "qualify_s": 0,  # not qualified: the primary is dialled and waited out
    }
    outbound = {"primary": f"127.0.0.1:{OUT_PRIMARY}", "backup": f"127.0.0.1:{OUT_BACKUP}",
                "dial_timeout_s": 3, "qualify_s": 0, "caller_id": "12345"}  # fmt: skip
    state = tmp_path_factory.mktemp("failover")
    async with running_centre(state, trunks={"police": police}, outbound=outbound) as centre:
        yield centre


async def trunk_legs(centre: Centre) -> dict[str, str]:
    """Trunk channels Asterisk has now, by endpoint, with their state."""
    channels = await centre.hotline.ami.action_list("CoreShowChannels")
    return {
        c["Channel"].rsplit("-", 1)[0]: c.get("ChannelStateDesc", "")
        for c in channels
        if c.get("Channel", "").startswith("PJSIP/trunk-")
    }


async def test_transfer_to_110_fails_over_to_the_backup_trunk(
    centre: Centre, tmp_path: Path
) -> None:
    number = "13911115555"
    async with AgentPhone(tmp_path, "127.0.0.1", BACKUP, ring_ms=300):  # the backup's far end
        call = asyncio.create_task(centre.call(
            [CallerIdentity("吴九", number)],
            CallerPlan(dtmf="1", dtmf_after_ms=600, hangup_after_ms=30_000),
        ))  # fmt: skip
        talking = await centre.log.wait_for(
            lambda e: e.call.caller_number == number and e.call.state is CallState.TALKING, 20
        )
        await blind_transfer(centre.hotline.ami, talking.call.agent_channel, CONTEXT_AGENTS, "110")

        seen: list[dict[str, str]] = []
        async with asyncio.timeout(10):
            while (legs := await trunk_legs(centre)).get("PJSIP/trunk-110-backup") != "Up":
                seen.append(legs)
                await asyncio.sleep(0.2)
        assert "PJSIP/trunk-110-primary" in {leg for legs in seen for leg in legs}  # tried first
        assert "PJSIP/trunk-110-primary" not in legs  # and given up
        # The caller is on the line with the backup trunk (Up above); the operator hangs up.
        hung_up = await centre.hotline.ami.action_list(
            "Hangup", Channel="/^PJSIP/trunk-110-backup-/", Cause="16"
        )
        assert len(hung_up) == 1, hung_up
        assert (await call).ok  # the caller was not dropped: it took the operator's BYE
    ended = await centre.log.wait_ended(number)
    assert ended.state is CallState.ENDED
    await _on_record_as_emergency(centre, number)


async def _record(centre: Centre, number: str) -> tuple[CallRecord, list[CallEvent]]:
    """The call's record once it has its outcome, and its events."""
    async with asyncio.timeout(10):
        while True:
            async with centre.hotline.sessions() as session:
                record = await session.scalar(
                    select(CallRecord).where(CallRecord.caller_number == number)
                )
                if record is not None and record.outcome is not CallOutcome.IN_PROGRESS:
                    events = (await session.scalars(select(CallEvent).where(
                        CallEvent.linkedid == record.linkedid))).all()  # fmt: skip
                    return record, list(events)
            await asyncio.sleep(0.1)


async def _on_record_as_emergency(centre: Centre, number: str) -> None:
    """The call's record says it went to 110, and the backup trunk took the caller."""
    record, events = await _record(centre, number)
    assert record.outcome is CallOutcome.EMERGENCY and record.emergency_line == "110"
    taken = [e.detail for e in events if e.kind is CallEventKind.ANSWERED and e.agent == ""]
    assert taken == [{"after_transfer": True, "target": "110", "trunk": "PJSIP/trunk-110-backup"}]


async def test_a_citizen_called_back_is_reached_over_the_outbound_backup(
    centre: Centre, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The outbound primary is down: the backup's far end is rung for the citizen's number
    with the centre's number as caller ID, and once it answers the agent's phone joins it;
    the backend logs nothing of the number in clear."""
    number, ami = "13922226666", centre.hotline.ami
    caplog.set_level(logging.DEBUG)
    async with AgentPhone(tmp_path, "127.0.0.1", OUT_BACKUP, ring_ms=300):  # the citizen
        await call_out(ami, number, "1001", "out-callback-1", 15, "回访")
        seen: list[dict[str, str]] = []

        async def joined() -> bool:
            seen.append(await trunk_legs(centre))
            backup_up = seen[-1].get("PJSIP/trunk-outbound-backup") == "Up"
            return backup_up and await agent_leg(centre, "1001") == "Up"

        await eventually(joined, 10, "the backup answered and the agent's phone joined it", 0.2)
        assert "PJSIP/trunk-outbound-primary" in {leg for legs in seen for leg in legs}
        assert "PJSIP/trunk-outbound-primary" not in seen[-1]  # tried first, then given up
        citizen = next(c["Channel"] for c in await ami.action_list("CoreShowChannels")
                       if c["Channel"].startswith("PJSIP/trunk-outbound-backup-"))  # fmt: skip
        # the INVITE's To and From: the number dialled, and the centre's number it showed
        dialled, shown = [(await ami.action("Getvar", Channel=citizen,
                           Variable=f"CHANNEL(pjsip,{uri})"))["Value"]
                          for uri in ("remote_uri", "local_uri")]  # fmt: skip
        assert dialled.startswith(f"<sip:{number}@127.0.0.1") and shown.startswith("<sip:12345@")
        await ami.action_list("Hangup", Channel="/^PJSIP/trunk-outbound-backup-/", Cause="16")
        await eventually(lambda: gone(centre, "out-callback-1"), 10, "the callback hung up")
    assert number not in caplog.text


async def agent_leg(centre: Centre, extension: str) -> str | None:
    channels = await centre.hotline.ami.action_list("CoreShowChannels")
    return next((c.get("ChannelStateDesc") for c in channels
                 if c["Channel"].startswith(f"PJSIP/{extension}-")), None)  # fmt: skip


async def gone(centre: Centre, channel_id: str) -> bool:
    channels = await centre.hotline.ami.action_list("CoreShowChannels")
    return not any(c.get("Uniqueid", "").startswith(channel_id) or
                   c["Channel"].startswith(("PJSIP/1001-", "PJSIP/trunk-outbound-"))
                   for c in channels)  # fmt: skip


async def _key_9_reaches(centre: Centre, witness: AsteriskWitness, number: str, leg: str) -> None:
    """The caller talks with the 110 trunk's `leg`, never queued; on record as emergency."""

    async def talking() -> bool:
        return (await trunk_legs(centre)).get(leg) == "Up"

    await eventually(talking, 10, f"the caller talking with {leg}", poll_s=0.2)
    call = (await centre.log.wait_for(lambda e: e.call.caller_number == number, 5)).call
    # while it talks with 110, the tracker has it with 110 as a transfer there, in no queue
    live = centre.hotline.service.tracker.get(call.linkedid)
    assert live is not None and live.state is CallState.TRANSFERRED, live
    assert (live.transfer_target, live.queue) == ("110", "")
    ended = await centre.log.wait_ended(number)
    assert ended.queued_at is None and ended.end_reason == "sent by the IVR to 110"
    assert ended.queue == ""
    assert witness.first("QueueCallerJoin", call.uniqueid) is None  # Asterisk never queued it
    assert witness.played(call.channel) == ["hotline-welcome"]  # cut short by the key
    record, events = await _record(centre, number)
    assert (record.ivr_choice, record.ivr_label) == ("9", "emergency")
    assert record.outcome is CallOutcome.EMERGENCY and record.emergency_line == "110"
    assert record.queued_at is None and not record.queue
    taken = [e.detail for e in events if e.kind is CallEventKind.ANSWERED]
    assert taken == [{"after_transfer": False, "target": "110", "trunk": leg}]


async def test_key_9_in_the_ivr_reaches_the_110_primary(centre: Centre, tmp_path: Path) -> None:
    number = "13911116666"
    plan = CallerPlan(dtmf="9", dtmf_after_ms=600, hangup_after_ms=2500)
    async with (
        AgentPhone(tmp_path, "127.0.0.1", PRIMARY, ring_ms=200),
        asterisk_witness(centre) as witness,
    ):
        calling = asyncio.create_task(centre.call([CallerIdentity("吴九", number)], plan))
        await _key_9_reaches(centre, witness, number, "PJSIP/trunk-110-primary")
        result = await calling
        assert result.ok, result.errors


async def test_key_9_by_sip_info_from_a_hostile_caller_id_reaches_the_110_backup(
    centre: Centre, tmp_path: Path
) -> None:
    """The primary does not answer (dial_timeout_s 3 s): the backup takes the caller."""
    number = "13911117777"
    hostile = 'Robert\\" ), Hangup() ${SHELL(id)} ' + "长" * 500
    plan = CallerPlan(dtmf=None, hangup_after_ms=5500, then=(Press("9", 600, DtmfVia.INFO),))
    async with (
        AgentPhone(tmp_path, "127.0.0.1", BACKUP, ring_ms=200),
        asterisk_witness(centre) as witness,
    ):
        calling = asyncio.create_task(centre.call([CallerIdentity(hostile, number)], plan))
        await _key_9_reaches(centre, witness, number, "PJSIP/trunk-110-backup")
        result = await calling
        assert result.ok, result.errors
