"""The first IVR flow: greet the caller, read one menu key, tell the dialplan where to queue.

The flow only sets channel variables and returns; the dialplan then runs
``Queue(${HOTLINE_QUEUE})``. Variables set on every call that reaches the end:

- ``HOTLINE_IVR_CHOICE``: the menu key (``1``, ``2``, ``3``, ``0``) or ``""`` for none;
- ``HOTLINE_IVR_LABEL``: ``consult``, ``complaint``, ``help`` or ``operator``;
- ``HOTLINE_QUEUE``: the queue for that label.

A caller the wiring root's ``refuse`` says is on the nuisance list hears why instead and gets
``HOTLINE_REFUSED`` (``nuisance``), on which the dialplan hangs up: never queued.
"""

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

from ivr.menu import DEFAULT_QUEUE, choose, queue_map
from ivr.playback import play
from ivr.prompts import INVALID, NUISANCE, WELCOME
from ivr.sanitize import DTMF_KEYS
from ivr.session import AgiSession
from telephony.dialplan import (
    REFUSED_NUISANCE,
    VAR_IVR_CHOICE,
    VAR_IVR_LABEL,
    VAR_QUEUE,
    VAR_REFUSED,
)

log = logging.getLogger(__name__)

_ANY_KEY = "".join(sorted(DTMF_KEYS))

Refuse = Callable[[str, str], bool]
"""(the caller ID as Asterisk gives it, the call's uniqueid) → whether the caller is refused as
a nuisance number; it logs the refusal (the number masked)."""


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
    ) -> None:
        self._welcome = str(prompt_dir / WELCOME)
        self._invalid = str(prompt_dir / INVALID)
        self._nuisance = str(prompt_dir / NUISANCE)
        self._refuse = refuse
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
        await session.set_variable(VAR_IVR_CHOICE, choice.digit)
        await session.set_variable(VAR_IVR_LABEL, choice.label)
        await session.set_variable(VAR_QUEUE, queue)
        log.info("IVR %r: %s → queue %s", uniqueid, choice.label, queue)
        await session.verbose(f"hotline IVR: chose {choice.label}, queue {queue}")

    async def _ask(self, session: AgiSession) -> str | None:
        """Play the greeting, interruptible by any key; then wait for one if none came."""
        key = await self._play(session, self._welcome, _ANY_KEY)
        return key or await session.wait_for_digit(self._choice_timeout_ms)

    @staticmethod
    async def _play(session: AgiSession, path: str, escape_digits: str = "") -> str | None:
        """A missing prompt must not cost the caller the call: log it and go on."""
        return await play(session, path, escape_digits)
