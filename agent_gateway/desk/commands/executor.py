"""The command executor: reads desktops' commands off the bus, checks them, runs their verb.

Commands arrive on the bus's commands stream (the gateway already checked their shape and
the sender's role, and sealed who sent it: a command without a valid seal is refused, since
anything that can write to Redis could claim any user, role and extension). The sealed role
is checked again against the verb's entry (agents' verbs for agents at their own desk,
supervisors' for supervisors and admins). Each gets one `command_result` on the sender's
topic (sealed too: an agent's desk's, a supervisor's own): ok with a result, or the reason it
failed. What a
command changes (presence, the call) is confirmed by the Asterisk events that follow, not by
the result.

Each command is handled in isolation: whatever it raises becomes an `internal_error` result
(logged with its traceback at once) and the command is acknowledged, so one bad command never
stops the others. A command older than `max_age_s` (it waited while the executor was down)
is answered `expired` and not carried out: a pause clicked minutes ago is no longer wanted
(the age is measured against the gateway's clock: gateway hosts keep their clocks in sync).

The seal also carries the credential generation of the sender's ticket: a command from a user
the backend no longer lists with it (disabled, token revoked or rotated, rebound) is refused
at once, not only when the gateway's next recheck closes the desktop. A sealed command is
carried out once: its seal is claimed in Redis (SET NX, for its age window), so the same
entry written again (replayed) is refused, and so is one delivered again after a backend
stopped while carrying it out (at most once: it may be partly done).

Commands of different agents are carried out at the same time, each agent's own one after the
other in the order sent (a lane per extension, `lanes.py`; per user for supervisors): a
call-control verb waits for Asterisk's confirmation, and the other agents' commands must not wait
for it meanwhile. At most `max_in_flight` commands are taken off the stream at once (the rest
wait there), at most `max_per_desk` of one extension (more are answered `rate_limited`, not
carried out). Stopped (cancelled), the executor cancels the commands in hand and returns only
once none is left running; failing (Redis), it lets them end first.

What a command does is its verb's handler, looked up by name in `verbs.py`'s table.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from agent_gateway.desk.commands.lanes import Lanes
from agent_gateway.desk.commands.revisit import Revisits
from agent_gateway.desk.commands.verb import AGENT_DESK, FLOOR, CommandFailed, Request
from agent_gateway.desk.commands.verbs import Collaborators, verb_table
from agent_gateway.desk.orders import DeskOrders
from agent_gateway.desk.service import DeskService
from agent_gateway.edge.admission import desk_user_generation
from agent_gateway.edge.bus import Bus, CommandEntry
from agent_gateway.edge.command_seal import BadSeal, check_seal
from agent_gateway.edge.protocol import CommandResult, ErrorInfo
from telephony.actions import AmiActions
from telephony.ami_connection import AmiActionError, AmiConnectionLost
from telephony.call_control_service import CallControl
from telephony.spy_service import SpyService
from telephony.tracker import CallTracker

log = logging.getLogger(__name__)

CLAIM_KEY_PREFIX = "hotline:cmd:"  # + seal: the command was received once
CLAIM_MARGIN_S = 1.0  # kept a little past the age limit, after which it is refused anyway
MAX_IN_FLIGHT = 64  # commands taken off the stream and not ended, of every desk
MAX_PER_DESK = 8  # of one extension: its lane; a desk sending more is flooding


class CommandExecutor:
    def __init__(
        self,
        bus: Bus,
        desk: DeskService,
        ami: AmiActions,
        tracker: CallTracker,
        orders: DeskOrders,
        agent_queues: Mapping[str, Sequence[tuple[str, int]]],
        transfer_context: str,
        control: CallControl,
        max_age_s: float = 5.0,
        *,
        seal_key: bytes,
        max_in_flight: int = MAX_IN_FLIGHT,
        max_per_desk: int = MAX_PER_DESK,
        spy: SpyService | None = None,
        revisits: Revisits | None = None,
    ) -> None:
        self.bus = bus
        self.desk = desk
        self.agent_queues = agent_queues  # extension → (queue, penalty) it serves
        self.verbs = verb_table(Collaborators(
            desk, ami, tracker, orders, agent_queues, transfer_context, control, spy, revisits
        ))  # fmt: skip
        self.max_age_s = max_age_s
        self.seal_key = seal_key  # who sent a command is believed only under a gateway's seal
        self.max_in_flight = max_in_flight
        self.max_per_desk = max_per_desk

    async def run(self) -> None:
        """Carry out commands as they come, each in its desk's lane; each acknowledged as soon
        as it was carried out (before it is answered: stopped in between, it is not carried
        out twice)."""
        async with asyncio.TaskGroup() as group:
            lanes = Lanes(group, self.max_in_flight, self.max_per_desk)
            try:
                async for entry in self.bus.commands():
                    lane = _lane(entry.command)
                    if lanes.full(lane):
                        message = f"more than {self.max_per_desk} commands of this desk waiting"
                        log.warning("command %s refused: %s", entry.entry_id, message)
                        failed = _failed(_command_id(entry.command), "rate_limited", message)
                        await self._finish(entry, failed)
                    else:
                        lanes.add(lane, partial(self._carry_out, entry))
                    await lanes.room()  # before reading on: what is not taken waits in Redis
            except Exception:  # the stream failed: the commands in hand end (then a restart)
                lanes.stop()
                await lanes.idle()
                raise

    async def _carry_out(self, entry: CommandEntry) -> None:
        if entry.refused is None:
            result = await self.execute(entry.command)
        else:  # the bus set it aside (and acked it): it is answered, never carried out
            message = f"set aside, not carried out: {entry.refused}"
            result = _failed(_command_id(entry.command), "internal_error", message)
        await self._finish(entry, result)

    async def _finish(self, entry: CommandEntry, result: CommandResult) -> None:
        await self.bus.ack_command(entry.entry_id)
        await self._answer(entry, result)

    async def _answer(self, entry: CommandEntry, result: CommandResult) -> None:
        command = entry.command
        reply_topic = command.get("reply_topic")
        if not isinstance(reply_topic, str):
            log.error("command %s has no reply topic: %s", entry.entry_id, result.error)
            return
        try:
            await self.desk.writer.publish(reply_topic, result.model_dump(mode="json"))
        except Exception:
            log.exception("answering command %s failed", entry.entry_id)

    async def execute(self, command: Mapping[str, Any]) -> CommandResult:
        """Carry out one command; never raises (but for cancellation)."""
        command_id = _command_id(command)
        name = command.get("name")
        extension = command.get("extension")
        try:
            self._refuse_if_forged(command)
            self._refuse_if_expired(command)
            await self._refuse_if_no_longer_allowed(command)
            await self._refuse_if_replayed(command)
            verb = self.verbs.get(name) if isinstance(name, str) else None
            if verb is None:
                raise CommandFailed("unknown_command", f"unknown command {name!r}")
            role = command.get("role")
            if role not in verb.roles:
                raise CommandFailed("forbidden", f"the {role} role may not run {name}")
            if verb.roles is AGENT_DESK and extension not in self.agent_queues:
                raise CommandFailed("no_extension", "this desktop is not an agent's desk")
            result = await verb.handler(_request(command))
        except CommandFailed as exc:
            log.info("command %s %s from %s failed: %s", name, command_id, extension, exc)
            return _failed(command_id, exc.code, exc.message)
        except AmiActionError as exc:
            return _failed(command_id, "asterisk_refused", str(exc))
        except (AmiConnectionLost, TimeoutError) as exc:
            return _failed(command_id, "asterisk_unavailable", str(exc))
        except Exception as exc:
            log.exception("command %r %s from %r failed unexpectedly", name, command_id, extension)
            message = f"unexpected {type(exc).__name__} (logged); check what was done"
            return _failed(command_id, "internal_error", message)
        return CommandResult(id=command_id, ok=True, result=result)

    def _refuse_if_forged(self, command: Mapping[str, Any]) -> None:
        """Only a gateway that verified the sender's ticket can seal a command: one written
        into Redis by anything else claims an identity nobody checked."""
        try:
            check_seal(self.seal_key, command)
        except BadSeal as exc:
            log.error(
                "command %s refused, its sender unproven (%s): user %r, role %r, extension %r",
                _command_id(command), exc, command.get("user_id"), command.get("role"),
                command.get("extension"),
            )  # fmt: skip
            raise CommandFailed("forbidden", f"not carried out: {exc}") from None

    def _refuse_if_expired(self, command: Mapping[str, Any]) -> None:
        submitted = command.get("gateway_ts")
        if not isinstance(submitted, int | float):
            raise CommandFailed("expired", "the command carries no submission time")
        age = time.time() - submitted
        if age > self.max_age_s:
            raise CommandFailed(
                "expired", f"waited {age:.1f} s (more than {self.max_age_s:g} s): not carried out"
            )

    async def _refuse_if_no_longer_allowed(self, command: Mapping[str, Any]) -> None:
        """The generation sealed in the command must still be the one the backend publishes
        for the user: the gateway closes a disabled user's desktop only at its next recheck."""
        user_id, version = command.get("user_id"), command.get("version")
        published = None
        if type(user_id) is int:
            published = await desk_user_generation(self.bus.redis, user_id)
        if type(version) is not int or published != version:
            log.warning(
                "command %s refused: user %r (generation %r, published %r) may no longer use "
                "the desk", _command_id(command), user_id, version, published,
            )  # fmt: skip
            raise CommandFailed("forbidden", "this user may no longer use the desk")

    async def _refuse_if_replayed(self, command: Mapping[str, Any]) -> None:
        """Claim the seal for the rest of the command's age window: the same sealed entry
        written onto the stream again is refused. Checked after the seal and the age only."""
        window_s = float(command["gateway_ts"]) + self.max_age_s - time.time() + CLAIM_MARGIN_S
        key = CLAIM_KEY_PREFIX + str(command["seal"])
        if not await self.bus.redis.set(key, b"1", nx=True, px=max(1, int(window_s * 1000))):
            log.warning(
                "command %s refused: already received once (replayed?): user %r, extension %r",
                _command_id(command), command.get("user_id"), command.get("extension"),
            )  # fmt: skip
            raise CommandFailed("duplicate", "already received once: not carried out again")


def _lane(command: Mapping[str, Any]) -> str:
    """The desk whose commands must keep their order: an agent's extension, a supervisor's
    user (a command with neither is refused at once, whichever lane it waited in)."""
    if command.get("role") in FLOOR:
        return f"user.{str(command.get('user_id'))[:24]}"
    extension = command.get("extension")
    return extension[:32] if isinstance(extension, str) else ""


def _request(command: Mapping[str, Any]) -> Request:
    """What a handler gets of a command whose seal and sender were checked."""
    args = command.get("args") or {}
    extension = command.get("extension")
    return Request(
        extension if isinstance(extension, str) else "", args, int(command.get("user_id", 0)),
        str(command.get("role", "")), str(command.get("user_name", "")),
    )  # fmt: skip


def _command_id(command: Mapping[str, Any]) -> str:
    return str(command.get("id", ""))[:64]


def _failed(command_id: str, code: str, message: str) -> CommandResult:
    return CommandResult(id=command_id, ok=False, error=ErrorInfo(code=code, message=message))
