"""The desk's list of orders due for the centre's callback (回访待办): call takers only. A
confidential caller's number is masked here for every reader (the desk dials it unseen)."""

from datetime import datetime

from aiohttp import web
from pydantic import Field

from crm.api.context import Ctx
from crm.api.endpoint import Endpoint, json
from crm.api.schemas import Out
from crm.api.views import aware
from crm.domain.enums import CALL_TAKER_ROLES, OrderType
from crm.intake import Strict
from crm.usecases import callbacks_due


class DueQuery(Strict):
    limit: int = Field(default=100, ge=1, le=callbacks_due.MAX_LIMIT)


class DueCallbackOut(Out):
    order_id: int
    number: str = Field(description="the order's number")
    order_type: OrderType
    matter: str = Field(description="the order's text, its first characters")
    caller_number: str = Field(description="masked (138****5678) when confidential")
    confidential: bool
    replied_at: datetime = Field(description="when the handling unit replied")
    attempts: int = Field(description="callback attempts since the reply (not reached)")


class DueCallbackList(Out):
    items: list[DueCallbackOut]


def _out(due: callbacks_due.DueCallback) -> DueCallbackOut:
    out = DueCallbackOut.model_validate(due)
    return out.model_copy(update={"replied_at": aware(due.replied_at)})


async def list_due(ctx: Ctx) -> web.StreamResponse:
    due = await callbacks_due.due_callbacks(ctx.session, ctx.input(DueQuery).limit)
    return json(DueCallbackList(items=[_out(d) for d in due]))


ENDPOINTS = (
    Endpoint("GET", "/api/callbacks/due", list_due,
             "Orders due for the centre's callback (REPLIED), the oldest reply first",
             CALL_TAKER_ROLES, query=DueQuery, response=DueCallbackList),
)  # fmt: skip
