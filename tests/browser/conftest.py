"""Browser tests of the agent and supervisor desktops: Debian's Chromium driven by Playwright
against a whole private hotline (real Asterisk, SIPp phones and callers, CRM, gateway).

Playwright's own browser download cannot work here (no internet): the tests launch
/usr/bin/chromium, installed by scripts/install.sh. Never run `playwright install`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

from tests.browser.support import DeskPage
from tests.e2e.harness import Centre, running_centre

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
async def centre(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Centre]:
    """One private hotline for the module; every agent is logged into its queues."""
    async with running_centre(tmp_path_factory.mktemp("centre"), ring_ms=600) as centre:
        yield centre


@pytest.fixture(scope="session")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install.sh (Debian package chromium)")
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def desk(browser: Browser, centre: Centre) -> AsyncIterator[DeskPage]:
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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that drive a real hotline are end-to-end tests (the source checks are not)."""
    for item in items:
        if "/browser/" in str(item.fspath) and "centre" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)
