"""The first IVR flow: greet the caller, read one menu key, tell the dialplan where to queue.

The flow only sets channel variables and returns; the dialplan then runs
``Queue(${HOTLINE_QUEUE})``. Variables set on every call that reaches the end:

- ``HOTLINE_IVR_CHOICE``: the menu key (``1``, ``2``, ``3``, ``0``) or ``""`` for none;
- ``HOTLINE_IVR_LABEL``: ``consult``, ``complaint``, ``help`` or ``operator``;
- ``HOTLINE_QUEUE``: the queue for that label.

Outside the working hours (the wiring root's ``in_hours`` says so) the queue is the duty
group's (``DUTY_QUEUE``), whatever the choice, and the caller is told before it rings.

A caller the wiring root's ``refuse`` says is on the nuisance list hears why instead and gets
``HOTLINE_REFUSED`` (``nuisance``), on which the dialplan hangs up: never queued.
"""

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from ivr.agi import AgiCommandError
from ivr.menu import DEFAULT_QUEUE, choose, queue_map
from ivr.prompts import AFTER_HOURS, INVALID, NUISANCE, WELCOME
from ivr.sanitize import DTMF_KEYS
from ivr.session import AgiSession
from telephony.dialplan import (
    DUTY_QUEUE,
    REFUSED_NUISANCE,
    VAR_IVR_CHOICE,
    VAR_IVR_LABEL,
    VAR_QUEUE,
    VAR_REFUSED,
)

log = logging.getLogger(__name__)

_ENDPOS = re.compile(r"endpos=(\d+)")

_ANY_KEY = "".join(sorted(DTMF_KEYS))

Refuse = Callable[[str, str], bool]
"""(the caller ID as Asterisk gives it, the call's uniqueid) → whether the caller is refused as
a nuisance number; it logs the refusal (the number masked)."""


InHours = Callable[[], Awaitable[bool]]
"""Whether the centre is in its working hours now (the admin's calendar, holidays included)."""


def _refuse_nobody(caller_id: str, uniqueid: str) -> bool:
    return False


class WelcomeFlow:
    """Greeting + one-key menu; an invalid key replays the menu once, then goes to operator.

    ``prompt_dir`` is where ``build_prompts`` wrote the WAVs (Asterisk is given the path
    without extension); ``queues`` maps labels to queue names, all ``default_queue`` if absent;
    ``refuse`` screens each caller against the nuisance list (none refused without it).
    """

    def __init__(
        self,
        prompt_dir: Path,
        *,
        queues: Mapping[str, str] | None = None,
        default_queue: str = DEFAULT_QUEUE,
        choice_timeout_ms: int = 5000,
        refuse: Refuse = _refuse_nobody,
        in_hours: InHours | None = None,
    ) -> None:
        self._welcome = str(prompt_dir / WELCOME)
        self._invalid = str(prompt_dir / INVALID)
        self._nuisance = str(prompt_dir / NUISANCE)
        self._refuse = refuse
        self._in_hours = in_hours  # None: always in hours (no duty routing)
        self._after_hours = str(prompt_dir / AFTER_HOURS)
        self._queues = queue_map(queues, default_queue)
        self._choice_timeout_ms = choice_timeout_ms

    def route(self, queues: Mapping[str, str], default_queue: str) -> None:
        """Send the callers who choose from now on to these queues (a configuration applied
        live); raises ValueError as the constructor does, the old map kept."""
        self._queues = queue_map(queues, default_queue)

    async def __call__(self, session: AgiSession) -> None:
        await session.answer()
        # No caller number or name in logs: the uniqueid identifies the call for support.
        uniqueid = session.variables.get("agi_uniqueid", "")
        if self._refuse(session.variables.get("agi_callerid", ""), uniqueid):
            # set first: a caller who hangs up during the message is still on record as refused
            await session.set_variable(VAR_REFUSED, REFUSED_NUISANCE)
            await self._play(session, self._nuisance)
            return  # the dialplan hangs up
        replays_left = 1
        while (choice := choose(await self._ask(session), replays_left=replays_left)) is None:
            replays_left -= 1
            await self._play(session, self._invalid)
        queue = self._queues[choice.label]
        after_hours = self._in_hours is not None and not await self._in_hours()
        if after_hours:  # 24/7: the duty group answers outside the working hours
            queue = DUTY_QUEUE
        await session.set_variable(VAR_IVR_CHOICE, choice.digit)
        await session.set_variable(VAR_IVR_LABEL, choice.label)
        await session.set_variable(VAR_QUEUE, queue)
        log.info("IVR %r: %s → queue %s", uniqueid, choice.label, queue)
        await session.verbose(f"hotline IVR: chose {choice.label}, queue {queue}")
        if after_hours:
            await self._play(session, self._after_hours)

    async def _ask(self, session: AgiSession) -> str | None:
        """Play the greeting, interruptible by any key; then wait for one if none came."""
        key = await self._play(session, self._welcome, _ANY_KEY)
        return key or await session.wait_for_digit(self._choice_timeout_ms)

    @staticmethod
    async def _play(session: AgiSession, path: str, escape_digits: str = "") -> str | None:
        """A missing prompt must not cost the caller the call: log it and go on."""
        try:
            return await session.stream_file(path, escape_digits)
        except AgiCommandError as exc:
            if _played_some(exc):  # stopped part-way: the caller hung up, nothing is wrong
                log.info("prompt %s interrupted: %s", path, exc)
            else:
                log.warning("prompt %s not played: %s", path, exc)
            return None


def _played_some(exc: AgiCommandError) -> bool:
    """STREAM FILE's ``result=-1 endpos=N``: N > 0 samples were played before it stopped."""
    found = _ENDPOS.search(str(exc))
    return found is not None and int(found.group(1)) > 0
