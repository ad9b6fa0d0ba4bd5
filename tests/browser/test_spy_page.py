"""The supervisor page listens to a real call, then whispers, barges and leaves (监听 → 密语 →
强插 → 退出): a real hotline (Asterisk, a SIPp caller, the agent's SIPp phone, the
supervisor's SIPp phone), each step checked in Asterisk (`CoreShowChannels`: the supervisor's
channel running ChanSpy on the agent's leg with the mode's options, gone after 退出) and in
the audit (`spy_sessions`: the supervisor, each mode)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from crm.db.call_models import SpySession
from crm.db.models import User
from crm.domain.enums import Role
from hotline_cli.demo.ports import free_udp_port
from hotline_cli.demo.sipp import AgentPhone, CallerIdentity, CallerPlan
from telephony.actions import hang_up
from telephony.call import CallState
from tests.browser.support import DeskPage
from tests.e2e.harness import Centre, crm_user, running_centre
from tests.support.audio import AGENT_A_HZ, AGENT_C_HZ, CALLER_HZ, tone_pcap
from tests.support.polling import eventually

expect.set_options(timeout=20_000)

PHONE = "8001"
SUPERVISOR = {"extension": PHONE, "name": "张班长", "kind": "supervisor",
              "contact": f"sip:{PHONE}@127.0.0.1:{free_udp_port()}"}  # fmt: skip


@pytest.fixture(scope="module")
async def centre(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Centre]:
    state = tmp_path_factory.mktemp("centre")
    port = int(SUPERVISOR["contact"].rsplit(":", 1)[1])
    # Phones send RTP (G.711, no silence suppression) as real ones do: the agent's and the
    # supervisor's speak a tone, the caller too (see README: a ChanSpy without frames).
    voice = tone_pcap(state / "supervisor.pcap", AGENT_C_HZ, 120)
    agent = tone_pcap(state / "agent.pcap", AGENT_A_HZ, 120)
    up = running_centre(state, ring_ms=400, colleagues=[SUPERVISOR], phone_audio={"1001": agent})
    async with up as c, c.agents_paused("1002", reason="会议"), AgentPhone(
        state / "sipp", "127.0.0.1", port, 300, voice
    ):  # fmt: skip
        yield c


async def spy_channel(centre: Centre) -> dict[str, str] | None:
    listed = await centre.hotline.ami.action_list("CoreShowChannels")
    found = [c for c in listed if c.get("Event") == "CoreShowChannel"
             and c.get("Channel", "").startswith(f"PJSIP/{PHONE}-")]  # fmt: skip
    assert len(found) <= 1, found
    return found[0] if found else None


async def test_listen_whisper_barge_and_leave_from_the_page(
    centre: Centre, desk: DeskPage
) -> None:
    token = await crm_user(centre, "张班长", Role.SUPERVISOR, PHONE)
    await desk.login_supervisor(token)
    speech = tone_pcap(centre.workdir / "caller.pcap", CALLER_HZ, 120)
    plan = CallerPlan(dtmf="1", dtmf_after_ms=500, hangup_after_ms=90_000, audio=speech)
    calling = asyncio.create_task(centre.call([CallerIdentity("周到", "13900009001")], plan, 120))
    talking = await centre.log.wait_for(
        lambda e: e.call.caller_number == "13900009001" and e.call.state is CallState.TALKING, 30
    )
    call = talking.call
    page = desk.page
    controls = page.locator(f'#wall-calls-body tr[data-linkedid="{call.linkedid}"] .spy')
    await expect(controls.locator('[data-spy="listen"]')).to_be_enabled()
    await expect(controls.locator('[data-spy="leave"]')).to_have_count(0)
    steps = page.locator("#spy-step")

    for mode, word, options in (("listen", "监听", "qE"), ("whisper", "密语", "qEw"),
                                ("barge", "强插", "qEB")):  # fmt: skip
        await controls.locator(f'[data-spy="{mode}"]').click()
        await expect(steps).to_have_attribute("data-step", "done")
        await expect(steps).to_contain_text("已完成")
        channel = await spy_channel(centre)
        assert channel is not None and channel["Application"] == "ChanSpy", channel
        assert channel["ApplicationData"] == f"{call.agent_channel},{options}"
        await expect(controls.locator(f'[data-spy="{mode}"]')).to_be_disabled()  # the mode now
        await expect(controls.locator('[data-spy="leave"]')).to_be_enabled()
        assert word in await controls.inner_text()

    # Drawn from the backend's word, not the page's memory: after a reload the session
    # (from the supervisor's snapshot) still has its 退出, in barge.
    await page.reload()
    await expect(controls.locator('[data-spy="leave"]')).to_be_enabled()
    await expect(controls.locator('[data-spy="barge"]')).to_have_attribute("data-current", "yes")
    await controls.locator('[data-spy="leave"]').click()
    await expect(steps).to_have_text("退出监听：已完成")

    async def gone() -> bool:
        return await spy_channel(centre) is None

    await eventually(gone, 15, "the supervisor's channel gone")
    await expect(controls.locator('[data-spy="leave"]')).to_have_count(0)
    await expect(controls.locator('[data-spy="listen"]')).to_be_enabled()
    await hang_up(centre.hotline.ami, call.channel)
    assert (await calling).ok

    deadline = time.monotonic() + 15
    while True:
        async with centre.hotline.sessions() as session:
            query = select(SpySession).where(SpySession.linkedid == call.linkedid)
            row = await session.scalar(query)
            user = await session.scalar(select(User).where(User.name == "张班长"))
        if row is not None and row.ended_at is not None:
            break
        assert time.monotonic() < deadline, "the spy session is not on record"
        await asyncio.sleep(0.2)
    assert user is not None and row.supervisor_id == user.id and row.phone == PHONE
    assert [m["mode"] for m in row.modes] == ["listen", "whisper", "barge"]
    assert desk.problems == []
