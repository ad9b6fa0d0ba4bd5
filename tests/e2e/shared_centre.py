"""One private hotline shared by the test modules whose centre has the same settings and whose
tests need no fresh one (the default `centre` of tests/e2e/conftest.py and of
tests/browser/conftest.py): each module gets it settled, as a fresh centre would be for
what it checks. A module that counts every call, reads the whole database or Asterisk's own
records, or leaves much behind, keeps a centre of its own instead."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from agent_gateway.edge.protocol import PresenceState
from telephony.actions import hang_up
from telephony.ami_connection import AmiActionError
from tests.e2e.harness import CallLog, Centre

SETTLE_S = 30.0


async def quiet(centre: Centre, timeout: float = SETTLE_S) -> None:
    """Wait until no call is live and every agent is available (earlier tests' calls over)."""
    deadline = time.monotonic() + timeout
    while any(c.active for c in centre.hotline.tracker.calls.values()) or any(
        p.state is not PresenceState.AVAILABLE for p in centre.hotline.desk.presences.values()
    ):
        assert time.monotonic() < deadline, "calls or agents still busy"
        await asyncio.sleep(0.1)


async def hang_up_callers(centre: Centre) -> None:
    """Hang up every caller still on the line (a test that failed mid-call left it)."""
    listed = await centre.hotline.ami.action_list("CoreShowChannels")
    for item in listed:
        name = item.get("Channel", "")
        if item.get("Event") == "CoreShowChannel" and name.startswith("PJSIP/carrier-"):
            with contextlib.suppress(AmiActionError):
                await hang_up(centre.hotline.ami, name)


async def settle(centre: Centre) -> None:
    """What a module finds on a fresh centre: no caller on the line, every agent unpaused in
    every queue and available, and a call log of its own (no other module's calls in it)."""
    await hang_up_callers(centre)
    for agent in centre.hotline.settings.agents:  # no Queue: in every queue
        await centre.hotline.ami.action(
            "QueuePause", Interface=f"PJSIP/{agent.extension}", Paused="false"
        )
    await quiet(centre)
    centre.log = CallLog()


@asynccontextmanager
async def shared_with_module(centre: Centre) -> AsyncIterator[Centre]:
    """The shared centre, settled for one module; its callers hung up when the module ends."""
    await settle(centre)
    try:
        yield centre
    finally:
        await hang_up_callers(centre)
