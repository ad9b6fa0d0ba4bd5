"""The telephony admin page (/admin) on a real centre: an admin adds an agent and changes an
overflow threshold, and the API's current version has them; a bad change is shown next to
its fields and stores nothing; a save on a stale base is told someone else changed it; a
revert asks first; a supervisor gets no page and no link to it; the outbound trunk added (a
backup equal to its primary refused next to the field), qualified and shown as 外呼, then
given a backup Asterisk has at once. The trunk legs' health on the
admin page and the supervisors' wall: a 110 leg moved (saved, applied live) onto a far end
that answers is 正常 on both; that far end gone silent, it is 中断 and the supervisor's
desk gets the alert."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, expect

from crm.domain.enums import Role
from crm.usecases.telephony_config import current
from hotline_cli.demo.ports import free_udp_port
from hotline_cli.demo.sipp import AgentPhone
from tests.browser.support import DeskPage, open_desk
from tests.e2e.harness import Centre, crm_user
from tests.support.trunk_peers import DeafPort

expect.set_options(timeout=10_000)

ROOT = "/api/admin/telephony"
TRUNK_PASSWORD = "police-trunk-digest-0123"


@dataclass
class Admin:
    token: str
    base: str

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with (
            aiohttp.ClientSession() as client,
            client.request(method, f"{self.base}{path}", json=body, headers=headers) as response,
        ):
            return response.status, await response.json()

    async def current(self) -> dict[str, Any]:
        status, body = await self.call("GET", ROOT)
        assert status == 200, body
        return dict(body)


@pytest.fixture(scope="module")
async def admin(centre: Centre) -> AsyncIterator[Admin]:
    """An admin user; the configuration given an overflow rule for the hotline queue and
    credentials on the 110 trunk (over the API, as another admin tool would)."""
    http = centre.hotline.settings.http
    admin = Admin(await crm_user(centre, "周管理", Role.ADMIN), f"http://{http.host}:{http.port}")
    seed = await admin.current()
    document = seed["document"]
    document["overflow"] = [{"queue": "hotline", "skill": "overflow", "start_wait_s": 30,
                             "start_waiting": 3, "stop_wait_s": 10, "stop_waiting": 0}]  # fmt: skip
    document["trunks"]["police"] |= {"username": "hotline110", "password": TRUNK_PASSWORD}
    status, body = await admin.call("PUT", ROOT, {"base_version": seed["version"],
                                                  "document": document})  # fmt: skip
    assert status == 200 and body["changed"], body
    yield admin


async def login(desk: DeskPage, token: str) -> None:
    await desk.open("/admin")
    await desk.page.fill("#login-token", token)
    await desk.page.click("#login-submit")


def at(desk: DeskPage, path: str) -> Any:
    return desk.page.locator(f'[data-path="{path}"]')


def error_at(desk: DeskPage, path: str) -> Any:
    return desk.page.locator(f'[data-error-for="{path}"]')


async def test_admin_adds_an_agent_and_changes_an_overflow_threshold(
    centre: Centre, desk: DeskPage, admin: Admin
) -> None:
    before = await admin.current()
    version = before["version"]
    page = desk.page
    await login(desk, admin.token)
    await expect(page.locator("#current-version")).to_have_text(f"第 {version} 版")
    await expect(at(desk, "trunks.police.password")).to_have_value("******")
    new = len(before["document"]["agents"])
    await page.get_by_role("button", name="添加坐席").click()
    await at(desk, f"agents.{new}.extension").fill("1003")
    await at(desk, f"agents.{new}.name").fill("孙丽")
    await at(desk, f"agents.{new}.skills").fill("general, complaint")
    await at(desk, f"agents.{new}.penalties").fill("complaint=2")
    await at(desk, f"agents.{new}.contact").fill("sip:1003@127.0.0.1:5999")
    await at(desk, "overflow.0.start_wait_s").fill("45")
    await page.click("#save")
    await expect(page.locator("#save-message")).to_contain_text(f"已保存为第 {version + 1} 版")

    stored = await admin.current()  # what the API holds now, read over HTTP
    assert stored["version"] == version + 1
    added = [a for a in stored["document"]["agents"] if a["extension"] == "1003"]
    assert added and added[0]["name"] == "孙丽", stored["document"]["agents"]
    assert added[0]["skills"] == ["general", "complaint"] and added[0]["penalties"] == {
        "complaint": 2
    }
    assert stored["document"]["overflow"][0]["start_wait_s"] == 45
    assert stored["document"]["overflow"][0]["stop_wait_s"] == 10
    async with centre.hotline.sessions() as session:  # the untouched secret kept, not "******"
        row = await current(session)
    assert row.document["trunks"]["police"]["password"] == TRUNK_PASSWORD

    row_of = page.locator(f'#versions-body tr[data-version="{version + 1}"]')
    await expect(row_of.locator('[data-field="author"]')).to_have_text("周管理")
    await expect(row_of.locator('[data-field="summary"]')).to_contain_text("agents[1003] 新增")
    await expect(row_of.locator('[data-field="summary"]')).to_contain_text("start_wait_s")
    await expect(row_of.locator('[data-field="actions"]')).to_have_text("当前版本")
    await desk.screenshot("hotline_admin_page")


async def test_a_bad_change_is_shown_next_to_its_fields_and_nothing_is_stored(
    desk: DeskPage, admin: Admin
) -> None:
    before = await admin.current()
    page = desk.page
    await login(desk, admin.token)
    await expect(page.locator("#current-version")).to_have_text(f"第 {before['version']} 版")
    await at(desk, "queues.0.skill").fill("nosuchskill")
    start = before["document"]["overflow"][0]["start_wait_s"]
    await at(desk, "overflow.0.stop_wait_s").fill(str(start + 5))  # inverted hysteresis
    await page.click("#save")
    await expect(page.locator("#save-message")).to_contain_text("配置有 2 处错误，未保存")
    await expect(error_at(desk, "queues.0.skill")).to_contain_text('未知技能 "nosuchskill"')
    await expect(at(desk, "queues.0.skill")).to_have_attribute("aria-invalid", "true")
    await expect(error_at(desk, "overflow.0.stop_wait_s")).to_contain_text("必须小于启动阈值")
    await expect(error_at(desk, "queues.1.skill")).to_have_text("")
    after = await admin.current()
    assert after["version"] == before["version"] and after["document"] == before["document"]
    desk.forgive(ROOT)  # the 422 was the point


async def test_a_save_on_a_stale_version_is_told_someone_else_changed_it(
    browser: Browser, centre: Centre, desk: DeskPage, admin: Admin
) -> None:
    version = (await admin.current())["version"]
    async with open_desk(browser, centre) as other:
        await login(other, admin.token)
        await login(desk, admin.token)
        for each in (other, desk):
            await expect(each.page.locator("#current-version")).to_have_text(f"第 {version} 版")
        await at(other, "queues.1.wrapup_s").fill("7")
        await other.page.click("#save")
        await expect(other.page.locator("#save-message")).to_contain_text(f"第 {version + 1} 版")

    await at(desk, "queues.0.ring_timeout_s").fill("12")
    await desk.page.click("#save")
    conflict = desk.page.locator("#conflict")
    await expect(conflict).to_be_visible()
    await expect(conflict).to_contain_text(f"配置已被他人修改：当前为第 {version + 1} 版")
    stored = await admin.current()
    assert stored["version"] == version + 1
    assert stored["document"]["queues"][0]["ring_timeout_s"] != 12
    await desk.page.click("#conflict-reload")
    await expect(desk.page.locator("#current-version")).to_have_text(f"第 {version + 1} 版")
    await expect(at(desk, "queues.1.wrapup_s")).to_have_value("7")
    await expect(conflict).to_be_hidden()
    desk.forgive(ROOT)  # the 409 was the point


async def test_a_revert_asks_first_and_stores_the_old_document_again(
    desk: DeskPage, admin: Admin
) -> None:
    before = await admin.current()
    version = before["version"]
    older = (await admin.call("GET", f"{ROOT}/versions/{version - 1}"))[1]
    page = desk.page
    await login(desk, admin.token)
    row = page.locator(f'#versions-body tr[data-version="{version - 1}"]')
    await row.get_by_role("button", name="回滚").click()
    await expect(row).to_contain_text(f"回滚到第 {version - 1} 版？")
    assert (await admin.current())["version"] == version  # nothing before the confirmation
    await row.get_by_role("button", name="确认回滚").click()
    await expect(page.locator("#save-message")).to_contain_text(f"保存为第 {version + 1} 版")
    stored = await admin.current()
    assert stored["version"] == version + 1 and stored["reverted_from"] == version - 1
    assert stored["document"] == older["document"]
    await expect(page.locator("#current-version")).to_have_text(f"第 {version + 1} 版")


async def test_only_admins_get_the_page_and_its_link(
    browser: Browser, centre: Centre, desk: DeskPage, admin: Admin
) -> None:
    supervisor = await crm_user(centre, "吴班长", Role.SUPERVISOR)
    await login(desk, supervisor)
    await expect(desk.page.locator("#forbidden")).to_be_visible()
    await expect(desk.page.locator("#forbidden")).to_contain_text("无权限")
    await expect(desk.page.locator("#desk")).to_be_hidden()
    await expect(desk.page.locator("[data-path]")).to_have_count(0)
    desk.forgive(ROOT)  # the API's 403 is what the page shows
    await desk.login_supervisor(supervisor)
    await expect(desk.page.locator("#who")).to_contain_text("吴班长")
    await expect(desk.page.locator("#admin-link")).to_be_hidden()
    async with open_desk(browser, centre) as other:
        await other.login_supervisor(admin.token)
        await expect(other.page.locator("#who")).to_contain_text("周管理")
        await other.page.click("#admin-link")
        await expect(other.page.locator("h1")).to_have_text("12345 热线 · 电话系统配置")


TRUNK_DOWN_110_PRIMARY = (
    "n => [...document.querySelectorAll('#alerts-body tr[data-kind=\"trunk_down\"]')]"
    ".filter((row) => row.textContent.includes('110 主用')).length > n"
)


async def test_a_trunk_leg_going_down_is_shown_and_alerts_the_supervisor(
    browser: Browser, centre: Centre, desk: DeskPage, admin: Admin, tmp_path: Path
) -> None:
    answering = free_udp_port()
    supervisor = await crm_user(centre, "郑班长", Role.SUPERVISOR)
    leg = 'tr[data-line="110"] td[data-leg="primary"]'
    async with open_desk(browser, centre) as wall:
        await wall.login_supervisor(supervisor)
        await login(desk, admin.token)
        on_admin, on_wall = desk.page.locator(f"#trunks-body {leg}"), wall.page.locator(
            f"#wall-trunks-body {leg}")  # fmt: skip
        async with AgentPhone(tmp_path, "127.0.0.1", answering, 300):
            seed = await admin.current()
            document = seed["document"]
            moved = {"primary": f"127.0.0.1:{answering}", "qualify_s": 1}
            document["trunks"]["police"] |= moved | {"password": TRUNK_PASSWORD}  # moved: retyped
            status, body = await admin.call("PUT", ROOT, {"base_version": seed["version"],
                                                          "document": document})  # fmt: skip
            assert status == 200 and body["changed"], body
            for shown in (on_admin, on_wall):  # applied live: the moved leg followed
                await expect(shown).to_have_attribute("data-state", "reachable", timeout=20_000)
                await expect(shown).to_contain_text("正常（自 ")
            alerts = wall.page.locator('#alerts-body tr[data-kind="trunk_down"]')
            before = await alerts.filter(has_text="110 主用").count()  # when it was unanswered
        silent = time.monotonic()
        deaf = DeafPort()
        transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: deaf, local_addr=("127.0.0.1", answering)
        )
        try:
            await wall.page.wait_for_function(TRUNK_DOWN_110_PRIMARY, arg=before, polling=20,
                                              timeout=20_000)  # fmt: skip
            alerted_ms = (time.monotonic() - silent) * 1000
            row = alerts.filter(has_text="110 主用").first
            await expect(row).to_contain_text("中继中断")
            await expect(row).to_contain_text("紧急转接将跳过该线路")
            for shown in (on_wall, on_admin):
                await expect(shown).to_have_attribute("data-state", "unreachable")
                await expect(shown).to_contain_text("中断（自 ")
            assert deaf.count("OPTIONS") >= 1  # qualify went on asking the silent far end
            await wall.screenshot("hotline_wall_trunk_down")
            await desk.screenshot("hotline_admin_trunk_down")
        finally:
            transport.close()
    print(f"trunk alert: far end silent → the supervisor's desk shows the alert in "
          f"{alerted_ms:.0f} ms (qualify every 1 s)")  # fmt: skip


async def test_admin_adds_the_outbound_trunk_then_gives_it_a_backup(
    centre: Centre, desk: DeskPage, admin: Admin, tmp_path: Path
) -> None:
    """None configured at first; added on the page (a backup equal to its primary refused next
    to the field), applied live: its primary qualified and shown as 外呼 正常; then given a
    backup, which Asterisk's AOR has once saved."""
    answering, backup = free_udp_port(), free_udp_port()
    page, ami = desk.page, centre.hotline.ami
    assert (await admin.current())["document"]["outbound"] is None
    await login(desk, admin.token)
    await page.get_by_role("button", name="配置外呼中继").click()
    await at(desk, "outbound.primary").fill(f"127.0.0.1:{answering}")
    await at(desk, "outbound.backup").fill(f"127.0.0.1:{answering}")
    await at(desk, "outbound.qualify_s").fill("1")
    await at(desk, "outbound.caller_id").fill("96123")
    await page.click("#save")
    await expect(error_at(desk, "outbound.backup")).to_contain_text("备用线路不能与主用线路相同")
    desk.forgive(ROOT)  # that 422 was the point
    await at(desk, "outbound.backup").fill("")
    row = page.locator('#trunks-body tr[data-line="outbound"]')
    async with AgentPhone(tmp_path, "127.0.0.1", answering, 300):
        version = (await admin.current())["version"]
        await page.click("#save")
        await expect(page.locator("#save-message")).to_contain_text(f"已保存为第 {version + 1} 版")
        await expect(row.locator("td").first).to_have_text("外呼")
        await expect(row.locator('td[data-leg="primary"]')).to_have_attribute(
            "data-state", "reachable", timeout=20_000)  # fmt: skip
    stored = (await admin.current())["document"]["outbound"]
    assert (stored["primary"], stored["backup"], stored["caller_id"]) == (
        f"127.0.0.1:{answering}", None, "96123")  # fmt: skip
    await at(desk, "outbound.backup").fill(f"127.0.0.1:{backup}")
    await page.click("#save")
    await expect(page.locator("#save-message")).to_contain_text(f"已保存为第 {version + 2} 版")
    assert (await admin.current())["document"]["outbound"]["backup"] == f"127.0.0.1:{backup}"
    contact = await ami.action("Getvar", Variable="PJSIP_AOR(trunk-outbound-backup,contact)")
    uri = await ami.action("Getvar", Variable=f"PJSIP_CONTACT({contact['Value']},uri)")
    assert uri["Value"] == f"sip:127.0.0.1:{backup}", uri  # in Asterisk: applied live
    await expect(row.locator('td[data-leg="backup"]')).to_contain_text(re.compile("未知|中断"))
