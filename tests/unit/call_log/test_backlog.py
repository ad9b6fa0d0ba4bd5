"""The listener never waits and never drops: a backlog the writer has not drained grows,
logged at each doubling from BACKLOG_WARN."""

import logging

import pytest

from call_log.writer import BACKLOG_WARN, CallLog
from telephony.events import ChannelCreated
from telephony.tracker import CallTracker


def _never(*_args: object) -> object:
    raise AssertionError("the listener must not touch the database")


async def test_a_backlog_grows_logged_never_dropped(caplog: pytest.LogCaptureFixture) -> None:
    tracker = CallTracker()
    call_log = CallLog(_never, tracker, ("110",))  # type: ignore[arg-type]
    caplog.set_level(logging.WARNING, logger="call_log.writer")
    for i in range(BACKLOG_WARN * 4):
        arrived = ChannelCreated(float(i), f"1.{i}", f"1.{i}", "PJSIP/c-1", "138", "",
                                 "hotline-inbound", "12345")  # fmt: skip
        (effect,) = tracker.apply(arrived)
        await call_log.on_call(effect)
    assert call_log.backlog == BACKLOG_WARN * 4 == call_log.stats.backlog_peak
    warned = [r.getMessage() for r in caplog.records]
    assert warned == [f"call log: {n} updates waiting for the database"
                      for n in (BACKLOG_WARN, BACKLOG_WARN * 2, BACKLOG_WARN * 4)]  # fmt: skip
