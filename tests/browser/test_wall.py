"""The supervisor page's live wall in Chromium, on a real call: the call and its agent show
live, the queue's figures count it once it is answered, and the hook cells other modules fill
(an agent's controls, a call's listen buttons) survive the wall's updates."""

from __future__ import annotations

import asyncio
import re

from playwright.async_api import expect

from crm.domain.enums import Role
from hotline_cli.demo.sipp import CallerIdentity, CallerPlan
from tests.browser.support import FINAL_CALL_KEPT_MS, DeskPage
from tests.e2e.harness import Centre, crm_user

expect.set_options(timeout=15_000)


async def test_the_wall_shows_a_live_call_and_its_agent(centre: Centre, desk: DeskPage) -> None:
    number = "13800138777"
    token = await crm_user(centre, "周班长", Role.SUPERVISOR)
    page = desk.page
    await page.clock.install()  # real time flows; the ended call's 10 s on the wall is skipped
    await desk.login_supervisor(token)
    wall = page.locator("#wall-panel")
    await expect(wall).to_be_visible()  # from the snapshot, before any call
    tile = wall.locator('.wall-queue[data-queue="complaint"]')
    await expect(tile.locator('[data-field="waiting"]')).to_have_text("0")
    answered_before = int(await tile.locator('[data-field="answered_today"]').inner_text())

    # What the floor's controls would put in the agent's hook cell.
    agent_row = wall.locator('#wall-agents-body tr[data-extension="1002"]')
    await expect(agent_row).to_contain_text("李娜")
    await page.evaluate(
        """() => {
          const cell = document.querySelector('td.wall-agent-hook[data-extension="1002"]');
          const b = document.createElement('button');
          b.id = 'floor-probe';
          b.textContent = '强制示忙';
          cell.append(b);
        }"""
    )
    calling = asyncio.create_task(
        centre.call([CallerIdentity("孙阿姨", number)], CallerPlan("2", 500, 6000))
    )
    try:
        linkedid = (await centre.log.wait_talking(number, 20)).linkedid
        call_row = wall.locator(f'#wall-calls-body tr[data-linkedid="{linkedid}"]')
        await expect(call_row).to_contain_text("通话中")
        await expect(call_row.locator('[data-field="agent"]')).to_have_text("1002")
        hook = call_row.locator(f'td.wall-call-hook[data-linkedid="{linkedid}"]')
        await expect(hook).to_have_count(1)
        await expect(agent_row).to_contain_text("通话中")
        await expect(agent_row.locator('[data-field="call"]')).to_have_text(linkedid)
        # the call's duration counts on in the page
        duration = agent_row.locator('[data-field="call_duration"]')
        await expect(duration).to_have_text(re.compile(r"^[1-9]\d* 秒$"))
        await expect(tile.locator('[data-field="answered_today"]')).to_have_text(
            str(answered_before + 1)
        )
        await expect(tile.locator('[data-field="service_level_today"]')).to_have_text(
            re.compile(r"^\d+\.\d%$")
        )
        await desk.screenshot("hotline_supervisor_wall")
    finally:
        result = await calling
    assert result.ok, result.errors
    await expect(call_row).to_have_class(re.compile(r"\bfinal\b"))  # over: greyed, then
    await page.clock.fast_forward(FINAL_CALL_KEPT_MS)
    await expect(call_row).to_have_count(0)  # off the wall
    await expect(agent_row).not_to_contain_text("通话中")
    await expect(agent_row.locator('[data-field="calls_today"]')).not_to_have_text("0")
    # the floor's button stayed in the agent's row through every update
    await expect(agent_row.locator("#floor-probe")).to_have_count(1)
