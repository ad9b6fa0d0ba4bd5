"""Asterisk killed with SIGKILL while calls are up: noticed, calls ended, state re-synced."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from crm.domain.calls import CallOutcome
from hotline_cli.demo.sipp import CallerIdentity, CallerPlan
from telephony.call import CallState
from telephony.dialplan import CONTEXT_INBOUND
from tests.e2e.harness import Centre, ended_records, running_centre


async def _asterisk_calls(centre: Centre) -> set[str]:
    """Linkedids of the citizens' calls that Asterisk itself lists."""
    channels = await centre.hotline.ami.action_list("CoreShowChannels")
    return {
        c["Linkedid"]
        for c in channels
        if c.get("Uniqueid") == c.get("Linkedid") and c.get("Context") == CONTEXT_INBOUND
    }


async def _talking(centre: Centre, number: str) -> str:
    effect = await centre.log.wait_for(
        lambda e: e.call.caller_number == number and e.call.state is CallState.TALKING, 20
    )
    return effect.call.linkedid


async def test_sigkill_of_asterisk_ends_calls_and_resyncs(tmp_path: Path) -> None:
    async with running_centre(tmp_path) as centre:
        hotline = centre.hotline
        long_call = CallerPlan(dtmf="1", dtmf_after_ms=500, hangup_after_ms=30000)
        callers = [CallerIdentity("周一", "13600000001"), CallerIdentity("吴二", "13600000002")]
        sipp = asyncio.create_task(centre.call(callers, long_call, timeout_s=40))
        up = {await _talking(centre, c.number) for c in callers}
        assert set(hotline.tracker.calls) == up == await _asterisk_calls(centre)

        killed_at = time.monotonic()
        hotline.asterisk.kill()
        for number in ("13600000001", "13600000002"):
            call = await centre.log.wait_ended(number, timeout=5)
            assert call.state is CallState.ENDED
            assert call.end_reason.startswith("asterisk connection lost")
        noticed_s = time.monotonic() - killed_at
        assert noticed_s < 5
        assert hotline.tracker.calls == {}
        assert not hotline.service.stats.connected
        sipp.cancel()

        resyncs = hotline.service.stats.resyncs
        await hotline.asterisk.start()
        await hotline.ami.wait_connected(10)
        await hotline.service.wait_synced(10)  # the re-sync of the new connection
        assert hotline.service.stats.resyncs == resyncs + 1
        assert set(hotline.tracker.calls) == await _asterisk_calls(centre) == set()

        # The restarted centre takes calls again, and both sides agree on them.
        await hotline.staff_queues()
        after = asyncio.create_task(
            centre.call(
                [CallerIdentity("郑三", "13600000003")],
                CallerPlan(dtmf="1", dtmf_after_ms=500, hangup_after_ms=4000),
            )
        )
        linkedid = await _talking(centre, "13600000003")
        assert set(hotline.tracker.calls) == {linkedid} == await _asterisk_calls(centre)
        assert (await after).ok
        call = await centre.log.wait_ended("13600000003")
        assert call.state is CallState.ENDED and call.end_reason == "hung up by caller"
        # On record: the cut calls were answered (the desk still owes them a disposition,
        # e.g. 通话中断) and say why they ended; the call after the restart is a plain one.
        numbers = ("13600000001", "13600000002", "13600000003")
        records = await ended_records(centre, numbers)
        for number in numbers[:2]:
            assert records[number].outcome is CallOutcome.ANSWERED
            assert records[number].end_reason.startswith("asterisk connection lost")
            assert records[number].talk_s is not None
        assert records[numbers[2]].outcome is CallOutcome.ANSWERED
        assert records[numbers[2]].end_reason == "hung up by caller"
