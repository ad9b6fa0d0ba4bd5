"""Managing agents from the supervisor page, in Chromium against a real hotline: the supervisor
force-pauses agent 1001 with a reason, Asterisk pauses it, and 1001's own page (a second
browser) shows the notice and its pause, refuses its own 恢复 and still shows the notice after a
reload; the supervisor resumes it; a blank reason is not
sent. The agent page has none of the controls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from crm.domain.enums import Role
from hotline_cli.demo.sipp import CallerIdentity, CallerPlan
from tests.browser.support import DeskPage, open_desk
from tests.e2e.harness import Centre, crm_user

expect.set_options(timeout=10_000)


@pytest.fixture
async def agent_desk(browser: Browser, centre: Centre) -> AsyncIterator[DeskPage]:
    """A second browser (the agent's screen) beside the `desk` fixture's."""
    async with open_desk(browser, centre) as page:
        yield page


async def _logged_in(centre: Centre, desk: DeskPage, agent_desk: DeskPage) -> tuple[Page, Locator]:
    """王芳 at 1001's page (available), 张三 at the supervisor's: 1001's page and wall row."""
    supervisor_token = await crm_user(centre, "张三", Role.SUPERVISOR)
    agent_token = await crm_user(centre, "王芳", Role.AGENT, "1001")
    await agent_desk.login_agent(agent_token, "1001")
    await expect(agent_desk.page.locator("#presence-state")).to_have_text("空闲")
    await desk.login_supervisor(supervisor_token)
    return agent_desk.page, desk.page.locator('#wall-agents-body tr[data-extension="1001"]')


async def test_the_supervisor_force_pauses_an_agent_and_the_agents_page_shows_it(
    centre: Centre, desk: DeskPage, agent_desk: DeskPage
) -> None:
    agent, row = await _logged_in(centre, desk, agent_desk)
    assert await agent.locator("button[data-floor-action]").count() == 0  # no controls there
    page = desk.page
    pause = row.locator('button[data-floor-action="force_pause"]')
    await expect(pause).to_be_enabled()
    await expect(row.locator('button[data-floor-action="force_unpause"]')).to_be_disabled()
    try:
        # A blank reason is not sent: the form says why.
        await pause.click()
        form = page.locator("#floor-form")
        await expect(form).to_be_visible()
        await expect(page.locator("#floor-title")).to_have_text("强制暂停：坐席 1001")
        await page.fill("#floor-reason", "   ")
        await page.click("#floor-submit")
        await expect(page.locator("#floor-message")).to_have_text("请填写操作原因")
        await expect(agent.locator("#presence-state")).to_have_text("空闲")

        await page.select_option("#floor-pause-reason", "培训")
        await page.fill("#floor-reason", "新政策培训")
        await page.click("#floor-submit")
        text = "班长 张三 将您置为暂停：培训（新政策培训）"
        await expect(page.locator("#floor-message")).to_have_text(f"已执行：{text}")
        await expect(row).to_contain_text("示忙")
        await expect(row).to_contain_text("培训")

        # The agent's own page: the notice, and the pause as its presence.
        await expect(agent.locator("#floor-notice")).to_contain_text(text)
        await expect(agent.locator("#presence-state")).to_have_text("示忙")
        await expect(agent.locator("#presence-reason")).to_have_text("培训")
        [member] = [
            m for m in await centre.hotline.ami.action_list("QueueStatus", Queue="hotline")
            if m.get("Event") == "QueueMember" and m.get("Location") == "PJSIP/1001"
        ]  # fmt: skip
        assert (member["Paused"], member["PausedReason"]) == ("1", "培训")

        # The pause is the supervisor's to end: the agent's own 恢复 is refused, in Chinese.
        await agent.click("#btn-unpause")
        await expect(agent.locator("#command-message")).to_contain_text(
            "班长已将您置为暂停，请联系班长")  # fmt: skip
        await expect(agent.locator("#presence-state")).to_have_text("示忙")
        # A reload still shows who acted and why (the notice comes in the snapshot).
        await agent.reload()
        await agent.locator('#conn[data-status="connected"]').wait_for()
        await expect(agent.locator("#floor-notice")).to_contain_text(text)

        # And back.
        await row.locator('button[data-floor-action="force_unpause"]').click()
        await page.fill("#floor-reason", "培训取消")
        await page.click("#floor-submit")
        await expect(agent.locator("#presence-state")).to_have_text("空闲")
        resumed = "班长 张三 已为您恢复接听（培训取消）"
        await expect(agent.locator("#floor-notice")).to_contain_text(resumed)
        await desk.screenshot("hotline_floor_supervisor")
    finally:
        await centre.hotline.ami.action("QueuePause", Interface="PJSIP/1001", Paused="false")


async def test_a_forced_pause_during_a_call_is_pending_on_the_wall_and_the_agents_page(
    centre: Centre, desk: DeskPage, agent_desk: DeskPage
) -> None:
    agent, row = await _logged_in(centre, desk, agent_desk)
    number = "13800138077"
    plan = CallerPlan(dtmf="1", dtmf_after_ms=500, hangup_after_ms=6000)
    try:
        async with centre.agents_paused("1002", reason="小休"):  # the call is 1001's
            calling = asyncio.create_task(centre.call([CallerIdentity("周八", number)], plan))
            await expect(agent.locator("#presence-state")).to_have_text("通话中")
            await expect(row).to_contain_text("通话中")
            await row.locator('button[data-floor-action="force_pause"]').click()
            await desk.page.select_option("#floor-pause-reason", "会议")
            await desk.page.fill("#floor-reason", "班前会")
            await desk.page.click("#floor-submit")
            await expect(row).to_contain_text("通话结束后暂停：会议")
            await expect(row.locator('button[data-floor-action="force_unpause"]')).to_be_enabled()
            await expect(agent.locator("#presence-pending")).to_have_text("通话结束后暂停：会议")
            assert (await calling).ok
            await expect(row).to_contain_text("示忙（会议）")  # after the call and its wrap-up
            await expect(agent.locator("#presence-reason")).to_have_text("会议")
    finally:
        await centre.hotline.ami.action("QueuePause", Interface="PJSIP/1001", Paused="false")
