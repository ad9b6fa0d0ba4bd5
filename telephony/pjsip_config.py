"""pjsip.conf: the SIP transport and the endpoints (the carrier, the agents' phones, the
colleagues' phones, the trunks' legs)."""

from __future__ import annotations

from config.settings import Settings
from config.trunk_settings import TrunkLegs
from telephony.config_sections import secret_text, section, trunk_endpoint, trunk_legs
from telephony.dialplan import CARRIER_ENDPOINT, CONTEXT_AGENTS, CONTEXT_INBOUND, CONTEXT_TRUNK_IN

# Every endpoint's media: G.711 only, always through Asterisk (it records and mixes).
MEDIA = ("disallow = all", "allow = ulaw,alaw", "direct_media = no", "rtp_symmetric = yes")


def pjsip_conf(settings: Settings) -> str:
    """The SIP transport and every endpoint: the carrier (by source address), the agents'
    phones (challenged), the colleagues' phones and the trunks (called only)."""
    out = section(
        "transport-udp",
        "type = transport",
        "protocol = udp",
        f"bind = {settings.sip.host}:{settings.sip.port}",
    )
    # Requests are matched to an endpoint by source address first, then by the From user
    # (agents only); nothing else gets an endpoint, and there is no anonymous one.
    out += section("global", "type = global", "endpoint_identifier_order = ip,username")
    out += section(
        CARRIER_ENDPOINT,
        "type = endpoint",
        f"context = {CONTEXT_INBOUND}",
        "identify_by = ip",  # never by a From user "carrier" from anywhere else
        *MEDIA,
        "dtmf_mode = rfc4733",
    )
    out += section(
        f"{CARRIER_ENDPOINT}-identify",
        "type = identify",
        f"endpoint = {CARRIER_ENDPOINT}",
        f"match = {settings.carrier.match}",
    )
    for agent in settings.agents:
        password = secret_text(agent.sip_password, f"agents.{agent.extension}.sip_password")
        out += section(
            agent.extension,
            "type = endpoint",
            f"context = {CONTEXT_AGENTS}",
            *MEDIA,
            "dtmf_mode = rfc4733",
            f"aors = {agent.extension}",
            f'callerid = "{agent.name}" <{agent.extension}>',
            "identify_by = username",
            # Every request from the phone is challenged (Asterisk calling it is not).
            f"auth = {agent.extension}-auth",
        )
        out += section(
            f"{agent.extension}-auth",
            "type = auth",
            "auth_type = userpass",
            f"username = {agent.extension}",
            f"password = {password}",
        )
        out += section(
            agent.extension, "type = aor", f"contact = {agent.contact}", "max_contacts = 1"
        )
    for colleague in settings.colleagues:
        # Called only (consults, transfers): whatever it sends reaches the hang-up context.
        out += section(
            colleague.extension,
            "type = endpoint",
            f"context = {CONTEXT_TRUNK_IN}",
            "identify_by = ip",  # no identify section: nothing reaches it
            *MEDIA,
            f"aors = {colleague.extension}",
            f'callerid = "{colleague.name}" <{colleague.extension}>',
        )
        out += section(
            colleague.extension, "type = aor", f"contact = {colleague.contact}",
            "max_contacts = 1",
        )  # fmt: skip
    for trunk in settings.trunks.values():
        out += _trunk_legs(trunk, f"trunks.{trunk.number}", f"{trunk.number}@")
    if settings.outbound is not None:  # dialled with the citizen's number as the user
        out += _trunk_legs(settings.outbound, "outbound", "")
    return out


def _trunk_legs(trunk: TrunkLegs, key: str, user: str) -> str:
    """A trunk's legs, each an endpoint (called only: whatever it sends reaches the hang-up
    context) with its AOR (`user`: the user part of its contact) and, if the trunk
    challenges us, its credentials."""
    out = ""
    for role, hostport in trunk_legs(trunk):
        name = trunk_endpoint(trunk, role)
        auth = () if trunk.username is None else (f"outbound_auth = {name}-auth",)
        out += section(
            name,
            "type = endpoint",
            f"context = {CONTEXT_TRUNK_IN}",
            "identify_by = ip",  # no identify section: nothing reaches it
            *MEDIA,
            f"aors = {name}",
            *auth,
        )
        out += section(
            name, "type = aor", f"contact = sip:{user}{hostport}", *_qualify(trunk.qualify_s)
        )
        if trunk.username is not None and trunk.password is not None:
            out += section(
                f"{name}-auth",
                "type = auth",
                "auth_type = userpass",
                f"username = {trunk.username}",
                f"password = {secret_text(trunk.password, f'{key}.password')}",
            )
    return out


def _qualify(every_s: int) -> tuple[str, ...]:
    """A trunk leg's OPTIONS every `every_s` (0: none); an answer later than 3 s (or than
    the interval, if shorter) counts as none: the leg is Unreachable."""
    if every_s == 0:
        return ()
    return (f"qualify_frequency = {every_s}", f"qualify_timeout = {min(3.0, every_s * 0.8):g}")
