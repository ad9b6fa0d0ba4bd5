"""Request and response bodies of the admin routes (units, users, routing rules, the
working-day calendar); strict like every request model (`crm.api.schemas`)."""

from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field

# Ids are database integers: 1..2^31-1 fits SQLite and PostgreSQL's INTEGER alike.
from crm.api.schemas import MAX_YEAR, MIN_YEAR, CalendarDay, Id, Note, Out
from crm.domain.enums import (
    OrderType,
    Role,
    UnitKind,
    UnitRole,
)
from crm.intake import Strict
from crm.text import Line


class UnitIn(Strict):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: Line = Field(min_length=1, max_length=200)
    kind: UnitKind = UnitKind.DEPARTMENT


class UnitOut(Out):
    id: int
    code: str
    name: str
    kind: UnitKind
    active: bool


class UnitList(BaseModel):
    items: list[UnitOut]


AgentExtension = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{2,8}$",
        description="A configured agent's extension, or a supervisor's phone.",
    ),
]


class UserIn(Strict):
    name: Line = Field(min_length=1, max_length=100)
    role: Role
    unit_id: Id | None = None
    agent_extension: AgentExtension | None = Field(
        default=None,
        description="The phone this user works at: an agent's extension (its desk), or a "
        "supervisor's phone for a supervisor or an admin (rung for listen / whisper / barge).",
    )


class UserOut(Out):
    id: int
    name: str
    role: Role
    unit_id: int | None
    agent_extension: str | None
    active: bool


class UserList(BaseModel):
    items: list[UserOut]


class UserCreated(UserOut):
    token: str = Field(description="Bearer token; shown only once.")


class UserPatch(Strict):
    """Only the fields given change; `agent_extension: null` unbinds. Disabling, unbinding
    or rebinding ends the user's open desktops."""

    active: bool | None = None
    agent_extension: AgentExtension | None = None


class TokenOut(BaseModel):
    id: int
    token: str = Field(description="The user's new bearer token; shown only once.")


class RuleIn(Strict):
    unit_id: Id
    unit_role: UnitRole = UnitRole.LEAD
    keywords: list[Annotated[Line, Field(min_length=1, max_length=50)]] = Field(
        default_factory=list, max_length=200
    )
    order_types: list[OrderType] = Field(default_factory=list, max_length=20)
    note: Note = ""


class RuleOut(Out):
    id: int
    unit_id: int
    unit_role: UnitRole
    keywords: list[str]
    order_types: list[OrderType]
    note: str


class RuleList(BaseModel):
    items: list[RuleOut]


class CalendarDayIn(Strict):
    day: CalendarDay
    workday: bool
    name: Line = Field(default="", max_length=100)


class CalendarPut(Strict):
    days: list[CalendarDayIn] = Field(default=[], max_length=400)
    # years whose whole schedule is now entered: counted without predictions, no longer
    # provisional
    published_years: list[Annotated[int, Field(ge=MIN_YEAR, le=MAX_YEAR)]] = Field(
        default=[], max_length=10
    )


class CalendarQuery(Strict):
    year: int | None = Field(default=None, ge=MIN_YEAR, le=MAX_YEAR)


class CalendarDayOut(BaseModel):
    day: date
    workday: bool
    name: str


class CalendarList(BaseModel):
    items: list[CalendarDayOut]
    published_years: list[int]


class CalendarPutOut(BaseModel):
    written: int
    recounted_orders: int
