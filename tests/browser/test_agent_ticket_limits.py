"""An agent's ticket cannot reach the supervisors' commands, in Chromium against a real hotline:
the agent page shows none of their controls, the supervisor page refuses the agent's token, and
supervisor commands written onto the agent page's own websocket (as a hostile script in the
page would) are refused `forbidden` by the gateway, with nothing changed in Asterisk and
nothing on the floor's trail."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from playwright.async_api import WebSocketRoute, expect
from sqlalchemy import func, select

from crm.db.floor_models import FloorAction
from crm.domain.enums import Role
from tests.browser.support import DeskPage
from tests.e2e.harness import Centre, crm_user

expect.set_options(timeout=10_000)

SUPERVISOR_COMMANDS: list[dict[str, Any]] = [
    {"name": "force_pause",
     "args": {"extension": "1002", "reason": "测试", "pause_reason": "培训"}},
    {"name": "force_logout", "args": {"extension": "1002", "reason": "测试"}},
    {"name": "move_queue", "args": {"extension": "1002", "reason": "测试",
                                    "from_queue": "hotline", "to_queue": "complaint"}},
    {"name": "spy_start", "args": {"linkedid": "1764590000.1", "mode": "listen"}},
]  # fmt: skip


async def standing(centre: Centre, extension: str) -> list[tuple[str, str, str]]:
    """Asterisk's own word: each queue the agent is in, paused or not, its penalty."""
    items = await centre.hotline.ami.action_list("QueueStatus")
    return sorted(
        (item["Queue"], item["Paused"], item["Penalty"])
        for item in items
        if item.get("Event") == "QueueMember" and item.get("Location") == f"PJSIP/{extension}"
    )


async def floor_actions(centre: Centre) -> int:
    async with centre.hotline.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(FloorAction)) or 0)


async def test_an_agents_ticket_cannot_send_supervisor_commands(
    centre: Centre, desk: DeskPage
) -> None:
    token = await crm_user(centre, "李娜", Role.AGENT, "1002")
    replies: dict[str, dict[str, Any]] = {}
    to_gateway: list[WebSocketRoute] = []

    async def through(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def forward(message: str | bytes) -> None:
            body = json.loads(message)
            if body.get("type") == "command_result" and str(body.get("id")).startswith("evil-"):
                replies[body["id"]] = body
            ws.send(message)

        server.on_message(forward)
        to_gateway.append(server)

    page = desk.page
    await page.route_web_socket(re.compile(r"^ws://"), through)
    await desk.login_agent(token, "1002")
    await expect(page.locator("#presence-state")).to_have_text("空闲")
    await expect(page.locator("button[data-floor-action], button[data-spy]")).to_have_count(0)
    before = (await standing(centre, "1002"), await floor_actions(centre))

    for i, command in enumerate(SUPERVISOR_COMMANDS):  # on the page's own, ticketed socket
        to_gateway[-1].send(json.dumps({"type": "command", "id": f"evil-{i}", **command}))
    deadline = asyncio.get_running_loop().time() + 10
    while len(replies) < len(SUPERVISOR_COMMANDS):
        assert asyncio.get_running_loop().time() < deadline, replies
        await asyncio.sleep(0.05)
    for reply in replies.values():
        assert reply["ok"] is False and reply["error"]["code"] == "forbidden", reply
    assert (await standing(centre, "1002"), await floor_actions(centre)) == before
    await expect(page.locator("#presence-state")).to_have_text("空闲")
