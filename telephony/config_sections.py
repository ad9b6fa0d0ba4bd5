"""What the renderers of Asterisk's configuration files share: the section syntax and the
names of a trunk's legs (the endpoints pjsip.conf defines and the dialplan dials)."""

from __future__ import annotations

from config.settings import Trunk


def section(name: str, *lines: str) -> str:
    return "\n".join([f"[{name}]", *lines]) + "\n\n"


def trunk_legs(trunk: Trunk) -> list[tuple[str, str]]:
    legs = [("primary", trunk.primary)]
    if trunk.backup:
        legs.append(("backup", trunk.backup))
    return legs


def trunk_endpoint(trunk: Trunk, role: str) -> str:
    return f"trunk-{trunk.number}-{role}"
