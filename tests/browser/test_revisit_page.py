"""The agent page calls a citizen back (回访) from an order: 发起回访 rings the agent's phone and
then the citizen (a SIPp phone on the outbound trunk), 记录回访结果 closes the order satisfied;
the confidential number never appears on the page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import expect

from crm.db.models import WorkOrder
from crm.domain.enums import Role, Satisfaction, Status
from hotline_cli.demo.ports import free_udp_port
from hotline_cli.demo.sipp import AgentPhone
from tests.browser.support import DeskPage
from tests.e2e.harness import Centre, crm_user, running_centre
from tests.e2e.test_revisit import replied_order
from tests.support.polling import eventually

expect.set_options(timeout=10_000)

CITIZEN = free_udp_port()


@pytest.fixture(scope="module")
async def centre(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Centre]:
    outbound = {"primary": f"127.0.0.1:{CITIZEN}", "backup": f"127.0.0.1:{free_udp_port()}",
                "dial_timeout_s": 5, "qualify_s": 0}  # fmt: skip
    state = tmp_path_factory.mktemp("revisit-page")
    async with running_centre(state, outbound=outbound) as centre:
        yield centre


async def test_the_page_calls_back_and_records_the_result(
    centre: Centre, desk: DeskPage, tmp_path: Path
) -> None:
    number, page = "13955554444", desk.page
    order_id = await replied_order(centre, number, confidential=True)
    await desk.login_agent(await crm_user(centre, "赵回访", Role.AGENT, "1001"), "1001")
    await expect(page.locator("#btn-revisit-result")).to_be_disabled()
    async with AgentPhone(tmp_path, "127.0.0.1", CITIZEN, ring_ms=200):
        await page.locator("#revisit-order").fill(str(order_id))
        await page.locator("#btn-revisit-call").click()
        await expect(page.locator("#revisit-state")).to_have_text(f"回访中（工单 {order_id}）")

        async def talking() -> bool:
            channels = await centre.hotline.ami.action_list("CoreShowChannels")
            return any(c["Channel"].startswith("PJSIP/trunk-outbound-primary")
                       and c.get("ChannelStateDesc") == "Up" for c in channels)  # fmt: skip

        await eventually(talking, 15, "the agent talking with the citizen", poll_s=0.2)
        await page.locator("#revisit-result").select_option("reached")
        await page.locator("#revisit-satisfaction").select_option("satisfied")
        await page.locator("#btn-revisit-result").click()
        await expect(page.locator("#revisit-state")).to_have_text("—")
    async with centre.hotline.sessions() as session:
        order = await session.get(WorkOrder, order_id)
        assert order is not None and order.status is Status.CLOSED
        assert order.satisfaction is Satisfaction.SATISFIED
    assert number not in await page.content()


async def test_the_due_list_shows_the_replied_orders_and_a_click_fills_the_form(
    centre: Centre, desk: DeskPage
) -> None:
    """回访待办: the replied orders, the oldest first, the confidential number masked; a click
    puts the order into the 回访 form, and a result stored counts as an attempt in the list."""
    page = desk.page
    older = await replied_order(centre, "13811112222", confidential=True)
    newer = await replied_order(centre, "13933334444", confidential=False)
    await desk.login_agent(await crm_user(centre, "钱待办", Role.AGENT, "1001"), "1001")
    rows = page.locator("#revisit-due-body tr")
    mine = rows.filter(has_text="咨询：回访测试")
    await expect(mine).to_have_count(2)
    ids = [await r.get_attribute("data-order-id") for r in await mine.all()]
    assert ids == [str(older), str(newer)]
    first = page.locator(f'#revisit-due-body tr[data-order-id="{older}"]')
    await expect(first).to_contain_text("138****2222")
    await expect(first).to_contain_text("0 次")
    await expect(page.locator(f'#revisit-due-body tr[data-order-id="{newer}"]')).to_contain_text(
        "13933334444"
    )
    await first.click()
    await expect(page.locator("#revisit-order")).to_have_value(str(older))
    await page.locator("#btn-revisit-call").click()
    await expect(page.locator("#revisit-state")).to_have_text(f"回访中（工单 {older}）")
    await page.locator("#revisit-result").select_option("no_answer")
    await page.locator("#btn-revisit-result").click()
    await expect(page.locator("#revisit-state")).to_have_text("—")
    await expect(first).to_contain_text("1 次")  # the list read again once the result was stored
    assert "13811112222" not in await page.content()
