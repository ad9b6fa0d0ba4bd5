"""Browser tests of the agent and supervisor desktops: Debian's Chromium driven by Playwright
against a whole private hotline (real Asterisk, SIPp phones and callers, CRM, gateway).

Playwright's own browser download cannot work here (no internet): the tests launch
/usr/bin/chromium, installed by scripts/install.sh. Never run `playwright install`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests.browser.support import DeskPage, open_desk
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
    """A fresh browser context on the hotline (`open_desk`)."""
    async with open_desk(browser, centre) as page:
        yield page


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that drive a real hotline are end-to-end tests (the source checks are not)."""
    for item in items:
        if "/browser/" in str(item.fspath) and "centre" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)
