"""The agent and supervisor pages in Chromium, against a real hotline with real SIPp calls.

Agent 1002 (李娜) alone serves the complaint queue (IVR choice 2), so those calls ring her.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from typing import Any
from urllib.parse import parse_qs, urlparse

from playwright.async_api import Locator, WebSocketRoute, expect

from agent_gateway.edge.protocol import PresenceState
from crm.domain.enums import OrderType, Role
from hotline_cli.demo.sipp import CallerIdentity, CallerPlan
from telephony.call import CallState
from tests.browser.support import DeskPage, order_by_number
from tests.e2e.harness import Centre, crm_user, register_order_over_http

expect.set_options(timeout=10_000)

COMPLAINT_EXT = "1002"  # the only member of the complaint queue
COMPLAINT = CallerPlan(dtmf="2", dtmf_after_ms=500, hangup_after_ms=5000)


async def test_login_is_refused_with_a_reason(centre: Centre, desk: DeskPage) -> None:
    page = desk.page
    agent = await crm_user(centre, "王芳", Role.AGENT, "1001")
    unbound = await crm_user(centre, "孙丽", Role.AGENT)
    supervisor = await crm_user(centre, "陈班长", Role.SUPERVISOR)
    error = page.locator("#login-error")
    for token, extension, why in (
        ("not-a-token", "1001", "令牌无效或已停用"),
        (agent, "9999", "该分机不是您的席位"),
        (agent, "1002", "该分机不是您的席位"),
        (unbound, "1001", "该坐席账号尚未绑定分机"),
        (supervisor, "1001", "该账号（班长）不能使用本页面"),
    ):
        await desk.open("/agent")
        await page.fill("#login-token", token)
        await page.fill("#login-extension", extension)
        await page.click("#login-submit")
        await expect(error).to_contain_text(f"登录失败：{why}")
        await expect(page.locator("#desk")).to_be_hidden()
    await desk.open("/supervisor")
    await page.fill("#login-token", agent)
    await page.click("#login-submit")
    await expect(error).to_contain_text("请使用坐席工作台")
    desk.forgive("/api/desk/ticket")


async def test_agent_gets_a_screen_pop_from_a_real_call_and_saves_the_order(
    centre: Centre, desk: DeskPage
) -> None:
    number = "13800138001"
    agent_token = await crm_user(centre, "李娜", Role.AGENT, COMPLAINT_EXT)
    earlier = await register_order_over_http(
        centre,
        agent_token,
        {
            "order_type": "complaint",
            "text": "幸福路小区路灯不亮已经一周",
            "caller_name": "张秀英",
            "caller_number": number,
            "location": "幸福路 12 号",
        },
    )
    page = desk.page

    await desk.login_agent(agent_token, COMPLAINT_EXT)
    await expect(page.locator("#who-agent")).to_have_text("坐席 1002 李娜")
    await expect(page.locator("#presence-state")).to_have_text("空闲")  # staffed by the harness

    # Presence commands round-trip through the backend and Asterisk.
    await page.select_option("#pause-reason", "培训")
    await page.click("#btn-pause")
    await expect(page.locator("#presence-state")).to_have_text("示忙")
    await expect(page.locator("#presence-reason")).to_have_text("培训")
    await page.click("#btn-unpause")
    await expect(page.locator("#presence-state")).to_have_text("空闲")
    # No call yet: nothing to hang up.
    await expect(page.locator("#btn-hangup")).to_be_disabled()

    calling = asyncio.create_task(centre.call([CallerIdentity("张秀英", number)], COMPLAINT))
    try:
        pop = page.locator("#pop")
        await expect(pop).to_be_visible()
        await expect(page.locator("#pop-number")).to_have_text(number)
        await expect(page.locator("#pop-masked")).to_be_hidden()
        await expect(page.locator("#pop-name")).to_have_text("张秀英")
        await expect(page.locator("#pop-ivr")).to_have_text("投诉（按键 2）")
        await expect(page.locator("#pop-queue")).to_have_text("complaint")
        await expect(page.locator("#pop-wait")).to_have_text(re.compile(r"^\d+\.\d 秒$"))
        # The earlier order is listed, and highlighted as still open.
        earlier_row = page.locator(f'#history-body tr[data-number="{earlier}"]')
        await expect(earlier_row).to_have_class("open")
        await expect(earlier_row).to_contain_text("幸福路小区路灯不亮已经一周")
        await expect(earlier_row).to_contain_text("投诉")
        await expect(page.locator("#open-count")).to_have_text("未办结 1 件")
        call_id = await page.locator("#pop-call-id").inner_text()

        # The form is the pop's draft order.
        await expect(page.locator("#order-type")).to_have_value("complaint")
        await expect(page.locator("#order-caller-name")).to_have_value("张秀英")
        await expect(page.locator("#order-call")).to_have_text(f"关联通话 {call_id}")
        await expect(page.locator("#call-state")).to_have_text("通话中")  # the phone answered
        # A pause given while talking waits for the call's end (and its wrap-up).
        await page.select_option("#pause-reason", "会议")
        await page.click("#btn-pause")
        await expect(page.locator("#presence-pending")).to_have_text("通话结束后暂停：会议")
        await expect(page.locator("#presence-state")).to_have_text("通话中")

        await page.fill("#order-text", "来电人再次反映幸福路小区路灯不亮，请尽快维修")
        await page.fill("#order-location", "幸福路 12 号小区东门")
        await page.click("#order-save")
        saved = page.locator("#order-number")
        await expect(saved).to_have_text(re.compile(r"\S+"))
        await expect(page.locator("#order-result")).to_contain_text("工单已保存")
        order_number = await saved.inner_text()
        # A correction while still talking: saving again amends the same order.
        await page.fill("#order-location", "幸福路 12 号小区东门岗亭旁")
        await page.click("#order-save")
        await expect(page.locator("#order-result")).to_contain_text("工单已更新")
        await expect(saved).to_have_text(order_number)
        await desk.screenshot("hotline_agent_desk")

        # The caller hangs up: the call's state follows.
        await expect(page.locator("#call-state")).to_have_text(
            "已结束（来电人挂机）", timeout=15_000
        )
    finally:
        result = await calling
    assert result.ok, result.errors

    call = await centre.log.wait_ended(number)
    assert call.state is CallState.ENDED and call.linkedid == call_id
    await expect(page.locator("#presence-state")).to_have_text("示忙")  # after the wrap-up
    await expect(page.locator("#presence-reason")).to_have_text("会议")
    await expect(page.locator("#presence-pending")).to_be_hidden()
    await page.click("#btn-unpause")
    await expect(page.locator("#presence-state")).to_have_text("空闲")
    order = await order_by_number(centre, order_number)
    assert order.order_type is OrderType.COMPLAINT
    assert order.caller_number == number and order.caller_name == "张秀英"
    assert order.text == "来电人再次反映幸福路小区路灯不亮，请尽快维修"
    assert order.location == "幸福路 12 号小区东门岗亭旁"
    assert [c.linkedid for c in order.calls] == [call.linkedid]
    # the save result shows the stored time limit, and whether 调休 may still move it
    assert order.due_date is not None
    due = order.due_date.isoformat()
    note = "预估：按法定节假日规则推算，未含尚未公布的调休安排"
    shown = f"{due}（{note}）" if order.due_provisional else due
    await expect(page.locator("#order-due")).to_have_text(shown)


async def test_hostile_caller_data_is_shown_as_text(centre: Centre, desk: DeskPage) -> None:
    """Markup in the caller's name (over SIP) and in an earlier order (over the CRM) is text.

    The earlier order is confidential, so the pop masks the caller's number.

    The pages' Content-Security-Policy would block an inline handler anyway, so the test also
    checks that no element was made from the data. (SIPp's injection file cannot carry ';'.)
    """
    number = "13800138002"
    hostile_name = "<img src=x onerror=window.__xss=1><b>坏人</b>"
    hostile_text = "<script>window.__xss=2</script><img src=y onerror=window.__xss=3>"
    token = await crm_user(centre, "李娜", Role.AGENT, COMPLAINT_EXT)
    earlier = await register_order_over_http(
        centre,
        token,
        {
            "order_type": "other",
            "text": hostile_text,
            "caller_number": number,
            "confidential": True,
        },
    )
    page = desk.page
    await desk.login_agent(token, COMPLAINT_EXT)
    await expect(page.locator("#presence-state")).to_have_text("空闲", timeout=15_000)

    calling = asyncio.create_task(
        centre.call([CallerIdentity(hostile_name, number)], CallerPlan("2", 500, 2500))
    )
    try:
        # A caller with a confidential earlier order: the number comes masked, and says so.
        await expect(page.locator("#pop-number")).to_have_text("138****8002")
        await expect(page.locator("#pop-masked")).to_be_visible()
        await expect(page.locator("#order-confidential")).to_be_checked()
        await expect(page.locator("#pop-name")).to_have_text(hostile_name)
        await expect(page.locator("#order-caller-name")).to_have_value(hostile_name)
        row = page.locator(f'#history-body tr[data-number="{earlier}"]')
        await expect(row.locator("td.excerpt")).to_have_text(hostile_text)
        await desk.screenshot("hotline_agent_hostile")
    finally:
        result = await calling
    assert result.ok, result.errors
    assert await page.locator("#desk img, #desk script, #desk b").count() == 0
    assert await page.evaluate("typeof window.__xss") == "undefined"


async def test_supervisor_sees_queue_figures_presence_and_live_calls(
    centre: Centre, desk: DeskPage
) -> None:
    number = "13800138003"
    token = await crm_user(centre, "陈班长", Role.SUPERVISOR)
    calling = asyncio.create_task(
        centre.call([CallerIdentity("刘大爷", number)], CallerPlan("2", 500, 4000))
    )
    try:
        # Open the page while the call is up: the snapshot carries it.
        await centre.log.wait_for(
            lambda e: e.call.caller_number == number and e.call.state is CallState.TALKING, 15
        )
        page = desk.page
        await desk.login_supervisor(token)
        await expect(page.locator("#who")).to_have_text("陈班长（班长）")

        agents = page.locator("#wall-agents-body")
        await expect(agents.locator("tr")).to_have_count(3)
        await expect(agents.locator('tr[data-extension="1001"]')).to_contain_text("王芳")
        await expect(agents.locator('tr[data-extension="1901"]')).to_contain_text("赵敏")
        talking = agents.locator('tr[data-extension="1002"]')
        await expect(talking).to_contain_text("李娜")
        await expect(talking).to_contain_text("通话中")

        live = page.locator("#wall-calls-body tr").filter(has_text=number)
        await expect(live).to_contain_text("刘大爷")
        await expect(live).to_contain_text("通话中")
        await expect(live).to_contain_text("1002 李娜")

        # A pause shows at once in the agent's row and in the queue's agent figures.
        await centre.hotline.ami.action(
            "QueuePause", Interface="PJSIP/1001", Paused="true", Reason="培训"
        )
        wang = agents.locator('tr[data-extension="1001"]')
        await expect(wang).to_contain_text("示忙")
        await expect(wang).to_contain_text("培训")
        hotline = page.locator('#wall-queues .wall-queue[data-queue="hotline"]')
        await expect(hotline.locator('[data-field="agents_paused"]')).to_have_text("1")

        # The caller hangs up: the call ends and the complaint queue counts it as answered.
        await expect(live).to_contain_text("已结束（来电人挂机）", timeout=15_000)
        complaint = page.locator('#wall-queues .wall-queue[data-queue="complaint"]')
        await expect(complaint.locator('[data-field="answered_today"]')).not_to_have_text("0")
        await expect(complaint.locator('[data-field="waiting"]')).to_have_text("0")
        await expect(complaint.locator('[data-field="service_level_today"]')).to_have_text(
            re.compile(r"^\d+\.\d%$")
        )
        await desk.screenshot("hotline_supervisor")
    finally:
        await centre.hotline.ami.action("QueuePause", Interface="PJSIP/1001", Paused="false")
        result = await calling
    assert result.ok, result.errors


async def test_agent_page_resumes_after_a_disconnect_without_losing_messages(
    centre: Centre, desk: DeskPage
) -> None:
    """The gateway connection drops; what happened meanwhile arrives on the resumed one.

    Playwright sits between page and gateway: it records each connection's URL and the seqs
    the page was sent, cuts the first connection, and lets the second one through only once
    the agent's presence changed in the backend (so that change can only come as a resume).
    """
    ext = "1001"
    token = await crm_user(centre, "王芳", Role.AGENT, ext)
    urls: list[str] = []
    seqs: list[list[int]] = []
    kinds: list[list[str]] = []
    routes: list[WebSocketRoute] = []
    paused = asyncio.Event()
    cut: set[int] = set()  # connections whose page side was closed

    async def through(ws: WebSocketRoute) -> None:
        urls.append(ws.url)
        if len(urls) > 1:
            await paused.wait()
        server = ws.connect_to_server()
        mine_seqs: list[int] = []
        mine_kinds: list[str] = []
        seqs.append(mine_seqs)
        kinds.append(mine_kinds)
        routes.append(ws)

        number = len(routes) - 1

        def forward(message: str | bytes) -> None:
            if number in cut:
                return  # the page no longer listens: nothing reaches it
            body = json.loads(message)
            mine_kinds.append(body["type"])
            if isinstance(body.get("seq"), int):
                mine_seqs.append(body["seq"])
            ws.send(message)

        server.on_message(forward)

    page = desk.page
    await page.route_web_socket(re.compile(r"^ws://"), through)
    await desk.login_agent(token, ext)
    await expect(page.locator("#presence-state")).to_have_text("空闲")
    assert kinds[0][:2] == ["hello", "snapshot"]

    cut.add(0)
    await routes[0].close(code=1001, reason="gateway restarting")
    await expect(page.locator("#conn")).not_to_have_attribute("data-status", "connected")
    try:
        start = await centre.hotline.bus.last_seq()
        await centre.hotline.ami.action(
            "QueuePause", Interface=f"PJSIP/{ext}", Paused="true", Reason="会议"
        )
        await published(centre, start, f"agent.{ext}", {"type": "presence", "reason": "会议"})
        paused.set()

        await expect(page.locator("#conn")).to_have_attribute("data-status", "connected")
        await expect(page.locator("#presence-state")).to_have_text("示忙")
        await expect(page.locator("#presence-reason")).to_have_text("会议")
    finally:
        paused.set()
        await centre.hotline.ami.action("QueuePause", Interface=f"PJSIP/{ext}", Paused="false")
    await expect(page.locator("#presence-state")).to_have_text("空闲")

    first, second = (parse_qs(urlparse(url).query) for url in urls[:2])
    assert "last_seq" not in first and first["ticket"]
    assert second["last_seq"] == [str(max(seqs[0]))]  # the highest seq it had processed
    assert second["ticket"] != first["ticket"]  # a ticket admits one handshake
    assert "snapshot" not in kinds[1]  # a resume, not a fresh start
    assert kinds[1][0] == "hello" and "presence" in kinds[1]
    assert min(seqs[1]) > max(seqs[0])  # nothing repeated


async def published(centre: Centre, after: int, topic: str, fields: dict[str, Any]) -> None:
    """Wait (10 s at most) until the backend publishes a message with `fields` on `topic`."""
    async with (
        asyncio.timeout(10),
        contextlib.aclosing(centre.hotline.bus.follow(after)) as messages,
    ):
        async for message in messages:
            if message.topic == topic and fields.items() <= message.body.items():
                return


async def quiet(centre: Centre, timeout: float = 30) -> None:
    """Wait until no call is live and every agent is available (earlier tests' calls over)."""
    deadline = time.monotonic() + timeout
    while any(c.active for c in centre.hotline.tracker.calls.values()) or any(
        p.state is not PresenceState.AVAILABLE for p in centre.hotline.desk.presences.values()
    ):
        assert time.monotonic() < deadline, "calls or agents still busy"
        await asyncio.sleep(0.1)


async def idle_members_in_asterisk(centre: Centre) -> dict[str, int]:
    """Asterisk's own count of unpaused members per queue (its QueueStatus list)."""
    status = await centre.hotline.ami.action_list("QueueStatus")
    counts: dict[str, int] = {}
    for item in status:
        if item.get("Event") == "QueueParams":
            counts.setdefault(item["Queue"], 0)
        elif item.get("Event") == "QueueMember" and item.get("Paused") != "1":
            counts[item["Queue"]] = counts.get(item["Queue"], 0) + 1
    return counts


async def test_supervisor_shows_the_snapshot_queue_figures_at_once(
    centre: Centre, desk: DeskPage
) -> None:
    """Nothing changes after the page loads: the figures it shows come from the snapshot."""
    await quiet(centre)
    members = await idle_members_in_asterisk(centre)
    assert set(members) == {"hotline", "complaint"}, members
    token = await crm_user(centre, "陈班长", Role.SUPERVISOR)
    page = desk.page
    await desk.login_supervisor(token)
    await expect(page.locator("#wall-panel")).to_be_visible()
    for queue, idle in members.items():
        row = page.locator(f'#wall-queues .wall-queue[data-queue="{queue}"]')
        await expect(row.locator('[data-field="agents_available"]')).to_have_text(str(idle))
        await expect(row.locator('[data-field="waiting"]')).to_have_text("0")
        await expect(row.locator('[data-field="agents_talking"]')).to_have_text("0")


async def test_supervisor_lists_every_configured_queue(centre: Centre, desk: DeskPage) -> None:
    """A change in one queue does not hide the others: each configured queue has its row."""
    await quiet(centre)
    token = await crm_user(centre, "陈班长", Role.SUPERVISOR)
    page = desk.page
    await desk.login_supervisor(token)
    try:
        # 王芳 serves the hotline queue only: the complaint queue sees no change.
        await centre.hotline.ami.action(
            "QueuePause", Interface="PJSIP/1001", Paused="true", Reason="小休"
        )
        hotline = page.locator('#wall-queues .wall-queue[data-queue="hotline"]')
        await expect(hotline.locator('[data-field="agents_paused"]')).to_have_text("1")
        configured = [q.name for q in centre.hotline.settings.queues]  # the wall's order
        rows = page.locator("#wall-queues .wall-queue")
        await expect(rows).to_have_count(len(configured))
        assert await rows.evaluate_all("rows => rows.map(r => r.dataset.queue)") == configured
        complaint = page.locator('#wall-queues .wall-queue[data-queue="complaint"]')
        await expect(complaint.locator('[data-field="agents_paused"]')).to_have_text("0")
    finally:
        await centre.hotline.ami.action("QueuePause", Interface="PJSIP/1001", Paused="false")


async def test_supervisor_shows_number_caller_and_queue_of_a_call_after_loading(
    centre: Centre, desk: DeskPage
) -> None:
    """A call that starts once the page is open: its number (masked, the caller asked for
    confidentiality before), caller name and queue come from the call updates alone."""
    number = "13800138004"
    agent = await crm_user(centre, "李娜", Role.AGENT)
    await register_order_over_http(
        centre,
        agent,
        {
            "order_type": "complaint",
            "text": "楼下噪音扰民",
            "caller_number": number,
            "confidential": True,
        },
    )
    await quiet(centre)
    token = await crm_user(centre, "陈班长", Role.SUPERVISOR)
    page = desk.page
    await desk.login_supervisor(token)
    await expect(page.locator("#wall-agents-body tr")).to_have_count(3)  # the snapshot is in
    await expect(page.locator("#wall-calls-empty")).to_be_visible()

    calling = asyncio.create_task(
        centre.call([CallerIdentity("孙阿姨", number)], CallerPlan("2", 500, 4000))
    )
    try:
        live = page.locator("#wall-calls-body tr").filter(has_text="孙阿姨")
        await expect(live).to_contain_text("通话中", timeout=15_000)

        def cell(field: str) -> Locator:
            return live.locator(f'td[data-field="{field}"]')

        await expect(cell("caller_number")).to_have_text("138****8004（保密）")
        await expect(cell("caller_name")).to_have_text("孙阿姨")
        await expect(cell("queue")).to_have_text("complaint（投诉）")
        await expect(cell("control")).to_have_text("—")  # no hold, mute or consult
        await expect(cell("clock")).to_have_text("—")  # no emergency clock
        await expect(cell("agent_cell")).to_have_text("1002 李娜")
        await expect(live).to_contain_text("已结束（来电人挂机）", timeout=15_000)
        await expect(cell("caller_number")).to_have_text("138****8004（保密）")  # kept at the end
        await expect(cell("queue")).to_have_text("complaint（投诉）")
    finally:
        result = await calling
    assert result.ok, result.errors
    call = await centre.log.wait_ended(number)
    assert call.queue == "complaint" and call.caller_name == "孙阿姨"


async def test_agent_page_header_names_the_agent(centre: Centre, desk: DeskPage) -> None:
    """The CRM user's login name differs from the agent's configured name: both are shown,
    the agent (extension and name) first."""
    token = await crm_user(centre, "前台七号", Role.AGENT, COMPLAINT_EXT)
    page = desk.page
    await desk.login_agent(token, COMPLAINT_EXT)
    await expect(page.locator("#who")).to_contain_text("坐席 1002 李娜")
    await expect(page.locator("#who-agent")).to_have_text("坐席 1002 李娜")
    await expect(page.locator("#who-user")).to_have_text("登录账号：前台七号")


async def test_agent_call_controls_follow_the_call(centre: Centre, desk: DeskPage) -> None:
    """Hang-up, transfer, hold, mute and the consults only while talking (and resume,
    complete, three-way, cancel, leave not before a hold or an answered consult); saving the
    order once the call is answered here (and still after it ended, to finish the order)."""
    await quiet(centre)
    token = await crm_user(centre, "李娜", Role.AGENT, COMPLAINT_EXT)
    page = desk.page
    await desk.login_agent(token, COMPLAINT_EXT)
    await expect(page.locator("#presence-state")).to_have_text("空闲")
    controls = ["#btn-hangup", "#btn-transfer", ".quick-consult >> nth=0",
                ".quick-consult >> nth=1", ".quick-consult >> nth=2", "#btn-hold", "#btn-mute",
                "#btn-consult"]  # fmt: skip
    not_yet = ["#btn-resume", "#btn-unmute", "#btn-consult-complete", "#btn-three-way",
               "#btn-consult-cancel", "#btn-leave"]  # fmt: skip
    for control in [*controls, *not_yet, "#order-save"]:
        await expect(page.locator(control)).to_be_disabled()

    number = "13800138005"
    plan = CallerPlan(dtmf="2", dtmf_after_ms=500, hangup_after_ms=8000)
    calling = asyncio.create_task(centre.call([CallerIdentity("周先生", number)], plan))
    try:
        await expect(page.locator("#call-state")).to_have_text("通话中", timeout=15_000)
        for control in [*controls, "#order-save"]:
            await expect(page.locator(control)).to_be_enabled()
        for control in not_yet:
            await expect(page.locator(control)).to_be_disabled()
        await expect(page.locator("#call-state")).to_have_text(
            "已结束（来电人挂机）", timeout=15_000
        )
        for control in [*controls, *not_yet]:
            await expect(page.locator(control)).to_be_disabled()
        await expect(page.locator("#order-save")).to_be_enabled()
    finally:
        result = await calling
    assert result.ok, result.errors
