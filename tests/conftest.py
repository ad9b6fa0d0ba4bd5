"""The suite's two workers (`scripts/test.sh`: pytest-xdist `-n 2`).

Each end-to-end and browser module is one work unit: its tests run in order on one worker,
sharing the module's private Asterisk (a module-scoped centre), while the other worker runs
another such module; the modules go first (the largest units), the unit and integration
tests after them, at a lower CPU priority wherever they run beside a timed module. Each
worker probes ports from its own share (`HOTLINE_PORT_SHARD`, `hotline_cli/demo/ports.py`):
two workers never pick the same one.

The units are made by a scheduler of our own, not by `--dist loadscope`/`loadgroup`: with
pytest 9.2 grouping by a mark silently stops (pytest-xdist issue #1386: it renames node ids,
which pytest no longer lets a plugin do), and only the timed tests are to be grouped.
"""

from __future__ import annotations

import os

import pytest
from xdist.scheduler import LoadScopeScheduling

_TIMED = ("tests/e2e/", "tests/browser/")
_BESIDE_NICENESS = 10  # the unit and integration tests' priority next to the timed ones


class _TimedByModule(LoadScopeScheduling):  # type: ignore[misc]  # xdist has no types
    """Load balancing test by test, except that a timed module's tests are one unit."""

    def _split_scope(self, nodeid: str) -> str:
        return nodeid.partition("::")[0] if nodeid.startswith(_TIMED) else nodeid


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> LoadScopeScheduling:
    return _TimedByModule(config, log)


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
