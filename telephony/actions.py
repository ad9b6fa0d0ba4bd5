"""AMI actions (queue members, hang-up, transfer, whisper, recording mute): the only place
that knows their AMI spelling."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from typing import TYPE_CHECKING, Protocol

from telephony.ami_connection import AmiActionError
from telephony.dialplan import (
    CALLBACK_POSITION,
    CONTEXT_CALLBACK_DIAL,
    CONTEXT_REVISIT,
    REQUEUE_PRIORITY,
    VAR_QUEUE,
    VAR_QUEUED_AT,
    VAR_REVISIT_RECORDING,
    interface_of,
    placeholder_channel,
)

if TYPE_CHECKING:
    from telephony.control_resync import AmiLists

log = logging.getLogger(__name__)

BRIDGE_SETTLE_S = 2.0
ACTION_S = 10.0
RING_S = 30.0  # a call out: the agent's (or handler's) phone, then the citizen's, ringing


class AmiActions(Protocol):
    async def action(self, name: str, timeout: float = ..., **headers: str) -> dict[str, str]: ...


async def add_queue_member(
    ami: AmiActions,
    queue: str,
    extension: str,
    name: str,
    penalty: int = 0,
    paused_reason: str | None = None,
) -> bool:
    """Log an agent into a queue (paused with `paused_reason` if given: it joins paused, never
    rung before the reason is set); False if it was already a member (nothing to do)."""
    interface = interface_of(extension)
    headers = {"Queue": queue, "Interface": interface, "MemberName": name,
               "StateInterface": interface, "Penalty": str(penalty)}  # fmt: skip
    if paused_reason is not None:
        headers["Paused"] = "true"
    try:
        await ami.action("QueueAdd", ACTION_S, **headers)
    except AmiActionError as exc:
        if "Already there" in str(exc):
            return False
        raise
    if paused_reason is not None:
        await ami.action(
            "QueuePause", Queue=queue, Interface=interface, Paused="true", Reason=paused_reason
        )
    log.info("agent %s (%s) logged into queue %s, penalty %d", extension, name, queue, penalty)
    return True


async def paused_reason(ami: AmiLists, extension: str) -> str | None:
    """The reason an agent is paused with in a queue it is in (None: not paused anywhere)."""
    items = await ami.action_list("QueueStatus", ACTION_S, Member=interface_of(extension))
    for item in items:
        if item.get("Event") == "QueueMember" and item.get("Paused") == "1":
            return item.get("PausedReason", "")
    return None


async def remove_queue_member(ami: AmiActions, queue: str, extension: str) -> bool:
    """Log an agent out of a queue; False if it was not a member."""
    try:
        await ami.action("QueueRemove", Queue=queue, Interface=interface_of(extension))
    except AmiActionError as exc:
        if "Not there" in str(exc):
            return False
        raise
    return True


async def set_penalty(ami: AmiActions, queue: str, extension: str, penalty: int) -> None:
    """A member's penalty changed in place (its pause and its call kept)."""
    await ami.action(
        "QueuePenalty", Queue=queue, Interface=interface_of(extension), Penalty=str(penalty)
    )


async def reload_queues(
    ami: AmiActions, parameters: bool, rules: bool, members: bool = False
) -> None:
    """Re-read queues.conf's parameters (strategy, timeouts, wrap-up) and/or queuerules.conf,
    and with `members` its static members (only the duty queue has any); the agents (dynamic
    members: QueueAdd) are never touched, and queued callers stay queued."""
    await ami.action(
        "QueueReload", ACTION_S, Members=_yes(members), Parameters=_yes(parameters),
        Rules=_yes(rules),
    )  # fmt: skip


async def queue_params(ami: AmiLists) -> dict[str, dict[str, str]]:
    """Each queue's parameters as app_queue holds them now (QueueStatus's QueueParams)."""
    items = await ami.action_list("QueueStatus", ACTION_S)
    return {i["Queue"]: i for i in items if i.get("Event") == "QueueParams"}


async def dialplan_of(ami: AmiLists, context: str) -> list[dict[str, str]]:
    """The priorities of `context` as pbx_config loaded them ([] for no such context)."""
    try:
        items = await ami.action_list("ShowDialPlan", ACTION_S, Context=context)
    except AmiActionError as exc:
        if "Did not find context" in str(exc):
            return []
        raise
    return [i for i in items if i.get("Event") == "ListDialplan" and i.get("Context") == context]


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


async def pause_member(ami: AmiActions, extension: str, paused: bool, reason: str = "") -> None:
    """Pause or resume an agent in every queue (Asterisk stops or starts ringing them)."""
    interface = interface_of(extension)
    if paused:
        await ami.action("QueuePause", Interface=interface, Paused="true", Reason=reason)
    else:
        await ami.action("QueuePause", Interface=interface, Paused="false")


