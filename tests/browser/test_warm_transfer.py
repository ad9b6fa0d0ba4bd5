"""The agent page runs a warm transfer to 110 (一键转 110, then 完成转接), a three-party call
(and leaves it), a cancelled consult and one that fails with both trunks down, against a
real hotline: Asterisk, a SIPp caller, the agent's SIPp phone, a SIPp UAS per trunk leg.

Each outcome is checked in Asterisk itself (`ConfbridgeList` of the call's rooms,
`CoreShowChannels`), on the page (the controls enabled only when they apply, the step status,
the consult's legs, the 10-minute clock), on the supervisor page, and in the CRM for the
emergency order saved after the operator answered (transferred to 110). The supervisor page
lists the alerts pushed on its topic.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from agent_gateway.edge.protocol import SUPERVISORS
from crm.db.exchange_models import OrderAlert
from crm.db.models import User
from crm.domain.enums import Role, Status, TransferTarget
from hotline_cli.demo.ports import free_udp_port
from hotline_cli.demo.sipp import AgentPhone, CallerIdentity, CallerPlan, CallerResult
from telephony.actions import hang_up
from telephony.ami_connection import AmiActionError
from telephony.call import Call, CallState
from telephony.dialplan import CONTEXT_HOLD_MUSIC, consult_room, main_room
from tests.browser.support import DeskPage, order_by_number
from tests.e2e.harness import Centre, crm_user, register_order_over_http, running_centre
from tests.support.polling import eventually
from tests.support.trunk_peers import RefusingTrunk, emergency_trunks

expect.set_options(timeout=20_000)

EXT = "1001"
DIAL_TIMEOUT_S = 3
PORTS = {line: (free_udp_port(), free_udp_port()) for line in ("110", "119", "120")}
ALWAYS_ENABLED_WHILE_TALKING = ["#btn-hold", "#btn-mute", "#btn-consult", ".quick-consult >> nth=0"]
AFTER_ANSWER = ["#btn-consult-complete", "#btn-three-way", "#btn-consult-cancel"]


@pytest.fixture(scope="module")
async def centre(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Centre]:
    trunks = emergency_trunks(PORTS, DIAL_TIMEOUT_S)
    up = running_centre(tmp_path_factory.mktemp("centre"), ring_ms=400, trunks=trunks)
    async with up as c, c.agents_paused("1002", reason="会议"):  # 1001 takes every call
        yield c


def operator(centre: Centre, line: str) -> AgentPhone:
    """The primary leg's far end of `line`: answers after 300 ms."""
    return AgentPhone(centre.workdir, "127.0.0.1", PORTS[line][0], 300)


async def members(centre: Centre, name: str) -> set[str]:
    try:
        items = await centre.hotline.ami.action_list("ConfbridgeList", Conference=name)
    except AmiActionError:
        return set()  # "No Conference by that name found."
    return {i["Channel"] for i in items if i.get("Event") == "ConfbridgeList"}


async def room(centre: Centre, name: str) -> set[str]:
    """The people in a room: its members but the hold-music player (a Local channel)."""
    return {c for c in await members(centre, name) if f"@{CONTEXT_HOLD_MUSIC}-" not in c}


async def hold_music_in(centre: Centre, name: str) -> bool:
    return any(f"@{CONTEXT_HOLD_MUSIC}-" in c for c in await members(centre, name))


async def channels(centre: Centre) -> set[str]:
    listed = await centre.hotline.ami.action_list("CoreShowChannels")
    return {c["Channel"] for c in listed if c.get("Event") == "CoreShowChannel"}


def trunk_legs(listed: set[str], line: str) -> set[str]:
    return {c for c in listed if c.startswith(f"PJSIP/trunk-{line}-")}


async def agent_page(centre: Centre, desk: DeskPage) -> Page:
    await desk.login_agent(await crm_user(centre, "王芳", Role.AGENT, EXT), EXT)
    await expect(desk.page.locator("#presence-state")).to_have_text("空闲")
    return desk.page


async def supervisor_page(centre: Centre, desk: DeskPage, browser: Browser) -> DeskPage:
    context = await browser.new_context(locale="zh-CN")
    supervisor = DeskPage(await context.new_page(), desk.base_url, desk.problems)
    await supervisor.login_supervisor(await crm_user(centre, "陈班长", Role.SUPERVISOR))
    return supervisor


