"""The table of verbs: each command name, who may run it, and the handler that carries it out.

Each entry hands its handler exactly what it needs from the desk's collaborators, read when
the command comes (the desk replaces its queue memberships after every re-sync).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from agent_gateway.desk.commands import (
    control,
    dispose,
    floor,
    hangup,
    pause,
    queues,
    recording,
    revisit,
    save_order,
    spy,
    transfer,
    wrap_up,
)
from agent_gateway.desk.commands.verb import AGENT_DESK, FLOOR, CommandFailed, Handler, Verb
from agent_gateway.desk.floor_audit import FloorAudit
from agent_gateway.desk.forced_pause import ForcedPauses
from agent_gateway.desk.orders import DeskOrders
from agent_gateway.desk.service import DeskService
from telephony.actions import AmiActions
from telephony.call_control_service import CallControl
from telephony.spy_service import SpyService
from telephony.tracker import CallTracker


@dataclass(frozen=True)
class Collaborators:
    """What the handlers may use."""

    desk: DeskService
    ami: AmiActions
    tracker: CallTracker
    orders: DeskOrders
    agent_queues: Mapping[str, Sequence[tuple[str, int]]]  # extension → (queue, penalty)
    transfer_context: str  # the dialplan context a transfer target is dialled in
    control: CallControl  # hold, mute, consults (warm transfer) and three-party calls
    spy: SpyService | None = None  # supervisors' listen / whisper / barge
    revisits: revisit.Revisits | None = None  # calls back (回访): None without an outbound trunk


def _control_verb(c: Collaborators, name: str) -> Handler:
    return lambda r: control.control_step(c.control, c.desk, c.desk.presences, c.tracker, name, r)


def verb_table(c: Collaborators) -> dict[str, Verb]:
    """Every verb: the agents' (at their own desk) and the supervisors' (roles `FLOOR`)."""
    agent_verbs = {name: Verb(AGENT_DESK, handler) for name, handler in _agent_verbs(c).items()}
    return {**agent_verbs, **_floor_verbs(c), **_spy_verbs(c)}


def _spy_verbs(c: Collaborators) -> dict[str, Verb]:
    """Listen, whisper, barge on the supervisor's own phone (`spy.py`)."""

    def on_phone(verb: spy.SpyVerb) -> Verb:
        return Verb(FLOOR, lambda r: verb(c.spy, r))

    return {name: on_phone(verb) for name, verb in spy.VERBS.items()}


def _floor_verbs(c: Collaborators) -> dict[str, Verb]:
    """Managing agents from the floor: the target agent is in the args (`floor.py`)."""

    def on_floor(verb: floor.FloorVerb) -> Verb:
        return Verb(FLOOR, lambda r: verb(
            floor.Floor(c.control.ami, c.desk, c.agent_queues, FloorAudit(c.orders.sessions)), r
        ))  # fmt: skip

    return {name: on_floor(verb) for name, verb in floor.VERBS.items()}


def _revisits(c: Collaborators) -> revisit.Revisits:
    if c.revisits is None:
        raise CommandFailed("no_outbound", "未配置外呼线路，无法回访")
    return c.revisits


def _agent_verbs(c: Collaborators) -> dict[str, Handler]:
    return {
        "login": lambda r: queues.login(
            c.ami, c.desk.presences, dict(c.agent_queues[r.extension]), r
        ),
        "logout": lambda r: queues.logout(c.ami, sorted(c.desk.members.get(r.extension, ())), r),
        "pause": lambda r: pause.pause(c.ami, c.desk.presences, ForcedPauses(c.desk.redis), r),
        "unpause": lambda r: pause.unpause(c.ami, c.desk.presences, ForcedPauses(c.desk.redis), r),
        "hangup": lambda r: hangup.hangup(c.ami, c.desk.presences, c.tracker, c.control, r),
        "transfer": lambda r: transfer.transfer(
            c.ami, c.desk.presences, c.tracker, c.transfer_context, c.control, r
        ),
        "wrapup_done": lambda r: wrap_up.wrapup_done(c.desk, c.orders, c.tracker, r),
        "save_order": lambda r: save_order.save_order(
            c.orders,
            c.desk.presences,
            c.tracker,
            r,
            c.desk.control.emergency_line,
            c.desk.order_saved,
        ),
        "dispose": lambda r: dispose.dispose(
            c.orders, c.desk.presences, c.tracker, r, c.desk.control.emergency_call
        ),
        "recording_pause": lambda r: recording.set_recording_paused(
            c.ami, c.desk, c.tracker, c.orders, True, r
        ),
        "recording_resume": lambda r: recording.set_recording_paused(
            c.ami, c.desk, c.tracker, c.orders, False, r
        ),
        "revisit_call": lambda r: revisit.revisit_call(c.ami, _revisits(c), c.desk.presences, r),
        "revisit_result": lambda r: revisit.revisit_result(c.ami, _revisits(c), r),
        **{name: _control_verb(c, name) for name in control.STEPS},
    }
