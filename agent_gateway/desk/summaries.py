"""The caller summaries of live calls: fetched from the CRM as soon as a call arrives, so the
screen pop does not wait for the database when the phone rings."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from crm.domain.caller import NO_NUMBER, CallerSummary

log = logging.getLogger(__name__)

POP_SUMMARY_WAIT_S = 0.2  # a pop never waits longer than this for the caller's summary

SummaryLoader = Callable[[str], Coroutine[Any, Any, CallerSummary]]

# The summary while it is not known (late or failed): nothing listed, and the caller counts
# as confidential, so a number is never shown by mistake.
NOT_KNOWN = CallerSummary(history=(), open_orders=(), confidential=True)


class CallerSummaries:
    def __init__(self, load: SummaryLoader) -> None:
        self.load = load
        self.tasks: dict[str, asyncio.Task[CallerSummary]] = {}

    def prefetch(self, linkedid: str, number: str) -> None:
        self.tasks[linkedid] = asyncio.create_task(
            self.load(number), name=f"caller summary {linkedid}"
        )

    async def wait(self, linkedid: str) -> None:
        """Give a summary still on its way a moment (the pop is due now)."""
        task = self.tasks.get(linkedid)
        if task is None or (task.done() and not task.cancelled() and task.exception() is None):
            return  # the usual case, without a turn of the event loop
        try:
            await asyncio.wait_for(asyncio.shield(task), POP_SUMMARY_WAIT_S)
        except TimeoutError:
            log.warning("caller summary for %s not ready in time; pop without it", linkedid)
        except Exception:
            log.exception("caller summary for %s failed", linkedid)

    def of(self, linkedid: str) -> CallerSummary:
        """The CRM's summary of the caller. Not known yet (late or failed) counts as
        confidential: a number is never shown by mistake."""
        task = self.tasks.get(linkedid)
        if task is None:
            return NO_NUMBER  # no number to hide (an anonymous caller), or the call is over
        if not task.done() or task.cancelled() or task.exception() is not None:
            return NOT_KNOWN
        return task.result()

    def drop(self, linkedid: str) -> None:
        task = self.tasks.pop(linkedid, None)
        if task is not None and not task.done():
            task.cancel()