async def answered(
    centre: Centre, page: Page, number: str
) -> tuple[asyncio.Task[CallerResult], Call]:
    plan = CallerPlan(dtmf="1", dtmf_after_ms=500, hangup_after_ms=90_000)
    calling = asyncio.create_task(centre.call([CallerIdentity("周到", number)], plan, 120))
    talking = await centre.log.wait_for(
        lambda e: e.call.caller_number == number and e.call.state is CallState.TALKING, 30
    )
    await expect(page.locator("#call-state")).to_have_text("通话中")
    for control in [*ALWAYS_ENABLED_WHILE_TALKING, "#btn-hangup", "#btn-transfer"]:
        await expect(page.locator(control)).to_be_enabled()
    for control in [*AFTER_ANSWER, "#btn-resume", "#btn-leave"]:
        await expect(page.locator(control)).to_be_disabled()
    return calling, talking.call


async def end_call(centre: Centre, calling: asyncio.Task[CallerResult], call: Call) -> None:
    await hang_up(centre.hotline.ami, call.channel)
    assert (await calling).ok
    await centre.log.wait_ended(call.caller_number)


async def test_warm_transfer_to_110_from_the_page(
    centre: Centre, desk: DeskPage, browser: Browser
) -> None:
    page = await agent_page(centre, desk)
    supervisor = await supervisor_page(centre, desk, browser)
    async with operator(centre, "110"):
        calling, call = await answered(centre, page, "13900002101")
        await page.select_option("#consult-mode", "hold")
        await page.click('.quick-consult[data-target="110"]')
        await expect(page.locator("#consult-status")).to_have_text("110 已接通")
        await expect(page.locator("#control-step")).to_contain_text("对方已接通")
        await expect(page.locator("#consult-attempts li")).to_have_text(["110 主用线路：已接通"])
        await expect(page.locator("#control-state")).to_contain_text("保持中")
        await expect(page.locator("#emergency-clock")).to_contain_text("110 已接通，用时")
        for control in AFTER_ANSWER:
            await expect(page.locator(control)).to_be_enabled()
        # No hang-up while the consult is live (the caller would go with it), no blind
        # transfer in the rooms.
        for control in ["#btn-hold", "#btn-consult", "#btn-leave", "#btn-resume",
                        "#btn-hangup", "#btn-transfer"]:  # fmt: skip
            await expect(page.locator(control)).to_be_disabled()
        row = supervisor.page.locator(f'#wall-calls-body tr[data-linkedid="{call.linkedid}"]')
        await expect(row.locator("td.control")).to_contain_text("保持中；转接 110 已接通")
        await expect(row.locator("td.clock-cell")).to_contain_text("110 已接通，用时")
        # Asterisk: the caller alone in the main room (hold music), the agent with 110.
        assert await room(centre, main_room(call.linkedid)) == {call.channel}
        await eventually(lambda: hold_music_in(centre, main_room(call.linkedid)), 15, "hold music")
        consulting = await room(centre, consult_room(call.linkedid))
        assert call.agent_channel in consulting and len(consulting) == 2, consulting

        await page.click("#btn-consult-complete")
        await expect(page.locator("#control-step")).to_have_text("完成转接：已完成")
        await expect(page.locator("#consult-status")).to_have_text("110 已完成转接")
        await expect(page.locator("#presence-state")).not_to_have_text("通话中")
        # Asterisk: caller and operator together, the agent's channel gone.
        listed = await channels(centre)
        assert call.agent_channel not in listed and len(trunk_legs(listed, "110")) == 1
        together = await room(centre, main_room(call.linkedid))
        assert call.channel in together and len(together) == 2, together
        await expect(row.locator("td.control")).to_contain_text("转接 110 已完成转接")

        # The emergency order, saved after the operator answered: transferred to 110.
        await page.select_option("#order-type", "police")
        await page.fill("#order-text", "幸福路有人持刀闹事，已转 110")
        await page.click("#order-save")
        await expect(page.locator("#order-transferred")).to_have_text("已转 110，警单移交中")
        order = await order_by_number(centre, await page.locator("#order-number").inner_text())
        assert order.status is Status.TRANSFERRED
        assert order.transfer_target is TransferTarget.POLICE_110
        await end_call(centre, calling, call)
    await supervisor.page.context.close()


