"""The suite's two workers (`scripts/test.sh`: pytest-xdist `-n 2`).

Every end-to-end and browser test runs in one work unit, on one worker, one after another as
they always did: they share private Asterisks module by module and measure real timings. The
unit and integration tests run beside them on the other worker at a lower CPU priority, so
the timed tests keep the CPU they need. Each worker probes ports from its own share
(`HOTLINE_PORT_SHARD`, `hotline_cli/demo/ports.py`): two workers never pick the same one.

The unit is made by a scheduler of our own, not by `--dist loadgroup`: with pytest 9.2 that
mode silently stops grouping (pytest-xdist issue #1386: it renames node ids, which pytest no
longer lets a plugin do).
"""

from __future__ import annotations

import os

import pytest
from xdist.scheduler import LoadScopeScheduling

_TIMED = ("tests/e2e/", "tests/browser/")
_BESIDE_NICENESS = 10  # the unit and integration tests' priority next to the timed ones


class _TimedTogether(LoadScopeScheduling):  # type: ignore[misc]  # xdist has no types
    """Load balancing test by test, except that all timed tests are one unit (the largest,
    so it is handed out first)."""

    def _split_scope(self, nodeid: str) -> str:
        return "timed" if nodeid.startswith(_TIMED) else nodeid


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> LoadScopeScheduling:
    return _TimedTogether(config, log)


def _worker() -> tuple[int, int] | None:
    """This worker's index and the number of workers, or None outside pytest-xdist."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
    if not name.startswith("gw") or not count:
        return None
    return int(name.removeprefix("gw")), int(count)


def pytest_configure(config: pytest.Config) -> None:
    worker = _worker()
    if worker is not None:
        index, count = worker
        os.environ["HOTLINE_PORT_SHARD"] = f"{index}/{count}"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before the item's fixtures start anything (a centre's processes inherit it)."""
    if _worker() is not None:
        wanted = 0 if item.nodeid.startswith(_TIMED) else _BESIDE_NICENESS
        if os.getpriority(os.PRIO_PROCESS, 0) != wanted:  # back to 0 needs root (the suite's)
            os.setpriority(os.PRIO_PROCESS, 0, wanted)
