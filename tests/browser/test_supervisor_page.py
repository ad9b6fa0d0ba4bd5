"""The supervisor page is one page around the live wall: on a real call, the call's row on the
wall carries its caller, its control state and its listen buttons, and the agent's row its
floor controls; no other table lists them again (the page's earlier queue, agent and call
tables are gone)."""

from __future__ import annotations

import asyncio
import re

from playwright.async_api import expect

from crm.domain.enums import Role
from hotline_cli.demo.sipp import CallerIdentity, CallerPlan
from tests.browser.support import FINAL_CALL_KEPT_MS, DeskPage
from tests.e2e.harness import Centre, crm_user

expect.set_options(timeout=15_000)


async def test_one_page_shows_the_call_and_its_agent_with_their_controls_in_the_walls_rows(
    centre: Centre, desk: DeskPage
) -> None:
    number = "13800138666"
    token = await crm_user(centre, "吴班长", Role.SUPERVISOR)
    page = desk.page
    await page.clock.install()  # real time flows; the ended call's 10 s on the wall is skipped
    await desk.login_supervisor(token)
    await expect(page.locator("#wall-panel")).to_be_visible()
    calling = asyncio.create_task(
        centre.call([CallerIdentity("钱先生", number)], CallerPlan("2", 500, 6000))
    )
    try:
        linkedid = (await centre.log.wait_talking(number, 20)).linkedid
        call_row = page.locator(f'#wall-calls-body tr[data-linkedid="{linkedid}"]')
        await expect(call_row.locator('td[data-field="state"]')).to_have_text("通话中")
        await expect(call_row.locator('td[data-field="caller_name"]')).to_have_text("钱先生")
        await expect(call_row.locator('td[data-field="control"]')).to_have_text("—")
        await expect(call_row.locator('[data-field="agent"]')).to_have_text("1002")
        spy = call_row.locator(f'td.wall-call-hook[data-linkedid="{linkedid}"] .spy')
        for mode in ("listen", "whisper", "barge"):
            await expect(spy.locator(f'button[data-spy="{mode}"]')).to_be_enabled()

        agent_row = page.locator('#wall-agents-body tr[data-extension="1002"]')
        await expect(agent_row.locator('td[data-field="state"]')).to_have_text("通话中")
        await expect(agent_row.locator('td[data-field="call"]')).to_have_text(linkedid)
        floor = agent_row.locator('td.wall-agent-hook[data-extension="1002"] .floor-controls')
        await expect(floor.locator('[data-floor-action="force_logout"]')).to_be_enabled()
        await expect(floor.locator('[data-floor-action="move_queue"]')).to_be_enabled()
        # On a call a forced pause is pending (it starts when the call is done): offered.
        await expect(floor.locator('[data-floor-action="force_pause"]')).to_be_enabled()
        await expect(floor.locator('[data-floor-action="force_unpause"]')).to_be_disabled()

        # Once on the page: the call, its listen buttons, the agent and its controls.
        await expect(page.locator("tr", has_text=number)).to_have_count(1)
        await expect(page.locator(f'[data-spy-call="{linkedid}"]')).to_have_count(1)
        await expect(page.locator('tr[data-extension="1002"]')).to_have_count(1)
        await expect(page.locator('button[data-floor-action="force_logout"][data-ext="1002"]')
                     ).to_have_count(1)  # fmt: skip
        for gone in ("#queues-panel", "#agents-panel", "#calls-panel"):
            await expect(page.locator(gone)).to_have_count(0)
        await desk.screenshot("hotline_supervisor_page")
    finally:
        result = await calling
    assert result.ok, result.errors
    # The call ends: its row says how, greyed, its listen buttons off, then it leaves the wall.
    await expect(call_row).to_contain_text("已结束（来电人挂机）")
    await expect(call_row).to_have_class(re.compile(r"\bfinal\b"))
    await expect(spy.locator('button[data-spy="listen"]')).to_be_disabled()
    await page.clock.fast_forward(FINAL_CALL_KEPT_MS)
    await expect(call_row).to_have_count(0)
    assert desk.problems == []
