"""A warm transfer from agent 1001's page to agent 1002, against a real hotline (Asterisk, a
SIPp caller, both agents' SIPp phones): 1002's page pops the caller and gets the call's
controls (hold, resume, hang-up), 1001's page shows the call handed to 1002 and its own
controls off. Checked in Asterisk too (`ConfbridgeList`, `CoreShowChannels`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect

from crm.domain.enums import Role
from hotline_cli.demo.sipp import CallerIdentity, CallerPlan
from telephony.ami_connection import AmiActionError
from telephony.call import CallState
from telephony.dialplan import CONTEXT_HOLD_MUSIC, consult_room, main_room
from tests.browser.support import DeskPage
from tests.e2e.harness import Centre, crm_user, running_centre
from tests.support.polling import eventually

expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
async def centre(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Centre]:
    up = running_centre(tmp_path_factory.mktemp("centre"), ring_ms=400)
    async with up as c, c.agents_paused("1002", reason="会议"):  # 1001 takes every call
        yield c


async def room(centre: Centre, name: str) -> set[str]:
    """The people in a room (not the hold-music player), as Asterisk lists them."""
    try:
        items = await centre.hotline.ami.action_list("ConfbridgeList", Conference=name)
    except AmiActionError:
        return set()  # "No Conference by that name found."
    return {i["Channel"] for i in items if i.get("Event") == "ConfbridgeList"
            and f"@{CONTEXT_HOLD_MUSIC}-" not in i["Channel"]}  # fmt: skip


async def channels(centre: Centre) -> set[str]:
    listed = await centre.hotline.ami.action_list("CoreShowChannels")
    return {c["Channel"] for c in listed if c.get("Event") == "CoreShowChannel"}


async def agent_page(centre: Centre, desk: DeskPage, name: str, ext: str) -> Page:
    await desk.login_agent(await crm_user(centre, name, Role.AGENT, ext), ext)
    return desk.page


async def test_a_warm_transfer_to_another_agent_from_the_page(
    centre: Centre, desk: DeskPage, browser: Browser
) -> None:
    first = await agent_page(centre, desk, "王芳", "1001")
    await expect(first.locator("#presence-state")).to_have_text("空闲")
    context = await browser.new_context(viewport={"width": 1360, "height": 1000}, locale="zh-CN")
    other = DeskPage(await context.new_page(), desk.base_url, desk.problems)
    taker = await agent_page(centre, other, "李娜", "1002")
    number = "13900002301"
    plan = CallerPlan(dtmf="1", dtmf_after_ms=500, hangup_after_ms=90_000)
    calling = asyncio.create_task(centre.call([CallerIdentity("周到", number)], plan, 120))
    talking = await centre.log.wait_for(
        lambda e: e.call.caller_number == number and e.call.state is CallState.TALKING, 30
    )
    call = talking.call
    await expect(first.locator("#call-state")).to_have_text("通话中")
    await first.select_option("#consult-mode", "hold")
    await first.select_option("#consult-target", "1002")
    await first.click("#btn-consult")
    await expect(first.locator("#btn-consult-complete")).to_be_enabled()  # 1002 answered
    await first.click("#btn-consult-complete")
    # 1002's page: the caller popped, the call its own with its controls.
    await expect(taker.locator("#pop-number")).to_have_text(number)
    await expect(taker.locator("#call-state")).to_have_text("通话中")
    await expect(taker.locator("#presence-state")).to_have_text("通话中")
    for control in ["#btn-hold", "#btn-mute", "#btn-consult", "#btn-hangup"]:
        await expect(taker.locator(control)).to_be_enabled()
    # 1001's page: handed on, nothing of it to control any more.
    await expect(first.locator("#call-state")).to_have_text("已转接给坐席 1002")
    await expect(first.locator("#presence-state")).not_to_have_text("通话中")
    for control in ["#btn-hold", "#btn-hangup", "#btn-consult"]:
        await expect(first.locator(control)).to_be_disabled()
    together = await room(centre, main_room(call.linkedid))
    assert call.channel in together and len(together) == 2, together
    leg = next(c for c in together if c != call.channel)
    assert leg.startswith("Local/1002@hotline-consult-"), leg
    await taker.click("#btn-hold")
    await expect(taker.locator("#btn-resume")).to_be_enabled()

    async def held() -> bool:  # Asterisk: the taker alone in the consult room
        return await room(centre, consult_room(call.linkedid)) == {leg}

    await eventually(held, 5, "the taker's leg held in the consult room")
    await taker.click("#btn-resume")
    await expect(taker.locator("#btn-hangup")).to_be_enabled()

    async def resumed() -> bool:  # Asterisk lists a room's members a moment after the join
        return await room(centre, main_room(call.linkedid)) == {call.channel, leg}

    await eventually(resumed, 5, "the caller and the taker together again")
    await taker.click("#btn-hangup")

    async def caller_gone() -> bool:
        return call.channel not in await channels(centre)

    await eventually(caller_gone, 15, "the caller's channel gone")
    assert (await calling).ok
    ended = await centre.log.wait_ended(number)
    assert ended.end_reason == "hung up by agent"
    await expect(taker.locator("#call-state")).to_contain_text("已结束")
    await context.close()
