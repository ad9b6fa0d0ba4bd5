"""The handling unit's calls to the citizen through the centre ("2+1", rules §5): the first
contact after receiving the order and the reply with the result, placed like the centre's
call back (回访): the handler's own phone (the department phone the user is bound to) rings
first, then the citizen through the outbound trunk, recorded and linked to the order. The
handler reports the result: reached is the order's contact or reply step with the call on it,
otherwise an attempt that moves nothing (`crm.usecases.revisit`, purpose first_contact or
reply). Only the lead unit's handlers may (the lifecycle's decision; an order another unit
cannot see is 404 as everywhere). The citizen's number goes to the dialler only: never into
an answer, the log or the trail. A contact made by other means is still logged with the
order's `log_contact` / `reply` transitions.

The wiring root passes the `Dialler` (over AMI), so the CRM knows nothing of Asterisk.
"""

import logging
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Annotated, Literal, Protocol

from aiohttp import web
from pydantic import Field

from crm.api.call_schemas import LINKEDID_PATTERN
from crm.api.context import Ctx
from crm.api.endpoint import Endpoint, json
from crm.api.schemas import Note, Out
from crm.domain.enums import Role
from crm.domain.revisit import RULES, UNIT_PURPOSES, Purpose
from crm.errors import Conflict, NotFound
from crm.intake import Strict
from crm.repo import directory
from crm.usecases import revisit as uc
from crm.usecases import transition

log = logging.getLogger(__name__)

ORDER_CALLS = "/api/orders/{order_id:\\d+}/unit-calls"
CALL_RESULT = ORDER_CALLS + "/{call_id:" + LINKEDID_PATTERN + "}/result"


class DiallerLine(Protocol):
    """A session with Asterisk, open before the order is locked (only its actions run while
    the lock is held)."""

    async def call_out(
        self, number: str, extension: str, call_id: str, caller_id: str, recording: str
    ) -> None:
        """Place a call: `extension`'s phone first (showing `caller_id`), then `number`
        through the outbound trunk, recorded in `recording` ("" for none), the first leg's
        Uniqueid `call_id`. Raises ValueError for a number that cannot be dialled (without
        it in the message) and `crm.errors.Unavailable` when Asterisk refused or did not
        answer."""

    async def hang_up(self, call_id: str) -> None:
        """The call's legs, if still up (never raises)."""


class Dialler(Protocol):
    """Places calls through the centre."""

    @property
    def recorded(self) -> bool:
        """Whether calls are recorded (no file is expected otherwise)."""

    def line(self) -> AbstractAsyncContextManager[DiallerLine]:
        """A logged-in session (`crm.errors.Unavailable` when Asterisk does not answer)."""


DIALLER = web.AppKey("crm_unit_dialler", Dialler)


class UnitCallIn(Strict):
    purpose: Literal["first_contact", "reply"] = Field(
        description="first_contact: the first contact after receiving the order (ACCEPTED → "
        "CONTACTED once reached); reply: the reply with the result (CONTACTED → REPLIED)"
    )


class UnitCallOut(Out):
    order_id: int
    call_id: str = Field(description="the call's id (Linkedid), for its result")
    purpose: str


class UnitResultIn(Strict):
    result: Literal["reached", "no_answer", "refused"]
    note: Annotated[Note, Field(description="what was said; required when reached (the "
                                "reply's result)")] = ""  # fmt: skip


class UnitResultOut(Out):
    order_id: int
    call_id: str
    status: str = Field(description="the order's status after the result")
    refused: str = Field(
        "",
        description="why a reached call was stored as an attempt (the step taken by other "
        "means meanwhile); empty when it was the step",
    )


async def _phone(ctx: Ctx) -> str | None:
    """The phone the handler works at (None: none bound)."""
    user = await directory.get_user(ctx.session, ctx.actor.user_id)
    return None if user is None else user.agent_extension


