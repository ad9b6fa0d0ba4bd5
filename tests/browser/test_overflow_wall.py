"""The supervisor page shows the overflow seats switched in and out: one caller waits (the
hotline's agents paused) past a one-caller start threshold, the page says 溢出席位启用 with
the reason; the seat answers, the queue drains, it says 溢出席位停用."""

from __future__ import annotations

import asyncio

from playwright.async_api import expect

from crm.domain.enums import Role
from hotline_cli.demo.sipp import CallerIdentity, CallerPlan
from telephony.call import CallState
from tests.browser.support import DeskPage
from tests.e2e.harness import Centre, crm_user
from tests.e2e.test_overflow_seats import with_seats

expect.set_options(timeout=15_000)


async def test_the_wall_shows_the_seats_switched_in_and_out(centre: Centre, desk: DeskPage) -> None:
    hotline = centre.hotline
    limits = {"start_waiting": 1, "start_wait_s": 600, "stop_waiting": 0, "stop_wait_s": 10}
    await hotline.apply_settings(with_seats(hotline.settings, **limits))
    token = await crm_user(centre, "郑班长", Role.SUPERVISOR)
    await desk.login_supervisor(token)
    shown = desk.page.locator('#wall-overflow li[data-queue="hotline"]')
    number = "13800138777"
    async with centre.agents_paused("1001", "1002", reason="会议"):
        plan = CallerPlan("1", 300, 30_000)
        calling = asyncio.create_task(centre.call([CallerIdentity("冯先生", number)], plan))
        await expect(shown).to_contain_text("溢出席位启用（hotline）：排队 1 人，达到启用阈值 1 人")
        talking = await centre.log.wait_for(
            lambda e: e.call.caller_number == number and e.call.state is CallState.TALKING, 20
        )
        assert talking.call.agent_interface == "PJSIP/1901"
        await expect(shown).to_contain_text("溢出席位停用（hotline）：排队 0 人")
        await hotline.ami.action("Hangup", Channel=talking.call.agent_channel, Cause="16")
        result = await calling
    assert result.ok, result.errors
    assert desk.problems == []
