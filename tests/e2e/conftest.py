from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.e2e.harness import Centre, running_centre


@pytest.fixture(scope="module")
async def centre(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Centre]:
    """One private hotline for a test module; tests wait for their own calls to end."""
    async with running_centre(tmp_path_factory.mktemp("centre")) as centre:
        yield centre


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
