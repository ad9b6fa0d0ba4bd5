"""The supervisors' floor verbs: force pause, unpause or log out an agent, move it from one
queue to another, give an overflow seat a queue now.

The target agent is an argument, checked against the agents and queues that exist and against
its presence, before anything is written or asked. Then each action is on the floor's trail
(`FloorAudit`: pending) before Asterisk is asked, is answered only once Asterisk's events
confirmed it (the desk follows QueueMemberPause / Added / Removed into presence and
memberships; a penalty is read back with QueueStatus), is finished on the trail with its
outcome, and leaves a `floor_notice` on the agent's desktop and the supervisor's own.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from agent_gateway.desk.commands.verb import CommandFailed, Request, Result
from agent_gateway.desk.floor_audit import FloorAudit
from agent_gateway.desk.forced_pause import ForcedPauses
from agent_gateway.desk.outbox import Outbox
from agent_gateway.desk.presence import BUSY, AgentPresence
from agent_gateway.desk.service import DeskService
from agent_gateway.edge.protocol import PresenceState, agent_topic
from agent_gateway.edge.store import FLOOR_NOTICES_KEY
from agent_gateway.edge.supervisor_commands import FloorNotice, user_topic
from crm.domain.enums import Role
from crm.usecases.floor_actions import FloorEntry
from telephony.ami_connection import AmiActionError
from telephony.control_resync import AmiLists
from telephony.dialplan import interface_of

CONFIRM_S = 5.0  # how long an action waits for the Asterisk events that confirm it
POLL_S = 0.01  # the desk applies the confirming event within milliseconds of Asterisk
S = PresenceState
STATE_WORDS = {S.RINGING: "振铃", S.TALKING: "通话中", S.WRAP_UP: "话后处理", S.PAUSED: "示忙",
               S.AVAILABLE: "空闲", S.LOGGED_OUT: "未签入"}  # fmt: skip
ROLE_WORDS = {"supervisor": "班长", "admin": "管理员"}


@dataclass(frozen=True)
class Floor:
    """What the floor verbs use: Asterisk, the desk's view of the agents, the queues each
    agent serves (extension → (queue, penalty)), the trail."""

    ami: AmiLists
    desk: DeskService
    serving: Mapping[str, Sequence[tuple[str, int]]]
    audit: FloorAudit
    confirm_s: float = CONFIRM_S

    def target(self, request: Request) -> AgentPresence:
        extension = str(request.args["extension"])
        presence = self.desk.presences.get(extension)
        if presence is None or extension not in self.serving:
            raise CommandFailed("unknown_agent", f"没有坐席 {extension}")
        return presence

    def members(self, extension: str) -> set[str]:
        return self.desk.members.get(extension, set())


def _refuse_unless(presence: AgentPresence, states: Sequence[PresenceState], what: str) -> None:
    if presence.state not in states:
        word = STATE_WORDS[presence.state]
        raise CommandFailed(
            "logged_out" if presence.state is S.LOGGED_OUT else "not_now",
            f"坐席 {presence.extension} {word}，不能{what}",
        )


async def force_pause(floor: Floor, request: Request) -> Result:
    agent = floor.target(request)
    _refuse_unless(agent, (S.AVAILABLE, S.PAUSED, *BUSY), "置暂停")  # on a call: pending
    why = str(request.args["pause_reason"])
    ext = agent.extension

    async def act() -> None:
        await floor.ami.action("QueuePause", Interface=interface_of(ext), Paused="true", Reason=why)

    def done() -> bool:
        now = floor.desk.presences[ext]
        return now.chosen_pause == why

    async def mark() -> None:  # the agent's own unpause is refused while it holds
        await ForcedPauses(floor.desk.redis).mark(ext, why)

    return await _carry_out(floor, request, "force_pause", agent, act, done, f"将您置为暂停：{why}",
                            after=mark, pause_reason=why)  # fmt: skip


async def force_unpause(floor: Floor, request: Request) -> Result:
    agent = floor.target(request)
    if agent.pending_pause is None:  # a pause pending after the call is cancelled likewise
        _refuse_unless(agent, (S.PAUSED,), "恢复（未示忙）")
    ext = agent.extension

    async def act() -> None:
        await floor.ami.action("QueuePause", Interface=interface_of(ext), Paused="false")

    def done() -> bool:
        return floor.desk.presences[ext].chosen_pause is None

    return await _carry_out(floor, request, "force_unpause", agent, act, done, "已为您恢复接听",
                            after=lambda: ForcedPauses(floor.desk.redis).clear(ext))  # fmt: skip


async def force_logout(floor: Floor, request: Request) -> Result:
    agent = floor.target(request)
    ext = agent.extension
    queues = sorted(floor.members(ext))
    if not queues:
        raise CommandFailed("logged_out", f"坐席 {ext} 未签入任何队列")
    _refuse_unless(agent, (S.AVAILABLE, S.PAUSED, S.WRAP_UP), "签出")  # not mid-call

    async def act() -> None:
        for queue in queues:
            await _remove(floor.ami, queue, ext)

    def done() -> bool:
        return not floor.members(ext) and floor.desk.presences[ext].state is S.LOGGED_OUT

    return await _carry_out(floor, request, "force_logout", agent, act, done, "已将您签出",
                            after=lambda: ForcedPauses(floor.desk.redis).clear(ext))  # fmt: skip


async def move_queue(floor: Floor, request: Request) -> Result:
    agent = floor.target(request)
    ext = agent.extension
    source, target = str(request.args["from_queue"]), str(request.args["to_queue"])
    _check_queue(floor, target)
    if source == target:
        raise CommandFailed("invalid_args", "args.to_queue: 与原队列相同")
    if source not in floor.members(ext):
        raise CommandFailed("not_member", f"坐席 {ext} 不在队列 {source}")
    if target in floor.members(ext):
        raise CommandFailed("already_member", f"坐席 {ext} 已在队列 {target}")
    penalty = dict(floor.serving[ext]).get(target, 0)

    async def act() -> None:  # join first: the agent is never in no queue (logged out)
        await _add(floor.ami, target, agent, penalty)
        await _remove(floor.ami, source, ext)

    def done() -> bool:
        members = floor.members(ext)
        return target in members and source not in members

    return await _carry_out(floor, request, "move_queue", agent, act, done,
                            f"已将您从队列 {source} 调整到 {target}", queue=target,
                            from_queue=source)  # fmt: skip


async def assign_queue(floor: Floor, request: Request) -> Result:
    """A member the queue rings after others (an overflow seat, or an agent whose penalty
    for the skill is above 0) becomes a first-choice member (penalty 0)."""
    agent = floor.target(request)
    ext, queue = agent.extension, str(request.args["queue"])
    _check_queue(floor, queue)
    if not dict(floor.serving[ext]).get(queue):  # not serving it, or first-choice already
        raise CommandFailed("not_overflow", f"坐席 {ext} 不是队列 {queue} 的支援席或后备坐席")
    member = queue in floor.members(ext)
    if member and await _penalty(floor.ami, queue, ext) == 0:
        raise CommandFailed("already_member", f"坐席 {ext} 已在队列 {queue} 即时接听")
    confirmed = False

    async def act() -> None:
        nonlocal confirmed
        if member:
            await floor.ami.action(
                "QueuePenalty", Queue=queue, Interface=interface_of(ext), Penalty="0"
            )
            confirmed = await _penalty(floor.ami, queue, ext) == 0  # no event follows it
        else:
            await _add(floor.ami, queue, agent, 0)

    def done() -> bool:
        return confirmed or (not member and queue in floor.members(ext))

    return await _carry_out(floor, request, "assign_queue", agent, act, done,
                            f"已安排您即时接听队列 {queue}",
                            queue=queue)  # fmt: skip


def _check_queue(floor: Floor, queue: str) -> None:
    if queue not in floor.desk.queues:
        raise CommandFailed("unknown_queue", f"没有队列 {queue}")


async def _add(ami: AmiLists, queue: str, agent: AgentPresence, penalty: int) -> None:
    """Join `queue`; an agent paused (or wrapping up) joins paused, with its reason, so the new
    queue does not ring it meanwhile nor its presence read as available."""
    interface = interface_of(agent.extension)
    paused = agent.state in (S.PAUSED, S.WRAP_UP) or agent.pending_pause is not None
    reason = agent.reason or agent.pending_pause
    await ami.action(
        "QueueAdd", Queue=queue, Interface=interface, MemberName=agent.name,
        StateInterface=interface, Penalty=str(penalty), Paused="true" if paused else "false",
    )  # fmt: skip
    if paused and reason:
        await ami.action("QueuePause", Interface=interface, Paused="true", Reason=reason)


async def _remove(ami: AmiLists, queue: str, extension: str) -> None:
    try:
        await ami.action("QueueRemove", Queue=queue, Interface=interface_of(extension))
    except AmiActionError as exc:
        if "Not there" not in str(exc):  # left already (its own logout meanwhile): fine
            raise


async def _penalty(ami: AmiLists, queue: str, extension: str) -> int | None:
    """The member's penalty in `queue` as Asterisk lists it now (None: not a member)."""
    interface = interface_of(extension)
    for item in await ami.action_list("QueueStatus", Queue=queue, Member=interface):
        if item.get("Event") == "QueueMember" and item.get("Location") == interface:
            return int(item.get("Penalty", "0") or 0)
    return None