def _dialler(ctx: Ctx) -> Dialler:
    dialler = ctx.request.app.get(DIALLER)
    if dialler is None:
        raise Conflict("no_outbound", "未配置外呼线路，无法通过中心外呼")
    return dialler


async def place_call(ctx: Ctx) -> web.StreamResponse:
    purpose = Purpose(ctx.input(UnitCallIn).purpose)
    order_id = ctx.int_param("order_id")
    dialler = _dialler(ctx)
    extension = await _phone(ctx)
    call_id = uc.new_call_id(ctx.now)
    async with dialler.line() as line:  # logged in before the order is locked
        dialling = await uc.start(ctx.session, order_id, ctx.actor, extension, call_id,
                                  ctx.now, purpose)  # fmt: skip
        recording = uc.recording_of(call_id, ctx.now) if dialler.recorded else ""
        caller_id = f"{RULES[purpose].word} <{dialling.order_number}>"
        try:
            await line.call_out(dialling.number, dialling.extension, call_id, caller_id,
                                recording)  # fmt: skip
        except ValueError:  # the order's number is no number to dial (said without it)
            log.warning("order id %d: its number cannot be dialled (call %s refused)",
                        order_id, call_id)  # fmt: skip
            raise Conflict("bad_number", "该工单的号码无法外呼") from None
    log.info("handler %d calls order id %d from %s for %s (call %s)",
             ctx.actor.user_id, order_id, dialling.extension, purpose, call_id)  # fmt: skip
    out = UnitCallOut(order_id=order_id, call_id=call_id, purpose=purpose.value)
    return json(out, status=201)


async def _no_hang_up() -> None:
    """No dialler at the process's start: a call placed before is left to ring out."""


async def report_result(ctx: Ctx) -> web.StreamResponse:
    body = ctx.input(UnitResultIn)
    order_id, call_id = ctx.int_param("order_id"), ctx.request.match_info["call_id"]
    await transition.load_visible(ctx.session, order_id, ctx.actor)  # 404 before any call's
    purpose = await uc.purpose_placed(ctx.session, order_id, call_id)
    if purpose not in UNIT_PURPOSES:
        raise NotFound("no_callback", f"该工单没有这个单位通话（{call_id}）")
    report = uc.report_of(body.result, None, call_id, body.note, purpose)
    extension = await _phone(ctx)
    dialler = ctx.request.app.get(DIALLER)
    line = nullcontext(None) if dialler is None else dialler.line()
    async with line as ami:
        finished = await uc.finish(
            ctx.session, order_id, ctx.actor, extension, report, ctx.now,
            await ctx.calendar(), dialler is not None and dialler.recorded,
            before=_no_hang_up if ami is None else lambda: ami.hang_up(call_id),
        )  # fmt: skip
    how = " (its step refused: an attempt)" if finished.refused else ""
    log.info("user %d reported call %s of order id %d: %s%s",
             ctx.actor.user_id, call_id, order_id, body.result, how)  # fmt: skip
    out = UnitResultOut(order_id=order_id, call_id=call_id, status=finished.status,
                        refused=finished.refused)  # fmt: skip
    return json(out)


HANDLERS = frozenset({Role.HANDLER})
ENDPOINTS = (
    Endpoint("POST", ORDER_CALLS, place_call,
             "The handling unit calls the citizen through the centre (the handler's phone "
             "first), recorded and linked to the order", HANDLERS, body=UnitCallIn,
             response=UnitCallOut, status=201,
             errors={"409": "no phone bound, no outbound trunk, a call already on, the step "
                     "not due", "503": "Asterisk refused or did not answer"}),
    Endpoint("POST", CALL_RESULT, report_result,
             "The unit's call's result: reached is the contact or reply step with the call, "
             "otherwise an attempt on the trail; a lead unit's handler or a supervisor may "
             "close another's stale call as not reached", HANDLERS | {Role.SUPERVISOR},
             body=UnitResultIn, response=UnitResultOut),
)  # fmt: skip