async def hang_up(ami: AmiActions, channel: str) -> None:
    await ami.action("Hangup", Channel=channel, Cause="16")


async def mute_recording(ami: AmiActions, channel: str, muted: bool) -> bool:
    """Mute (or unmute) both directions of the MixMonitor recording on `channel` (the
    caller's): while muted Asterisk writes digital silence, so the file keeps the call's
    length. False if the channel has no recording to mute (Asterisk: "Cannot set mute flag")."""
    state = "1" if muted else "0"
    try:
        await ami.action("MixMonitorMute", Channel=channel, Direction="both", State=state)
    except AmiActionError as exc:
        if "Cannot set mute flag" in str(exc):
            return False
        raise
    return True


async def blind_transfer(
    ami: AmiActions, channel: str, context: str, exten: str, settle_s: float = BRIDGE_SETTLE_S
) -> None:
    """Send the party bridged with `channel` (the caller) to `exten`; the agent leg drops.

    app_queue reports AgentConnect (the call is talking) a moment before the agent's leg
    enters the bridge, and until it has, Asterisk answers "Transfer invalid" and does nothing:
    that answer is retried every 50 ms for `settle_s`, then raised (the leg is not bridged).
    """
    deadline = asyncio.get_running_loop().time() + settle_s
    while True:
        try:
            await ami.action("BlindTransfer", Channel=channel, Context=context, Exten=exten)
            return
        except AmiActionError as exc:
            if "Transfer invalid" not in str(exc) or asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(0.05)


async def whisper_into(
    ami: AmiActions,
    uniqueid: str,
    context: str,
    exten: str,
    channel_id: str,
    caller_id: str,
    variables: str = "",
) -> None:
    """Play `exten`@`context` into the channel `uniqueid` without its bridge partner hearing
    it or holding anything up: a Local channel whose one half runs the extension and whose
    other half ChanSpies on the channel (u: by Uniqueid, a name prefix could match another
    call; q: no beep; W: private whisper, the spy does not listen; E/S: end with the channel).
    Its halves are `channel_id` and `channel_id`-2, so it can be hung up by name;
    `variables` ("NAME=value,NAME=value") are set on both (a Local channel copies them)."""
    extra = {"Variable": variables} if variables else {}
    await ami.action(
        "Originate",
        ACTION_S,
        Channel=f"Local/{exten}@{context}/n",
        Application="ChanSpy",
        Data=f"{uniqueid},quWES",
        ChannelId=channel_id,
        OtherChannelId=f"{channel_id}-2",
        CallerID=caller_id,
        Async="true",
        **extra,
    )


async def redirect(
    ami: AmiActions,
    channel: str,
    context: str,
    exten: str,
    extra: tuple[str, str, str] | None = None,
) -> None:
    """Send `channel` (and `extra`: another channel, its context and extension, in the same
    action, so both leave their bridge at once) to the first priority of `exten`@`context`."""
    headers = {"Channel": channel, "Context": context, "Exten": exten, "Priority": "1"}
    if extra is not None:
        headers |= {
            "ExtraChannel": extra[0], "ExtraContext": extra[1], "ExtraExten": extra[2],
            "ExtraPriority": "1",
        }  # fmt: skip
    await ami.action("Redirect", ACTION_S, **headers)


async def originate_into_room(
    ami: AmiActions,
    number: str,
    dial_context: str,
    room_context: str,
    room_exten: str,
    channel_id: str,
    other_id: str,
    caller_id: str,
    timeout_s: float,
) -> None:
    """Dial `number` through `dial_context` on a Local channel (no optimisation: /n) whose
    half `channel_id` enters the room `room_exten`@`room_context` once the far end answers;
    `other_id` is the half that runs the Dial (its DialBegin/DialEnd, its UserEvent)."""
    await _originate_into(
        ami, f"Local/{number}@{dial_context}/n", room_context, room_exten, timeout_s,
        ChannelId=channel_id, OtherChannelId=other_id, CallerID=caller_id,
    )  # fmt: skip


def own_uniqueid(epoch_s: float) -> str:
    """A Uniqueid for a channel the backend originates, shaped like Asterisk's own
    (epoch.sequence, as recording names are) with a sequence far above Asterisk's counter."""
    return f"{int(epoch_s)}.{10**12 + secrets.randbelow(10**12)}"


OUTBOUND_NUMBER = re.compile(r"[0-9]{3,20}")  # a citizen's number, as the trunk dials it


