"""Helpers of the browser tests: CRM users and orders, and a page on the hotline's HTTP server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from playwright.async_api import Browser, ConsoleMessage, Page
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


@asynccontextmanager
async def open_desk(browser: Browser, centre: Centre) -> AsyncIterator[DeskPage]:
    """A fresh browser context (no stored login) on the hotline's HTTP server.

    Script errors and console errors fail the test: a page that half-works is a bug."""
    context = await browser.new_context(viewport={"width": 1360, "height": 1000}, locale="zh-CN")
    context.set_default_timeout(10_000)
    page: Page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console error: {message.text} at {message.location.get('url')}")

    page.on("console", on_console)
    page.on(
        "response",
        lambda r: problems.append(f"HTTP {r.status} for {r.url}") if r.status >= 400 else None,
    )
    http = centre.hotline.settings.http
    try:
        yield DeskPage(page, f"http://{http.host}:{http.port}", problems)
    finally:
        await context.close()
    assert not problems, problems
