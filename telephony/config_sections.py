"""What the renderers of Asterisk's configuration files share: the section syntax and the
names of a trunk's legs (the endpoints pjsip.conf defines and the dialplan dials), secrets
rendered into them."""

from __future__ import annotations

from pydantic import SecretStr

from config.trunk_settings import TrunkLegs


def section(name: str, *lines: str) -> str:
    return "\n".join([f"[{name}]", *lines]) + "\n\n"


def trunk_legs(trunk: TrunkLegs) -> list[tuple[str, str]]:
    legs = [("primary", trunk.primary)]
    if trunk.backup:
        legs.append(("backup", trunk.backup))
    return legs


def trunk_endpoint(trunk: TrunkLegs, role: str) -> str:
    return f"trunk-{trunk.line}-{role}"


def secret_text(value: SecretStr, key: str) -> str:
    """A secret to render: never an empty one (settings not passed through resolve_secrets)."""
    text = value.get_secret_value()
    if not text:
        raise ValueError(f"{key} is empty: resolve the settings' secrets first")
    return text
