"""extensions.conf: the dialplan (inbound calls through the IVR into the queues, agents'
phones and transfers, 110/119/120 with their backup trunk, queue-position whispers)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from config.settings import Settings
from config.trunk_settings import Trunk, TrunkLegs
from telephony.call_control import Room
from telephony.config_sections import section, trunk_endpoint, trunk_legs
from telephony.dialplan import (
    AGI_ROUTE_CALLBACK,
    AGI_ROUTE_IVR,
    AGI_ROUTE_NOBODY,
    AGI_ROUTE_SURVEY,
    BRIDGE_PROFILE,
    CALLBACK_POSITION,
    CALLBACK_UNREACHED_PROMPT,
    CONTACT_UNREACHABLE,
    CONTEXT_AGENTS,
    CONTEXT_CALLBACK_DIAL,
    CONTEXT_CALLBACK_PLACE,
    CONTEXT_CONSULT,
    CONTEXT_EMERGENCY,
    CONTEXT_HOLD_MUSIC,
    CONTEXT_INBOUND,
    CONTEXT_OUTBOUND,
    CONTEXT_QUEUE_KEYS,
    CONTEXT_REQUEUE,
    CONTEXT_REVISIT,
    CONTEXT_ROOM_CALLER,
    CONTEXT_ROOM_CONSULT,
    CONTEXT_ROOM_PARTY,
    CONTEXT_SPY,
    CONTEXT_SURVEY,
    CONTEXT_TRUNK_IN,
    EVENT_TRUNK_FAILED,
    REQUEUE_PRIORITY,
    TECH,
    USER_CALLER,
    USER_CONSULT,
    USER_PARTY,
    VAR_CALLBACK_REQUESTED,
    VAR_CALLBACK_RESULT,
    VAR_EMERGENCY,
    VAR_QUEUE,
    VAR_QUEUED_AT,
    VAR_RECORDING,
    VAR_REFUSED,
    VAR_REVISIT_RECORDING,
    VAR_SPY_CALL,
    VAR_SPY_RECORDING,
    VAR_SPYEE,
    VAR_TRUNKS_SKIPPED,
    interface_of,
)
from telephony.position_dialplan import position_contexts
from telephony.spy import ROOM_BARGE, SPY_OPTIONS, SpyMode

if TYPE_CHECKING:
    from telephony.asterisk_config import Layout


def _recording(settings: Settings, layout: Layout) -> tuple[str, ...]:
    """MixMonitor on the caller's channel (b: while bridged, so the whole conversation and
    no IVR), its name in the call's variable; nothing at all when recording is off (no file
    is then expected for the call)."""
    if not settings.recordings.enabled:
        return ()
    return (
        f" same => n,Set({VAR_RECORDING}=${{STRFTIME(${{EPOCH}},,%Y%m%d)}}/${{UNIQUEID}}.wav)",
        f" same => n,MixMonitor({layout.monitor}/${{{VAR_RECORDING}}},b)",
    )


def extensions_conf(settings: Settings, layout: Layout) -> str:
    agi = _agi(settings, AGI_ROUTE_IVR)
    inbound = section(
        "general", "static = yes", "writeprotect = yes", "clearglobalvars = yes"
    ) + section(
        CONTEXT_INBOUND,
        f"exten => {settings.centre.inbound_number},1,NoOp(hotline inbound call)",
        " same => n,Answer()",
        # The operator queue unless the IVR says otherwise (also if the IVR is down).
        f" same => n,Set({VAR_QUEUE}={settings.ivr.operator_queue})",
        f" same => n,AGI({agi})",
        # a caller the IVR refused (it played why) is hung up, never queued
        f' same => n,ExecIf($["${{{VAR_REFUSED}}}" != ""]?Hangup())',
        *_recording(settings, layout),
        # key 9: the emergency line the IVR named, with its failover, never queued
        f' same => n,GotoIf($["${{{VAR_EMERGENCY}}}" != ""]'
        f"?{CONTEXT_EMERGENCY},${{{VAR_EMERGENCY}}},1)",
        # nobody logged in (every member logged out or unavailable), or no such queue (no duty
        # group): not queued for nothing
        f" same => n,GotoIf($[0${{QUEUE_MEMBER(${{{VAR_QUEUE}}},logged)}} = 0]?nobody)",
        " same => n,Set(QUEUE_MAX_PENALTY=0)",
        *((f" same => n,Set({VAR_QUEUED_AT}=${{EPOCH}})",) if settings.outbound else ()),
        *_queue(settings),
        f" same => n(nobody),AGI({_agi(settings, AGI_ROUTE_NOBODY)})",
        " same => n,Hangup()",
        # further numbers of the centre (a second carrier's) take the same way in
        *(
            f"exten => {number},1,Goto({CONTEXT_INBOUND},{settings.centre.inbound_number},1)"
            for number in settings.centre.more_inbound_numbers
        ),
        "exten => _X.,1,Hangup(1)",
        "exten => i,1,Hangup(1)",
    )
    agents = section(
        CONTEXT_AGENTS,
        *(
            f"exten => {a.extension},1,Dial({interface_of(a.extension)},30,t)"
            for a in settings.agents
        ),
        *(
            f"exten => {t.number},1,Goto({CONTEXT_EMERGENCY},{t.number},1)"
            for t in settings.trunks.values()
        ),
    )
    emergency = section(
        CONTEXT_EMERGENCY,
        *(line for t in settings.trunks.values() for line in _failover(t, "Congestion(5)")),
    )
    trunk_in = section(CONTEXT_TRUNK_IN, "exten => _X.,1,Hangup(1)")
    # A controlled call's caller left with nobody (exten = its Linkedid): back into the queue
    # it waited in (its variable), ahead of the others; the recording goes on (its channel's).
    requeue = section(
        CONTEXT_REQUEUE,
        f"exten => _X.,1,Set(QUEUE_PRIO={REQUEUE_PRIORITY})",
        " same => n,Set(QUEUE_MAX_PENALTY=0)",
        *_queue(settings),
        f" same => n(nobody),AGI({_agi(settings, AGI_ROUTE_NOBODY)})",
        " same => n,Hangup()",
    )
    survey = section(
        CONTEXT_SURVEY,
        f"exten => s,1,AGI({_agi(settings, AGI_ROUTE_SURVEY)})",
        " same => n,Hangup()",
    )
    return (
        inbound + agents + emergency + trunk_in + requeue + survey + _outbound_context(settings)
        + _revisit_context(settings, layout) + _callback_contexts(settings, layout)
        + _control_contexts(settings) + position_contexts(settings, layout)
        + _spy_context(settings, layout)
    )  # fmt: skip


def _agi(settings: Settings, route: str) -> str:
    return f"agi://{settings.agi.host}:{settings.agi.port}/{route}"


def _queue(settings: Settings, position: str = "", wait: str = "") -> tuple[str, ...]:
    """The caller into its queue. t: the agent may transfer; c: the caller stays when the agent
    hangs up (QUEUESTATUS CONTINUE), for the survey; a caller who hung up, a blind transfer
    (the caller goes where it was sent) or a Redirect into call control's rooms never gets
    there (`ivr.survey` off: no c, no survey). The last argument bounds the caller's wait; a
    caller who waited to the end, or whose last agent left meanwhile, goes to the context's
    `nobody` label (a message or a callback, not a hang-up). `position`: where it joins;
    `wait`: its bound, if not the longest wait."""
    survey = settings.ivr.survey
    at = f",,,,,{position}" if position else ""
    bound = wait or str(_max_wait(settings))
    return (
        f" same => n,Queue(${{{VAR_QUEUE}}},{'tc' if survey else 't'},,,{bound}{at})",
        ' same => n,GotoIf($["${QUEUESTATUS}" = "TIMEOUT" | "${QUEUESTATUS}" = "LEAVEEMPTY"]'
        "?nobody)",
        *(
            (f' same => n,GotoIf($["${{QUEUESTATUS}}" = "CONTINUE"]?{CONTEXT_SURVEY},s,1)',)
            if survey
            else ()
        ),
        " same => n,Hangup()",
    )


def _failover(trunk: Trunk, when_all_failed: str) -> list[str]:
    """An emergency line's extension: its legs in turn (`_legs_in_turn`). When none
    answered, a UserEvent the backend reads (with the legs skipped), then `when_all_failed`."""
    return _legs_in_turn(
        trunk, trunk.number, f"emergency {trunk.number}", interface_of, (),
        (f"UserEvent({EVENT_TRUNK_FAILED},Number: {trunk.number},"
         f"Skipped: ${{{VAR_TRUNKS_SKIPPED}}})", when_all_failed),
    )  # fmt: skip


def _callback_contexts(settings: Settings, layout: Layout) -> str:
    """Callback keeping the place (only with an outbound trunk). The key leaves the queue
    into CONTEXT_QUEUE_KEYS: before `offer_after_s` (its first join's ${EPOCH}), or refused
    by the flow, the caller goes back in at its `${QUEUEPOSITION}`. The placeholder's ;2
    half waits unanswered in the queue at the caller's place (CALLBACK_POSITION); an agent
    taking it answers its ;1 half, which goes on in CONTEXT_CALLBACK_DIAL: recorded, the
    citizen dialled (the centre's caller ID, Dial's I); not reached, the agent hears so and
    the dial's status reaches the backend."""
    trunk = settings.outbound
    if trunk is None:
        return ""
    cb = settings.callback
    flow = _agi(settings, AGI_ROUTE_CALLBACK)
    keys = section(
        CONTEXT_QUEUE_KEYS,
        # its first join unknown (the variable missing): too early, never offered at once
        f'exten => {cb.key},1,GotoIf($["${{{VAR_QUEUED_AT}}}" = "" | '
        f"${{EPOCH}} - 0${{{VAR_QUEUED_AT}}} < {cb.offer_after_s}]?back)",
        f" same => n,AGI({flow},${{{VAR_QUEUE}}},${{QUEUEPOSITION}},${{{VAR_QUEUED_AT}}})",
        f' same => n,GotoIf($["${{{VAR_CALLBACK_REQUESTED}}}" != ""]?done)',
        " same => n(back),NoOp(back at ${QUEUEPOSITION})",
        *_wait_left(settings),
        *_queue(settings, "${QUEUEPOSITION}", f"${{{WAIT_LEFT}}}"),
        f" same => n(nobody),AGI({_agi(settings, AGI_ROUTE_NOBODY)})",
        " same => n,Hangup()",
        " same => n(done),Hangup()",
    )
    place = section(
        CONTEXT_CALLBACK_PLACE,
        "exten => _X!,1,Set(QUEUE_MAX_PENALTY=0)",  # the request id: one digit or more
        f" same => n,Queue(${{{VAR_QUEUE}}},t,,,{_max_wait(settings)},,,,,"
        f"${{{CALLBACK_POSITION}}})",
        " same => n,Hangup()",
    )
    recording = (line.removeprefix(" same => n,") for line in _recording(settings, layout))
    before = (*_centre_caller_id(settings), *recording)
    unreached = (f"Set({VAR_CALLBACK_RESULT}=${{DIALSTATUS}})",
                 f"Playback({layout.prompts}/{CALLBACK_UNREACHED_PROMPT})", "Hangup()")  # fmt: skip
    # U: on the citizen's answer, its leg runs the context's `s` (the same call: the VarSet
    # of the result reaches the backend before the talk)
    answered = f"U({CONTEXT_CALLBACK_DIAL})"
    dial = _legs_in_turn(
        trunk, "_X.", "callback keeping the place",
        lambda endpoint: f"{TECH}/${{EXTEN}}@{endpoint}", before, unreached, options=f"I{answered}",
        citizen=True,
    )  # fmt: skip
    return keys + place + section(
        CONTEXT_CALLBACK_DIAL, *dial,
        f"exten => s,1,Set({VAR_CALLBACK_RESULT}=ANSWER)", " same => n,Return()",
    )  # fmt: skip


def _outbound_context(settings: Settings) -> str:
    """The centre calling a citizen (exten = the number): the outbound trunk's legs in turn,
    the number as the user of each leg's contact, the centre's number as the caller ID.
    Nothing is logged of the number: no NoOp of it, no UserEvent (the originator learns the
    outcome from the call itself); Dial's I keeps the citizen's number off the agent's phone
    (no connected-line update: a confidential caller's number is dialled, never shown)."""
    trunk = settings.outbound
    if trunk is None:
        return ""
    lines = _legs_in_turn(
        trunk, "_X.", "outbound call", lambda endpoint: f"{TECH}/${{EXTEN}}@{endpoint}",
        _centre_caller_id(settings), ("Hangup()",), options="I", citizen=True,
    )  # fmt: skip
    return section(CONTEXT_OUTBOUND, *lines)


def _centre_caller_id(settings: Settings) -> tuple[str, ...]:
    """The centre's number alone, as the citizen called sees it: no name (the agent's
    phone's "回访 …" is not the citizen's)."""
    trunk = settings.outbound
    number = (trunk.caller_id if trunk else "") or settings.centre.inbound_number
    return ("Set(CALLERID(name)=)", f"Set(CALLERID(num)={number})")


def _revisit_context(settings: Settings, layout: Layout) -> str:
    """A callback from the desk: the agent's phone answered (it rings first), its channel is
    recorded while bridged with the citizen (b: no ringing kept), in the file the backend
    named, then dials the citizen through the outbound context."""
    if settings.outbound is None:
        return ""
    record = (
        (f" same => n,MixMonitor({layout.monitor}/${{{VAR_REVISIT_RECORDING}}},b)",)
        if settings.recordings.enabled
        else ()
    )
    return section(
        CONTEXT_REVISIT, "exten => _X.,1,NoOp(callback from the desk)", *record,
        f" same => n,Goto({CONTEXT_OUTBOUND},${{EXTEN}},1)",
    )  # fmt: skip


def _legs_in_turn(
    trunk: TrunkLegs, exten: str, note: str, dial: Callable[[str], str],
    before: Sequence[str], when_all_failed: Sequence[str], options: str = "",
    citizen: bool = False,
) -> list[str]:  # fmt: skip
    """`exten` dialling the trunk's primary leg for `dial_timeout_s`, then its backup; a leg
    whose contact qualify found unreachable is skipped (not dialled, counted), so a call
    does not wait out a dead primary's timeout. `dial` names what to dial on a leg's
    endpoint (with Dial's `options`); `before` runs first, `when_all_failed` when no leg
    answered. Dialling a `citizen`, only a leg that could not carry the call falls over
    (CHANUNAVAIL, CONGESTION, or no answer without any ringing: a dead leg qualify did not
    catch): the citizen's NOANSWER after ringing, or BUSY, is their answer, never rung again."""
    legs = [role for role, _hostport in trunk_legs(trunk)]
    flags = f",{options}" if options else ""
    lines = [f"exten => {exten},1,NoOp({note})", *(f" same => n,{app}" for app in before),
             f" same => n,Set({VAR_TRUNKS_SKIPPED}=0)"]  # fmt: skip
    for role, after in zip(legs, [*legs[1:], "failed"], strict=True):
        endpoint = trunk_endpoint(trunk, role)
        state = f"${{PJSIP_CONTACT(${{PJSIP_AOR({endpoint},contact)}},status)}}"
        lines += [
            f' same => n({role}),GotoIf($["{state}" = "{CONTACT_UNREACHABLE}"]?{role}-down)',
            f" same => n,Dial({dial(endpoint)},{trunk.dial_timeout_s}{flags})",
            *_after_dial(after, citizen),
            f" same => n({role}-down),Set({VAR_TRUNKS_SKIPPED}=$[${{{VAR_TRUNKS_SKIPPED}}} + 1])",
        ]
    first, *rest = when_all_failed
    return [*lines, f" same => n(failed),{first}", *(f" same => n,{app}" for app in rest),
            " same => n(done),Hangup()"]  # fmt: skip


def _after_dial(after: str, citizen: bool) -> list[str]:
    answered = '"${DIALSTATUS}" = "ANSWER"'
    if not citizen:
        return [f" same => n,GotoIf($[{answered}]?done:{after})"]
    unreachable = ('"${DIALSTATUS}" = "CHANUNAVAIL" | "${DIALSTATUS}" = "CONGESTION"'
                   ' | ("${DIALSTATUS}" = "NOANSWER" & 0${RINGTIME_MS} = 0)')  # fmt: skip
    return [f" same => n,GotoIf($[{answered}]?done)",
            f" same => n,GotoIf($[{unreachable}]?{after}:failed)"]  # fmt: skip


def _control_contexts(settings: Settings) -> str:
    """Call control: the rooms (exten = the call's Linkedid; main room for the caller, who
    is marked and hears hold music alone, and for the others, who leave when the caller
    does; the consult room), and the dialling of a consulted party on its Local channel:
    agents and colleagues for 30 s, emergency lines with the blind transfer's failover."""

    def room(context: str, name: str, user: str) -> str:
        return section(
            context,
            f"exten => _X.,1,ConfBridge({name},{BRIDGE_PROFILE},{user})",
            " same => n,Hangup()",
        )

    phones = [a.extension for a in settings.agents] + [c.extension for c in settings.colleagues]
    return (
        room(CONTEXT_ROOM_CALLER, "m${EXTEN}", USER_CALLER)
        + room(CONTEXT_ROOM_PARTY, "m${EXTEN}", USER_PARTY)
        + room(CONTEXT_ROOM_CONSULT, "c${EXTEN}", USER_CONSULT)
        + section(CONTEXT_HOLD_MUSIC, "exten => _X.,1,Answer()", " same => n,MusicOnHold(default)")
        + section(
            CONTEXT_CONSULT,
            *(f"exten => {ext},1,Dial({interface_of(ext)},30)" for ext in phones),
            *(line for t in settings.trunks.values() for line in _failover(t, "Hangup()")),
        )
    )


def _spy_context(settings: Settings, layout: Layout) -> str:
    """A supervisor's phone, once answered, spies in the mode of the extension; the spy
    service Redirects it to another mode's extension (no new ringing). The first whisper or
    barge starts the recording of the spy channel (the supervisor's voice and what they
    hear), one file per session named by its Uniqueid; the backend learns it by VarSet."""
    lines = []
    rooms = {
        ROOM_BARGE[Room.MAIN]: f"ConfBridge(m${{{VAR_SPY_CALL}}},{BRIDGE_PROFILE},{USER_PARTY})",
        ROOM_BARGE[Room.CONSULT]: f"ConfBridge(c${{{VAR_SPY_CALL}}},{BRIDGE_PROFILE},"
        f"{USER_CONSULT})",
    }
    modes = {mode.value: f"ChanSpy(${{{VAR_SPYEE}}},{options})" for mode, options in
             SPY_OPTIONS.items()}  # fmt: skip
    for exten, spy in {**modes, **rooms}.items():
        if exten != SpyMode.LISTEN and settings.recordings.enabled:
            name = f"${{{VAR_SPY_RECORDING}}}"
            lines += [
                f'exten => {exten},1,GotoIf($["{name}" != ""]?spy)',
                f" same => n,Set({VAR_SPY_RECORDING}=${{STRFTIME(${{EPOCH}},,%Y%m%d)}}/"
                "${UNIQUEID}.wav)",
                f" same => n,MixMonitor({layout.monitor}/{name})",
                f" same => n(spy),{spy}",
            ]
        else:
            lines.append(f"exten => {exten},1,{spy}")
        lines.append(" same => n,Hangup()")
    return section(CONTEXT_SPY, *lines)


WAIT_LEFT = "HOTLINE_WAIT_LEFT"


def _wait_left(settings: Settings) -> tuple[str, ...]:
    """A caller back in its queue after the key waits what was left of its bound, not the
    whole bound again (its first join unknown: the whole bound; at least 1 s)."""
    longest, since = _max_wait(settings), f"${{{VAR_QUEUED_AT}}}"
    return (
        f" same => n,Set({WAIT_LEFT}=$[{longest} - ${{EPOCH}} + 0{since}])",
        f' same => n,ExecIf($["{since}" = ""]?Set({WAIT_LEFT}={longest}))',
        f" same => n,ExecIf($[${{{WAIT_LEFT}}} < 1]?Set({WAIT_LEFT}=1))",
    )


def _max_wait(settings: Settings) -> int:
    return max((q.max_wait_s for q in settings.queues), default=3600)
