"""What the settings' models share (pure values and checks): field types, the rule for
secrets, addresses that must stay on loopback, names the Asterisk files can carry."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints

Port = Annotated[int, Field(ge=1, le=65535)]
Extension = Annotated[str, StringConstraints(pattern=r"^[0-9]{2,8}$")]
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")]


# Secrets this repository shipped are known to every reader (shorter ones fail the length).
PLACEHOLDER_SECRETS = frozenset({"change-me-in-env"})
# Generated secrets are 32 url-safe characters; anything configured under 16 is a password a
# person typed, guessable offline from one signed ticket or a captured digest.
MIN_SECRET_CHARS = 16


def secret_weakness(text: str) -> str | None:
    """Why `text` cannot serve as a secret, or None: the one rule for configured secrets,
    stored secret files and the standalone gateway's."""
    if text.strip().lower() in PLACEHOLDER_SECRETS:
        return "is a published placeholder"
    if len(text) < MIN_SECRET_CHARS:
        return f"is shorter than {MIN_SECRET_CHARS} characters"
    if any(ch.isspace() or not ch.isprintable() or ch in ';"\\' for ch in text):
        # Asterisk's config files end a value at ';' and trim blanks.
        return "must not contain blanks, control characters, ';', '\"' or '\\'"
    return None


def strong_secret(value: SecretStr) -> SecretStr:
    """An empty secret means "generate one" (config/secrets.py); a configured one must be
    neither a known placeholder nor short."""
    text = value.get_secret_value()
    if text and (weakness := secret_weakness(text)) is not None:
        raise ValueError(f"{weakness}: set your own or leave it empty to generate one")
    return value


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def loopback(host: str) -> str:
    if host == "localhost":
        return host
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"{host} is not a loopback address")
    return host


def host_port(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r} is not host:port")
    loopback(host)
    return value


def sip_contact_on_loopback(value: str) -> str:
    host_port(value.split("@", 1)[1])
    return value


def plain_name(value: str) -> str:
    """A name Asterisk's files and the dialplan can carry as it is."""
    if any(ch in value for ch in '"\\,;\r\n|'):
        raise ValueError("must not contain quotes, backslashes, commas, semicolons or |")
    return value