async def _carry_out(
    floor: Floor,
    request: Request,
    action: str,
    agent: AgentPresence,
    act: Callable[[], Awaitable[None]],
    done: Callable[[], bool],
    what: str,
    after: Callable[[], Awaitable[None]] | None = None,
    **entry: str,
) -> Result:
    """On the trail, carried out, confirmed (then `after`), finished on the trail, notified;
    the notice is also kept as the agent's last (its snapshot shows it after a reload)."""
    reason = str(request.args["reason"])
    audit_id = await floor.audit.begin(FloorEntry(
        request.user_id, request.user_name, Role(request.role), agent.extension, action, reason,
        **entry,
    ))  # fmt: skip
    outcome = "error"
    try:
        await act()
        await _confirmed(done, floor.confirm_s)
        if after is not None:
            await after()
        outcome = "done"
    except CommandFailed as exc:
        outcome = exc.code
        raise
    except AmiActionError:
        outcome = "asterisk_refused"
        raise
    finally:
        await asyncio.shield(floor.audit.finish(audit_id, outcome))
    who = f"{ROLE_WORDS.get(request.role, request.role)} {request.user_name}"
    notice = FloorNotice(
        action=action, extension=agent.extension, by_user_id=request.user_id,
        by_name=request.user_name, by_role=request.role, queue=entry.get("queue"),
        reason=reason, text=f"{who} {what}（{reason}）", at=time.time(),
    ).model_dump(mode="json")  # fmt: skip
    out = Outbox()
    kept = json.dumps(notice, ensure_ascii=False)
    out.writes.append(lambda p: p.hset(FLOOR_NOTICES_KEY, agent.extension, kept))
    out.publish(agent_topic(agent.extension), notice)
    out.publish(user_topic(request.user_id), notice)
    floor.desk.writer.submit(out)
    return {"extension": agent.extension, "audit_id": audit_id, "notice": notice["text"]}


async def _confirmed(done: Callable[[], bool], within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while not done():
        if time.monotonic() > deadline:
            raise CommandFailed("not_confirmed", f"Asterisk 未在 {within_s:g} 秒内确认")
        await asyncio.sleep(POLL_S)


FloorVerb = Callable[[Floor, Request], Awaitable[Result]]
VERBS: dict[str, FloorVerb] = {
    "force_pause": force_pause,
    "force_unpause": force_unpause,
    "force_logout": force_logout,
    "move_queue": move_queue,
    "assign_queue": assign_queue,
}
