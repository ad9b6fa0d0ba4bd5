"""The agent page with a real call: the recording is paused and resumed with a button, and at
wrap-up the page asks for an outcome, the backend refusing 话后处理完成 until one is given.

Agent 1002 (李娜) alone serves the complaint queue (IVR choice 2). Wrap-ups last long here
(the shared E2E settings end them after 0.5 s) so that the page has to ask.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select

from crm.db.call_models import CallEvent, CallRecord
from crm.domain.calls import CallEventKind, Disposition
from crm.domain.enums import Role
from hotline_cli.demo.sipp import CallerIdentity, CallerPlan
from tests.browser.support import DeskPage
from tests.e2e.harness import Centre, crm_user, running_centre

expect.set_options(timeout=10_000)

EXT = "1002"


@pytest.fixture(scope="module")
async def centre(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Centre]:
    state_dir = tmp_path_factory.mktemp("centre")
    async with running_centre(state_dir, ring_ms=600, max_wrapup_s=120) as centre:
        yield centre


async def test_the_wrap_up_asks_for_an_outcome_and_the_recording_pauses(
    centre: Centre, desk: DeskPage, browser: Browser
) -> None:
    number = "13800138010"
    page = desk.page
    token = await crm_user(centre, "李娜", Role.AGENT, EXT)
    await desk.login_agent(token, EXT)
    # A supervisor follows the call on the supervisor page, in a browser context of its own.
    context = await browser.new_context(locale="zh-CN")
    supervisor = DeskPage(await context.new_page(), desk.base_url, desk.problems)
    await supervisor.login_supervisor(await crm_user(centre, "陈班长", Role.SUPERVISOR))
    await expect(page.locator("#presence-state")).to_have_text("空闲")
    await expect(page.locator("#btn-recording")).to_be_disabled()  # no call
    options = page.locator("#disposition option")
    await expect(options).to_have_text([
        "当场解答(知识库)", "打错电话", "无声电话", "骚扰电话", "测试电话", "通话中断",
    ])  # fmt: skip  (no 已转110/119/120: an emergency needs its work order)

    plan = CallerPlan(dtmf="2", dtmf_after_ms=500, hangup_after_ms=9000)
    calling = asyncio.create_task(centre.call([CallerIdentity("周小梅", number)], plan))
    try:
        await expect(page.locator("#call-state")).to_have_text("通话中", timeout=15_000)
        call_id = await page.locator("#pop-call-id").inner_text()
        button = page.locator("#btn-recording")
        await expect(button).to_have_text("暂停录音")
        await button.click()
        await expect(page.locator("#recording-paused")).to_be_visible()
        await expect(button).to_have_text("恢复录音")
        await expect(page.locator("#command-message")).to_have_text("暂停录音：成功")
        row = supervisor.page.locator(f'#wall-calls-body tr[data-linkedid="{call_id}"]')
        await expect(row).to_contain_text("录音暂停")
        await desk.screenshot("hotline_agent_recording_paused")
        await button.click()
        await expect(page.locator("#recording-paused")).to_be_hidden()
        await expect(button).to_have_text("暂停录音")
        await expect(page.locator("#command-message")).to_have_text("恢复录音：成功")
        await expect(row).to_contain_text("通话中")
        await expect(row).not_to_contain_text("录音暂停")

        # The caller hangs up: wrap-up, and the page asks for the call's outcome.
        await expect(page.locator("#presence-state")).to_have_text("话后处理", timeout=15_000)
    finally:
        await context.close()
        result = await calling
    assert result.ok, result.errors
    prompt = page.locator("#outcome-prompt")
    await expect(prompt).to_be_visible()
    await expect(page.locator("#outcome-state")).to_have_text("尚无处理结果")
    await expect(button).to_be_disabled()
    await page.click("#btn-wrapup-done")  # refused by the backend: no outcome yet
    await expect(page.locator("#command-message")).to_contain_text(
        "话后处理完成失败：尚无处理结果（outcome_required"
    )
    await expect(page.locator("#presence-state")).to_have_text("话后处理")
    await desk.screenshot("hotline_agent_outcome_required")

    await page.select_option("#disposition", "silent")
    await page.fill("#disposition-note", "接通后无人说话")
    await page.click("#btn-dispose")
    await expect(page.locator("#outcome-state")).to_have_text("已选择处理结果")
    await expect(prompt).to_be_hidden()
    await page.click("#btn-wrapup-done")
    await expect(page.locator("#presence-state")).to_have_text("空闲")

    async with centre.hotline.sessions() as session:
        record = await session.get(CallRecord, call_id)
        kinds = list(await session.scalars(
            select(CallEvent.kind).where(CallEvent.linkedid == call_id).order_by(CallEvent.at)
        ))  # fmt: skip
    assert record is not None
    assert (record.disposition, record.disposition_note) == (Disposition.SILENT, "接通后无人说话")
    mine = (CallEventKind.RECORDING_PAUSED, CallEventKind.RECORDING_RESUMED, CallEventKind.DISPOSED)
    assert [k for k in kinds if k in mine] == list(mine)
