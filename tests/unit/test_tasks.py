"""The supervisor of the backend's long-lived tasks: failures logged at once, counted, and the
task restarted; the block's end stops it for good."""

from __future__ import annotations

import asyncio
import logging

import pytest

from hotline_cli.tasks import TaskHealth, Tasks


async def test_a_failing_task_is_logged_at_once_counted_and_restarted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs: list[int] = []
    steady = asyncio.Event()

    async def flaky() -> None:
        runs.append(len(runs))
        if len(runs) <= 2:
            raise RuntimeError(f"bug {len(runs)}")
        steady.set()
        await asyncio.Event().wait()  # a healthy run lasts

    tasks = Tasks(backoff_s=(0.01,))
    tasks.watch("elsewhere", lambda: TaskHealth(failures=5))
    with caplog.at_level(logging.ERROR, logger="hotline_cli.tasks"):
        async with tasks.supervised("flaky", flaky) as health:
            await asyncio.wait_for(steady.wait(), 5)
            assert health == TaskHealth(failures=2, restarts=2)
            assert tasks.report() == {
                "elsewhere": {"failures": 5, "restarts": 0},
                "flaky": {"failures": 2, "restarts": 2},
            }
    assert [r.exc_info[1].args for r in caplog.records if r.exc_info and r.exc_info[1]] == [
        ("bug 1",), ("bug 2",)
    ]
    assert len(runs) == 3  # stopped with the block, not restarted again


async def test_a_task_that_ends_by_itself_is_restarted() -> None:
    runs = 0
    again = asyncio.Event()

    async def returns() -> None:
        nonlocal runs
        runs += 1
        if runs == 2:
            again.set()
            await asyncio.Event().wait()

    async with Tasks(backoff_s=(0.01,)).supervised("returns", returns) as health:
        await asyncio.wait_for(again.wait(), 5)
        assert health == TaskHealth(failures=1, restarts=1)


def test_alarms_of_every_watched_task_are_reported_as_raised_now() -> None:
    raised: dict[str, str] = {}
    tasks = Tasks()
    tasks.watch("quiet", lambda: TaskHealth())
    tasks.watch("recording checks", lambda: TaskHealth(), lambda: dict(raised))
    assert tasks.alarms() == {}
    raised["recordings_disk_low"] = "1.0 MB free"
    assert tasks.alarms() == {"recordings_disk_low": "1.0 MB free"}
    raised.clear()
    assert tasks.alarms() == {}
