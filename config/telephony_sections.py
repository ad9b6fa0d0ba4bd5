"""The telephony sections the settings gained with the admins' configuration (issue 14):
overflow seats and their thresholds, working hours with the duty group, nuisance numbers.

Pure values; the checks across sections (a queue or an extension that does not exist,
thresholds that would flap) are the whole document's (`config.telephony_checks`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints, field_validator, model_validator

from config.fields import Extension, Frozen, Name, plain_name

UserId = Annotated[int, Field(gt=0, le=2**31 - 1)]


class OverflowSeats(Frozen):
    """Seats that join `queue` while it is under pressure: started when the longest wait
    reaches `start_wait_s` **or** `start_waiting` callers wait; stopped once the longest wait
    is at most `stop_wait_s` **and** at most `stop_waiting` wait (hysteresis: each stop
    threshold strictly below its start threshold, so the seats do not flap)."""

    queue: Name
    skill: Name | None = None  # agents with this skill are the seats ...
    extensions: tuple[Extension, ...] = ()  # ... and/or these agents
    start_wait_s: Annotated[int, Field(ge=1, le=3600)] = 30
    start_waiting: Annotated[int, Field(ge=1, le=1000)] = 3
    stop_wait_s: Annotated[int, Field(ge=0, le=3600)] = 10
    stop_waiting: Annotated[int, Field(ge=0, le=1000)] = 0


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class TimeRange(Frozen):
    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> TimeRange:
        if self.end <= self.start:
            raise ValueError("结束时间必须晚于开始时间")
        return self


class DutyGroup(Frozen):
    """Who answers outside the working hours (值班组): phones and/or CRM users."""

    extensions: tuple[Extension, ...] = ()
    user_ids: tuple[UserId, ...] = ()


class WorkingHours(Frozen):
    """The centre's working hours by weekday; a day not named is outside them; no day named
    at all: around the clock (12345 answers 24/7 unless told otherwise)."""

    weekly: Mapping[Weekday, tuple[TimeRange, ...]] = Field(default_factory=dict)
    duty_group: DutyGroup = DutyGroup()


class QueueCallback(Frozen):
    """A caller waiting past `offer_after_s` may press `key` to be called back in their turn
    (回拨保留排队位置): offered only with an outbound trunk and a dialable caller number. The
    citizen is dialled up to `attempts` times, `retry_after_s` apart."""

    offer_after_s: Annotated[int, Field(ge=1, le=3600)] = 60
    key: Annotated[str, StringConstraints(pattern=r"^[1-9]$")] = "1"
    attempts: Annotated[int, Field(ge=1, le=10)] = 3
    # at least 30 s: a citizen just not reached is not rung again at once
    retry_after_s: Annotated[int, Field(ge=30, le=86400)] = 120


class NuisanceNumber(Frozen):
    """A caller refused with a message (骚扰电话), until `until` (None: until removed)."""

    number: str
    reason: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    until: AwareDatetime | None = None

    _check_reason = field_validator("reason")(plain_name)

    @field_validator("number")
    @classmethod
    def _digits(cls, value: str) -> str:
        if not (value.isascii() and value.isdigit() and 3 <= len(value) <= 20):
            raise ValueError(f"号码 {value!r} 无效：只能是 3 到 20 位数字")
        return value
