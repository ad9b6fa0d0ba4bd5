"""The carrier trunks: a line's legs (primary, then the backup when it fails), the 110/119/120
lines (`Trunk`, dialled by their number) and the outbound trunk the centre calls citizens
through (`OutboundTrunk`, 回访: any number, the centre's caller ID)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from config.fields import Extension, Frozen, Name, host_port, strong_secret

OUTBOUND_LINE = "outbound"  # the outbound trunk's name in its legs' endpoints


class TrunkLegs(Frozen):
    primary: str
    backup: str | None = None
    dial_timeout_s: Annotated[int, Field(ge=3, le=120)] = 10
    # how often Asterisk sends each leg an OPTIONS (s); 0: never (a far end that does not
    # answer OPTIONS), its state then unknown and every call tries it
    qualify_s: Annotated[int, Field(ge=0, le=3600)] = 30
    # pjsip.conf has one transport, UDP; TCP needs a transport of its own rendered first
    transport: Literal["udp"] = "udp"
    # the digest credentials the trunk challenges us with (none: it does not challenge)
    username: Name | None = None
    password: SecretStr | None = None

    @field_validator("password")
    @classmethod
    def _strong(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is None else strong_secret(value)

    @model_validator(mode="after")
    def _credentials(self) -> TrunkLegs:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        return self

    @field_validator("primary", "backup")
    @classmethod
    def _on_loopback(cls, value: str | None) -> str | None:
        return value if value is None else host_port(value)

    @property
    def line(self) -> str:
        """The name its legs' endpoints carry (trunk-<line>-primary)."""
        return OUTBOUND_LINE


class Trunk(TrunkLegs):
    number: Extension

    @property
    def line(self) -> str:
        return self.number


class OutboundTrunk(TrunkLegs):
    # the number citizens see (None: the centre's inbound number, 12345)
    caller_id: Extension | None = None
