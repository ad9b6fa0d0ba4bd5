"""The settings of emergencies: the phones agents may consult besides agents and trunks, the
10-minute clock (rules §2, §8) and the order exchange with the receiving centres (rules §7)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Literal

from pydantic import Field, SecretStr, StringConstraints, field_validator

from config.fields import (
    Extension,
    Frozen,
    host_port,
    plain_name,
    sip_contact_on_loopback,
    strong_secret,
)


class Colleague(Frozen):
    """A number an agent may transfer or consult besides agents and the emergency lines: a
    department's duty phone or a supervisor's phone (a PJSIP endpoint like an agent's)."""

    extension: Extension
    name: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    kind: Literal["department", "supervisor"] = "department"
    contact: Annotated[str, StringConstraints(pattern=r"^sip:[0-9A-Za-z]+@[0-9.]+:[0-9]+$")]

    _check_contact = field_validator("contact")(sip_contact_on_loopback)
    _check_name = field_validator("name")(plain_name)


def supervisor_phones(colleagues: Iterable[Colleague]) -> tuple[str, ...]:
    """The supervisors' phones: rung for listen / whisper / barge, and the phones supervisor
    and admin users may be bound to."""
    return tuple(c.extension for c in colleagues if c.kind == "supervisor")


def department_phones(colleagues: Iterable[Colleague]) -> tuple[str, ...]:
    """The departments' phones: the ones department handlers may be bound to, rung first when
    a handler calls a citizen through the centre."""
    return tuple(c.extension for c in colleagues if c.kind == "department")


class Emergency(Frozen):
    """The 10-minute clock of emergencies (rules §2) and what follows a hand-over."""

    # The desk and supervisor page warn this long before the 10-minute limit.
    warn_before_s: Annotated[int, Field(ge=10, le=540)] = 120
    # A handed-over order waits for the receiving centre's result this long, then alerts.
    result_due_h: Annotated[float, Field(gt=0, le=720)] = 24.0
    # How often the clocks are looked at (warnings, escalations, results overdue).
    clock_interval_s: Annotated[float, Field(ge=0.2, le=60)] = 2.0
    # CRM user ids (`hotline user list`) of the duty leaders (值班领导, rules §8): told of
    # major matters at once, on the supervisors' page and on their own desk if they have one.
    duty_leaders: tuple[Annotated[int, Field(gt=0)], ...] = ()


class ExchangePeer(Frozen):
    """A receiving centre (110, or the emergency centre for 119/120) that takes structured
    hand-overs at `url` and sends its replies and its own matters back, signed with `secret`."""

    url: Annotated[str, StringConstraints(pattern=r"^https?://[^/\s]+(/\S*)?$")]
    secret: SecretStr = SecretStr("")  # shared with the peer; empty: generated (secrets/)

    _check_secret = field_validator("secret")(strong_secret)

    @field_validator("url")
    @classmethod
    def _url_on_loopback(cls, value: str) -> str:
        authority = value.split("://", 1)[1].split("/", 1)[0]
        host_port(authority if ":" in authority else f"{authority}:80")
        return value


class Exchange(Frozen):
    """The 12345 ↔ 110 order exchange (工单警单双向流转, rules §7): peers by emergency line."""

    peers: Mapping[Extension, ExchangePeer] = Field(default_factory=dict)  # "110" → peer
    max_body_bytes: Annotated[int, Field(ge=1024, le=10**7)] = 65536
    retry_first_s: Annotated[float, Field(gt=0, le=600)] = 1.0  # back-off doubles from here
    retry_max_s: Annotated[float, Field(gt=0, le=86400)] = 300.0
    max_clock_skew_s: Annotated[int, Field(ge=5, le=3600)] = 300  # signed timestamps
