"""The supervisors' listen / whisper / barge verbs over `telephony/spy_service.py`: the phone
rung is the one the supervisor's user is bound to (the ticket's extension, sealed by the
gateway), never one named in the args. `spy_start` answers once Asterisk accepted the
Originate (phase calling: the supervisor's other commands are not held while the phone
rings; the join or the failure follows as `spy_session` messages); a switch and a leave
answer with Asterisk's confirmation (ChanSpyStart, the hang-up). A refusal is a
`CommandFailed` with the reason in Chinese."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from agent_gateway.desk.commands.verb import CommandFailed, Request, Result
from telephony.spy import SpyCode, SpyFailed, SpySession
from telephony.spy_service import SpyService

log = logging.getLogger(__name__)

WHY = {
    SpyCode.NOT_A_SUPERVISOR_PHONE: "您的账号绑定的不是班长话机",
    SpyCode.NO_CALL: "没有这个通话",
    SpyCode.CALL_ENDED: "通话已结束",
    SpyCode.NOT_TALKING: "通话尚未接通坐席",
    SpyCode.NO_CHANNEL: "该通话的线路已不存在",
    SpyCode.OWN_CALL: "不能监听自己参与的通话",
    SpyCode.SPY_CHANNEL: "不能监听班长的监听线路",
    SpyCode.ALREADY_SPYING: "您已在监听一个通话，请先退出",
    SpyCode.NOT_SPYING: "您当前没有在监听",
    SpyCode.NOT_NOW: "话机尚未接入通话，请稍候",
    SpyCode.NO_ANSWER: "您的话机未应答",
    SpyCode.NOT_CONFIRMED: "交换机未确认，请重试",
}

SpyVerb = Callable[[SpyService | None, Request], Awaitable[Result]]


def _phone(spy: SpyService | None, request: Request) -> tuple[SpyService, str]:
    if spy is None:
        raise CommandFailed("unavailable", "监听功能未启用")
    if not request.extension:
        raise CommandFailed("no_phone", "您的账号未绑定班长话机（hotline user bind）")
    return spy, request.extension


def _refused(exc: SpyFailed) -> CommandFailed:
    log.warning("spy refused: %s", exc)  # the code and the reason in English, for the log
    return CommandFailed(exc.code.value, WHY.get(exc.code, exc.message))


def session_result(s: SpySession) -> Result:
    return {
        "linkedid": s.linkedid, "mode": s.mode.value, "phase": s.phase.value,
        "agent": s.agent, "phone": s.phone, "joined_at": s.joined_at, "ended_at": s.ended_at,
        "duration_s": s.duration_s, "modes": [c.mode.value for c in s.changes],
        "end_code": s.end_code,
    }  # fmt: skip


async def spy_start(spy: SpyService | None, request: Request) -> Result:
    service, phone = _phone(spy, request)
    args = request.args
    try:
        session = await service.start(
            phone, str(args["linkedid"]), str(args["mode"]), requested_by=request.user_id
        )
    except SpyFailed as exc:
        raise _refused(exc) from exc
    return session_result(session)


async def spy_mode(spy: SpyService | None, request: Request) -> Result:
    service, phone = _phone(spy, request)
    try:
        return session_result(await service.switch(phone, str(request.args["mode"])))
    except SpyFailed as exc:
        raise _refused(exc) from exc


async def spy_leave(spy: SpyService | None, request: Request) -> Result:
    service, phone = _phone(spy, request)
    try:
        return session_result(await service.leave(phone))
    except SpyFailed as exc:
        raise _refused(exc) from exc


VERBS: dict[str, SpyVerb] = {"spy_start": spy_start, "spy_mode": spy_mode, "spy_leave": spy_leave}
