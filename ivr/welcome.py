"""The main IVR flow: greet the caller, read the menu's keys, tell the dialplan where to go.

The flow only sets channel variables and returns; the dialplan then runs
``Queue(${HOTLINE_QUEUE})``. Variables set on every call that reaches the end:

- ``HOTLINE_IVR_CHOICE``: the menu key (``1``, ``2``, ``3``, ``0``, ``9``) or ``""`` for none;
- ``HOTLINE_IVR_LABEL``: ``consult``, ``complaint``, ``help``, ``operator`` or ``emergency``;
- ``HOTLINE_QUEUE``: the queue for that label; for ``emergency`` instead
  ``HOTLINE_EMERGENCY``, the line (110) the dialplan dials with its failover, never queued.

The greeting and the menu are one interruptible prompt (a key acts at once); the decisions
(which key counts, when to replay, when to give up) are ``ivr.menu``'s.

A caller the wiring root's ``refuse`` says is on the nuisance list hears why instead and gets
``HOTLINE_REFUSED`` (``nuisance``), on which the dialplan hangs up: never queued.
"""

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

from ivr.menu import DEFAULT_QUEUE, Attempt, Choice, Label, choose, keys_on_offer, queue_map
from ivr.playback import play
from ivr.prompts import INVALID, MENU, NUISANCE, WELCOME
from ivr.sanitize import DTMF_KEYS, check_dialplan_token
from ivr.server import Flow
from ivr.session import AgiSession
from telephony.dialplan import (
    REFUSED_NUISANCE,
    VAR_EMERGENCY,
    VAR_IVR_CHOICE,
    VAR_IVR_LABEL,
    VAR_QUEUE,
    VAR_REFUSED,
)

log = logging.getLogger(__name__)

_ANY_KEY = "".join(sorted(DTMF_KEYS))
ORDER_STATUS_KEY = "8"  # order status self-service, when the wiring root gives that flow

Refuse = Callable[[str, str], bool]
"""(the caller ID as Asterisk gives it, the call's uniqueid) → whether the caller is refused as
a nuisance number; it logs the refusal (the number masked)."""


def _refuse_nobody(caller_id: str, uniqueid: str) -> bool:
    return False


class WelcomeFlow:
    """Greeting and menu; an invalid key or a timeout after one replays the menu (twice at
    most, ``ivr.menu.MAX_REPLAYS``), then the operator; no key at all: the operator at once.

    ``prompt_dir`` is where ``build_prompts`` wrote the WAVs (Asterisk is given the path
    without extension); ``queues`` maps labels to queue names, all ``default_queue`` if absent;
    ``emergency_line`` is the number key 9 sends the caller to (no key 9 without it);
    ``refuse`` screens each caller against the nuisance list (none refused without it);
    ``order_status`` runs on key 8, then the caller goes on to the operator.
    """

    def __init__(
        self,
        prompt_dir: Path,
        *,
        queues: Mapping[str, str] | None = None,
        default_queue: str = DEFAULT_QUEUE,
        choice_timeout_ms: int = 1000,
        emergency_line: str | None = None,
        refuse: Refuse = _refuse_nobody,
        order_status: Flow | None = None,
    ) -> None:
        self._welcome = str(prompt_dir / WELCOME)
        self._menu = str(prompt_dir / MENU)
        self._invalid = str(prompt_dir / INVALID)
        self._nuisance = str(prompt_dir / NUISANCE)
        self._refuse = refuse
        self._queues = queue_map(queues, default_queue)
        self._choice_timeout_ms = choice_timeout_ms
        self._emergency_line = (
            None if emergency_line is None else check_dialplan_token(emergency_line)
        )
        self._keys = keys_on_offer(emergency=self._emergency_line is not None)
        self._order_status = order_status

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
            await play(session, self._nuisance)
            return  # the dialplan hangs up
        choice = await self._choose(session)
        await session.set_variable(VAR_IVR_CHOICE, choice.digit)
        await session.set_variable(VAR_IVR_LABEL, choice.label)
        if choice.label is Label.EMERGENCY and self._emergency_line is not None:
            await session.set_variable(VAR_EMERGENCY, self._emergency_line)
            target = f"emergency line {self._emergency_line}"
        else:
            target = f"queue {self._queues[choice.label]}"
            await session.set_variable(VAR_QUEUE, self._queues[choice.label])
        log.info("IVR %r: %s → %s", uniqueid, choice.label, target)
        await session.verbose(f"hotline IVR: chose {choice.label}, {target}")

    async def _choose(self, session: AgiSession) -> Choice:
        """Greeting and menu (interruptible), a wait for a key if none came, replays."""
        key = await play(session, self._welcome, _ANY_KEY)
        attempt = Attempt()
        while True:
            key = key or await session.wait_for_digit(self._choice_timeout_ms)
            if key == ORDER_STATUS_KEY and self._order_status is not None:
                await self._order_status(session)  # returns when done or asking for an agent
                return Choice("0", Label.OPERATOR)
            choice = choose(key, attempt, self._keys)
            if choice is not None:
                return choice
            attempt = attempt.again(key)
            if key:  # a key the menu does not have; after a timeout the menu alone
                await play(session, self._invalid)
            key = await play(session, self._menu, _ANY_KEY)
