"""The control states of `CallControl`, and the waits on them: a command sends its actions,
then waits (with a deadline) for the state the Asterisk events build; every change is
passed to the listeners."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from telephony.call import Call
from telephony.call_control import ControlCode, ControlState
from telephony.tracker import CallTracker

log = logging.getLogger(__name__)

ControlListener = Callable[[ControlState, Call], Awaitable[None]]


class ControlFailed(Exception):
    """A command that did not happen (or was refused): `code` a ControlCode value."""

    def __init__(self, code: ControlCode, message: str) -> None:
        super().__init__(f"{code.value}: {message}")
        self.code = code
        self.message = message


class ControlStore:
    def __init__(self, tracker: CallTracker, confirm_s: float) -> None:
        self.tracker = tracker
        self.confirm_s = confirm_s
        self.states: dict[str, ControlState] = {}
        self.owner: dict[str, str] = {}  # channel name or uniqueid → the call's linkedid
        self.listeners: list[ControlListener] = []
        self.listener_errors = 0
        self._changed = asyncio.Condition()

    async def set(self, linkedid: str, st: ControlState) -> None:
        self.states[linkedid] = st
        await self.wake()
        await self.notify(st)

    async def drop(self, linkedid: str) -> ControlState:
        """The call's state forgotten (and whatever routed events to it); the last one."""
        st = self.states.pop(linkedid)
        for key in [k for k, v in self.owner.items() if v == linkedid]:
            del self.owner[key]
        await self.wake()
        return st

    async def wake(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def until(
        self, linkedid: str, done: Callable[[ControlState], bool], what: str
    ) -> ControlState:
        """The call's state once `done` holds; ControlFailed(not_confirmed) if it does not
        within `confirm_s` or the call ends."""
        try:
            async with asyncio.timeout(self.confirm_s), self._changed:
                while True:
                    st = self.states.get(linkedid)
                    if st is None:
                        raise ControlFailed(ControlCode.NOT_CONFIRMED, f"{what}: the call ended")
                    if done(st):
                        return st
                    await self._changed.wait()
        except TimeoutError:
            raise ControlFailed(
                ControlCode.NOT_CONFIRMED, f"{what}: Asterisk did not confirm it in time"
            ) from None

    async def notify(self, st: ControlState) -> None:
        call = self.tracker.get(st.linkedid)
        if call is None:
            return
        for listener in self.listeners:
            try:
                await listener(st, call)
            except Exception:
                self.listener_errors += 1
                log.exception("call control listener %r failed", listener)
