"""HTTP handler of the trunks' health (supervisors, admins): each 110/119/120 leg reachable,
unreachable or unknown, since when, its last round trip. The call process qualifies the
trunks and publishes their states; the wiring root passes the reader (`TrunkStates`), so
the CRM knows nothing of telephony."""

from typing import Protocol

from aiohttp import web
from pydantic import BaseModel, Field

from crm.api.context import Ctx
from crm.api.endpoint import Endpoint, json
from crm.domain.enums import Role


class TrunkLegOut(BaseModel):
    line: str = Field(description="the trunk's number (110, 119, 120) or outbound")
    leg: str = Field(description="primary or backup")
    state: str = Field(description="reachable, unreachable or unknown (not qualified, or "
                       "not yet)")  # fmt: skip
    since: float | None = Field(description="epoch s it entered the state; null: none seen")
    rtt_ms: float | None = Field(description="the last OPTIONS' round trip (reachable)")


class TrunksOut(BaseModel):
    reported_at: float | None = Field(
        description="epoch s the call process wrote these states; null: it never did"
    )
    legs: list[TrunkLegOut]


class TrunkStates(Protocol):
    """Reads the states the call process last published; must not raise."""

    async def __call__(self) -> TrunksOut: ...


NONE_REPORTED = TrunksOut(reported_at=None, legs=[])


async def none_reported() -> TrunksOut:
    """The default `TrunkStates`: a CRM without a call process."""
    return NONE_REPORTED


TRUNK_STATES = web.AppKey("crm_trunk_states", TrunkStates)
READERS = frozenset({Role.SUPERVISOR, Role.ADMIN})


async def list_trunks(ctx: Ctx) -> web.StreamResponse:
    return json(await ctx.request.app[TRUNK_STATES]())


ENDPOINTS = (
    Endpoint("GET", "/api/trunks", list_trunks,
             "Each emergency trunk leg's health as qualify (SIP OPTIONS) finds it "
             "(supervisors, admins)", READERS, response=TrunksOut, transaction=False),
)  # fmt: skip
