"""Helpers of the browser tests: CRM users and orders, and a page on the hotline's HTTP server."""

from __future__ import annotations

from dataclasses import dataclass

from playwright.async_api import Page
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from crm.db.models import WorkOrder
from tests.e2e.harness import Centre

SCREENSHOTS = "/tmp"
# An ended call stays on the supervisor's wall, greyed, this long (live_calls.js): a test that
# installed the page's clock skips it with `page.clock.fast_forward`.
FINAL_CALL_KEPT_MS = 10_000


@dataclass
class DeskPage:
    page: Page
    base_url: str
    problems: list[str]

    async def open(self, path: str) -> None:
        await self.page.goto(f"{self.base_url}{path}")

    async def login_agent(self, token: str, extension: str) -> None:
        await self.open("/agent")
        await self.page.fill("#login-token", token)
        await self.page.fill("#login-extension", extension)
        await self.page.click("#login-submit")
        await self.page.locator('#conn[data-status="connected"]').wait_for()

    async def login_supervisor(self, token: str) -> None:
        await self.open("/supervisor")
        await self.page.fill("#login-token", token)
        await self.page.click("#login-submit")
        await self.page.locator('#conn[data-status="connected"]').wait_for()

    def forgive(self, url_part: str) -> None:
        """Failed requests to `url_part` were expected: they are not problems of the page."""
        self.problems[:] = [p for p in self.problems if url_part not in p]

    async def screenshot(self, name: str) -> str:
        path = f"{SCREENSHOTS}/{name}.png"
        await self.page.screenshot(path=path, full_page=True)
        return path


async def order_by_number(centre: Centre, number: str) -> WorkOrder:
    async with centre.hotline.sessions() as session:
        order = await session.scalar(
            select(WorkOrder)
            .where(WorkOrder.number == number)
            .options(selectinload(WorkOrder.calls))
        )
    assert order is not None, f"no order {number} in the CRM"
    return order