async def test_three_party_call_and_leaving_it_from_the_page(
    centre: Centre, desk: DeskPage
) -> None:
    page = await agent_page(centre, desk)
    async with operator(centre, "110"):
        calling, call = await answered(centre, page, "13900002102")
        await page.select_option("#consult-mode", "three_way")
        await page.click('.quick-consult[data-target="110"]')
        await expect(page.locator("#consult-status")).to_have_text("110 三方通话中")
        await expect(page.locator("#btn-leave")).to_be_enabled()
        await expect(page.locator("#btn-consult-complete")).to_be_disabled()
        three = await room(centre, main_room(call.linkedid))
        assert {call.channel, call.agent_channel} < three and len(three) == 3, three

        await page.click("#btn-leave")
        await expect(page.locator("#control-step")).to_have_text("退出三方通话：已完成")
        listed = await channels(centre)
        assert call.agent_channel not in listed and len(trunk_legs(listed, "110")) == 1
        two = await room(centre, main_room(call.linkedid))
        assert call.channel in two and len(two) == 2, two
        await end_call(centre, calling, call)


async def test_a_cancelled_consult_and_one_with_both_trunks_down(
    centre: Centre, desk: DeskPage
) -> None:
    page = await agent_page(centre, desk)
    async with operator(centre, "119"):
        calling, call = await answered(centre, page, "13900002103")
        await page.select_option("#consult-mode", "hold")
        await page.click('.quick-consult[data-target="119"]')
        await expect(page.locator("#consult-status")).to_have_text("119 已接通")
        await page.click("#btn-consult-cancel")
        await expect(page.locator("#control-step")).to_have_text("取消转接：已完成")
        await expect(page.locator("#consult-status")).to_have_text("119 已取消")
        # Asterisk: the agent back with the caller, no trunk leg left.
        assert await room(centre, main_room(call.linkedid)) == {call.channel, call.agent_channel}
        await eventually(lambda: _no_leg(centre, "119"), 15, "119's leg hung up")
        for control in [*ALWAYS_ENABLED_WHILE_TALKING, "#btn-hangup"]:
            await expect(page.locator(control)).to_be_enabled()
        await expect(page.locator("#btn-transfer")).to_be_disabled()  # in the rooms now

        # 120: both legs refuse (503): both trunks down, said at once, and the agent is
        # back with the caller. (Legs where nobody answers would say 无人接听: Asterisk sees
        # no answer within the dial timeout, not a trunk down.)
        async with RefusingTrunk(centre.workdir, "127.0.0.1", PORTS["120"][0]), \
                RefusingTrunk(centre.workdir, "127.0.0.1", PORTS["120"][1]):  # fmt: skip
            await page.click('.quick-consult[data-target="120"]')
            await expect(page.locator("#consult-status")).to_have_text(
                "120 失败（主备线路均不可用）", timeout=30_000
            )
        await expect(page.locator("#control-step")).to_contain_text("失败（")
        await expect(page.locator("#consult-attempts li")).to_have_count(2)
        await eventually(
            lambda: _with_caller(centre, call), 15, "the agent back in the caller's room"
        )
        await expect(page.locator("#btn-hold")).to_be_enabled()
        assert call.channel in await channels(centre)
        await end_call(centre, calling, call)


async def _no_leg(centre: Centre, line: str) -> bool:
    return not trunk_legs(await channels(centre), line)


async def _with_caller(centre: Centre, call: Call) -> bool:
    return await room(centre, main_room(call.linkedid)) == {call.channel, call.agent_channel}


async def test_the_supervisor_page_shows_alerts_with_their_clock(
    centre: Centre, desk: DeskPage
) -> None:
    """An `alert` on the supervisors' topic (the shape the CRM's publisher pushes) is listed at
    once with its kind, order, line and the time left to its limit; the same alert again (a
    resumed desktop) is not listed twice."""
    await desk.login_supervisor(await crm_user(centre, "陈班长", Role.SUPERVISOR))
    page = desk.page
    now = time.time()
    alert = {
        "type": "alert", "alert_id": 7001, "kind": "transfer_warning", "order_id": 42,
        "order_number": "LY20261201-0042", "order_type": "fire", "severity": "major",
        "stability_clue": False, "line": "119", "raised_at": now, "due_at": now + 120,
        "duty_leaders": ["赵局长"], "message": "紧急工单 LY20261201-0042 距移交时限还剩 2 分钟",
        "detail": {},
    }  # fmt: skip
    writer = centre.hotline.desk.writer
    await writer.publish(SUPERVISORS, alert)
    row = page.locator('#alerts-body tr[data-alert-id="7001"]')
    await expect(row).to_contain_text("即将超时")
    await expect(row).to_contain_text("LY20261201-0042")
    await expect(row).to_contain_text("119")
    await expect(row.locator("td.due")).to_contain_text("剩余 1 分")
    await writer.publish(SUPERVISORS, alert)
    late = {**alert, "alert_id": 7002, "kind": "transfer_escalation", "due_at": now - 5,
            "message": "紧急工单 LY20261201-0042 已超过 10 分钟移交时限"}  # fmt: skip
    await writer.publish(SUPERVISORS, late)
    await expect(page.locator('#alerts-body tr[data-alert-id^="700"]')).to_have_count(2)
    await expect(page.locator('#alerts-body tr[data-alert-id="7002"] td.due')).to_contain_text(
        "已超时"
    )


