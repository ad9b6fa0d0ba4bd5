from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.e2e.harness import Centre, running_centre
from tests.e2e.shared_centre import shared_with_module


@pytest.fixture(scope="session")
async def shared_centre(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Centre]:
    async with running_centre(tmp_path_factory.mktemp("centre")) as centre:
        yield centre


@pytest.fixture(scope="module")
async def centre(shared_centre: Centre) -> AsyncIterator[Centre]:
    """The session's private hotline, settled for this module (tests/e2e/shared_centre.py);
    tests wait for their own calls to end."""
    async with shared_with_module(shared_centre) as centre:
        yield centre


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