async def call_out(
    ami: AmiActions,
    number: str,
    extension: str,
    channel_id: str,
    timeout_s: float,
    caller_id: str,
    recording: str = "",
) -> None:
    """Call a citizen back (回访): the agent's phone `extension` rings first (showing
    `caller_id`, never the number), and once answered within `timeout_s` its channel, whose
    Uniqueid is `channel_id`, dials `number` through the outbound trunk (`CONTEXT_REVISIT`:
    primary, then backup, the centre's caller ID), recorded in `recording` (relative to the
    monitor directory; "" for none) while the two talk. The agent never waits on a ringing
    citizen it was not ready for. The number is confidential: never logged, nor put in an
    error."""
    if not OUTBOUND_NUMBER.fullmatch(number):
        raise ValueError("an outbound number is 3 to 20 digits")
    fields = {"ChannelId": channel_id, "CallerID": caller_id}
    if recording:
        fields["Variable"] = f"{VAR_REVISIT_RECORDING}={recording}"
    await _originate_into(
        ami, interface_of(extension), CONTEXT_REVISIT, number, timeout_s, **fields
    )
    log.info("outbound call %s originated from agent %s", channel_id, extension)


async def mute_in_room(ami: AmiActions, room: str, channel: str, muted: bool) -> None:
    """Mute (or unmute) what `channel` says into the ConfBridge `room`."""
    await ami.action(
        "ConfbridgeMute" if muted else "ConfbridgeUnmute", Conference=room, Channel=channel
    )


async def wait_bridged(ami: AmiActions, channel: str, settle_s: float = BRIDGE_SETTLE_S) -> bool:
    """Whether `channel` is in a two-party bridge (its BRIDGEPEER set) within `settle_s`:
    app_queue reports AgentConnect a moment before the agent's leg enters the bridge, and a
    Redirect of both legs then moves the caller only ("Secondary redirect failed")."""
    deadline = asyncio.get_running_loop().time() + settle_s
    while True:
        answer = await ami.action("Getvar", ACTION_S, Channel=channel, Variable="BRIDGEPEER")
        if answer.get("Value", "").strip():
            return True
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)


async def place_callback(
    ami: AmiActions, request_id: int, number: str, queue: str, position: int, first_queued_at: int,
    front: bool, channel_id: str, timeout_s: float,
) -> None:  # fmt: skip
    """Place callback request `request_id`'s placeholder in `queue` at `position` (`front`:
    a retry or a re-placement, with QUEUE_PRIO ahead of every usual caller, its first join
    shown as 0 so the tracker orders it first too). Its ;1 half, Uniqueid `channel_id`,
    shows `number` as its caller; once an agent answers it dials `number`
    (`CONTEXT_CALLBACK_DIAL`). Asterisk drops it after
    `timeout_s` unanswered. The number is never logged."""
    if not OUTBOUND_NUMBER.fullmatch(number):
        raise ValueError("an outbound number is 3 to 20 digits")
    since = 0 if front else first_queued_at
    variables = [f"{VAR_QUEUE}={queue}", f"{CALLBACK_POSITION}={position}",
                 f"{VAR_QUEUED_AT}={since}"]  # fmt: skip
    if front:
        variables.append(f"QUEUE_PRIO={REQUEUE_PRIORITY}")
    await _originate_into(
        ami, placeholder_channel(request_id), CONTEXT_CALLBACK_DIAL, number, timeout_s,
        ChannelId=channel_id, CallerID=number, Variable=",".join(variables),
    )  # fmt: skip
    log.info("callback %d placed in %s at %d as %s", request_id, queue, position, channel_id)


async def originate_spy(
    ami: AmiActions,
    phone: str,
    context: str,
    exten: str,
    variables: str,
    channel_id: str,
    caller_id: str,
    ring_s: float,
) -> None:
    """Ring the supervisor's `phone`; once answered it runs `exten`@`context` (ChanSpy on the
    call, with `variables`: "NAME=value,NAME=value"). Its channel's Uniqueid is
    `channel_id`."""
    await _originate_into(
        ami, interface_of(phone), context, exten, ring_s,
        Variable=variables, ChannelId=channel_id, CallerID=caller_id,
    )  # fmt: skip


async def _originate_into(
    ami: AmiActions, channel: str, context: str, exten: str, timeout_s: float, **fields: str
) -> None:
    """Ring `channel` (Async: Asterisk answers at once, the call's events tell the rest);
    answered within `timeout_s`, it runs `exten`@`context`."""
    await ami.action(
        "Originate", ACTION_S, Channel=channel, Context=context, Exten=exten, Priority="1",
        Timeout=str(int(timeout_s * 1000)), Async="true", **fields,
    )  # fmt: skip