async def test_the_emergency_orders_clock_counts_warns_and_goes_late(
    centre: Centre, desk: DeskPage, browser: Browser
) -> None:
    """An emergency order saved during a call (no consult yet) starts the 10-minute clock on
    the desk and the supervisor page, from the order's intake as the CRM set it;
    `warn_before_s` before the limit it warns, past it it says how late. The agent page's time
    is moved on (Playwright's fixed time): the CRM's limit stays where it was."""
    page = await agent_page(centre, desk)
    supervisor = await supervisor_page(centre, desk, browser)
    calling, call = await answered(centre, page, "13900002104")
    clock = page.locator("#emergency-clock")
    await expect(clock).to_be_hidden()
    await page.select_option("#order-type", "fire")
    await page.fill("#order-text", "小区地下车库冒烟")
    await page.click("#order-save")
    await expect(page.locator("#order-number")).not_to_be_empty()
    order = await order_by_number(centre, await page.locator("#order-number").inner_text())
    assert order.status is Status.REGISTERED and order.transfer_due_at is not None
    due = order.transfer_due_at.replace(tzinfo=UTC).timestamp()
    await expect(clock).to_contain_text("紧急转办计时：已用")
    await expect(clock).to_have_attribute("data-state", "running")
    row = supervisor.page.locator(f'#wall-calls-body tr[data-linkedid="{call.linkedid}"]')
    await expect(row.locator("td.clock-cell")).to_contain_text("已用")
    await expect(row.locator("td.clock-cell")).to_contain_text("剩余 9 分")
    warn_s = centre.hotline.settings.emergency.warn_before_s
    await page.clock.set_fixed_time(due - warn_s + 30)
    await expect(clock).to_have_attribute("data-state", "warn")
    await expect(clock).to_contain_text("剩余 1 分 30 秒（即将超时）")
    await page.clock.set_fixed_time(due + 65)
    await expect(clock).to_have_attribute("data-state", "late")
    await expect(clock).to_contain_text("已超时 1 分 5 秒")
    await end_call(centre, calling, call)
    await supervisor.page.context.close()


async def test_a_major_matter_alerts_the_supervisor_page_which_acknowledges_it(
    centre: Centre, desk: DeskPage
) -> None:
    """The CRM's own alerts: one raised before the page opened is listed from the alerts API,
    one raised while it is open arrives on the bus at once; 确认 acknowledges it in the CRM
    as the supervisor who clicked."""
    agent = await crm_user(centre, "王芳", Role.AGENT, EXT)
    major = {"order_type": "fire", "text": "仓库起火，火势较大", "severity": "serious",
             "caller_number": "13911112222"}  # fmt: skip
    earlier = await register_order_over_http(centre, agent, major)
    await desk.login_supervisor(await crm_user(centre, "吴班长", Role.SUPERVISOR))
    page = desk.page
    listed = page.locator("#alerts-body tr.alert", has_text=earlier)
    await expect(listed).to_contain_text("重大事件")
    await expect(listed).to_contain_text("119")
    later = await register_order_over_http(centre, agent, {**major, "text": "厂房起火"})
    pushed = page.locator("#alerts-body tr", has_text=later)
    await expect(pushed).to_contain_text("重大事件")
    await pushed.locator("button.ack").click()
    await expect(pushed.locator("button.ack")).to_have_text("已确认")
    await expect(pushed).to_have_class("final")  # acknowledged: no longer highlighted
    order = await order_by_number(centre, later)
    async with centre.hotline.sessions() as session:
        alert = await session.scalar(select(OrderAlert).where(OrderAlert.order_id == order.id))
        supervisor = await session.scalar(select(User).where(User.name == "吴班长"))
    assert alert is not None and supervisor is not None
    assert alert.acknowledged_by == supervisor.id and alert.acknowledged_at is not None
