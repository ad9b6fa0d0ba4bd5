"""`recordings.enabled = false` against a real Asterisk: calls are answered as usual, no
file is written and the call names no recording (nothing for the checker to wait for)."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

from hotline_cli.app import running_hotline
from hotline_cli.demo.sipp import AgentPhone, CallerIdentity, CallerPlan
from telephony.call import CallState
from tests.e2e.harness import CallLog, Centre, e2e_settings
from tests.support.audio import CALLER_HZ, tone_pcap


async def test_a_call_with_recording_off_leaves_no_file(tmp_path: Path) -> None:
    packaged = e2e_settings(tmp_path / "state")
    off = packaged.recordings.model_copy(update={"enabled": False})
    settings = packaged.model_copy(update={"recordings": off})
    log = CallLog()
    workdir = tmp_path / "sipp"
    speaking = tone_pcap(tmp_path / "caller.pcap", CALLER_HZ, 10)
    async with running_hotline(settings, [log]) as hotline, AsyncExitStack() as phones:
        await hotline.staff_queues()
        for agent in settings.agents:
            host, port = agent.contact.split("@", 1)[1].split(":")
            await phones.enter_async_context(AgentPhone(workdir, host, int(port), 500))
        result = await Centre(hotline, log, workdir).call(
            [CallerIdentity("吴七", "13900001201")],
            CallerPlan(dtmf="1", dtmf_after_ms=600, hangup_after_ms=4000, audio=speaking),
        )
        assert result.ok, result.errors
        call = await log.wait_ended("13900001201", timeout=30)
    assert call.state is CallState.ENDED and call.agent_interface  # answered and talked
    assert call.talk_time_s is not None and call.talk_time_s > 1
    assert call.recording == ""
    recordings = settings.recordings_dir
    assert not recordings.exists() or not any(recordings.rglob("*.wav"))
