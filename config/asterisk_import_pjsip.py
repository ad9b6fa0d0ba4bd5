"""pjsip.conf → the centre's agents and trunks (pure).

An endpoint is a trunk when an `identify` section points at it, when its name says so
(`trunk…`), or when its aor has a static contact and it has no `auth`; it is an agent when it
has an `auth`. A trunk leg whose name says `outbound` is the outbound trunk's (回访: any number
dialled, so no number of its own). Everything else, and every key the centre does not carry,
goes to the report.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from config.asterisk_conf import ConfFile, Section
from config.asterisk_findings import Findings, validated
from config.settings import Agent
from config.trunk_settings import OUTBOUND_LINE, OutboundTrunk, Trunk, TrunkLegs

# Keys whose value the centre renders itself (telephony/pjsip_config.py): dropped, said so.
CENTRE_OWN = frozenset(
    {"context", "disallow", "allow", "direct_media", "rtp_symmetric", "dtmf_mode",
     "identify_by", "max_contacts", "remove_existing", "auth_type"}
)  # fmt: skip
L = TypeVar("L", bound=TrunkLegs)
WELL_KNOWN_TRUNKS = {"110": "police", "119": "fire", "120": "medical"}
_CALLERID = re.compile(r'^\s*"?([^"<]*?)"?\s*(?:<([^>]*)>)?\s*$')
_CONTACT = re.compile(r"^(sips?):(?:([^@;:]+)@)?([^;:>]+)(?::([0-9]+))?(;.*)?$")
_OUTBOUND = re.compile(r"(?:^|[-_])outbound(?:[-_]|$)", re.IGNORECASE)
_ROLE = re.compile(r"[-_](primary|main|backup|secondary|standby)$", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![0-9])([0-9]{2,8})(?![0-9])")
_EXTENSION = re.compile(r"^[0-9]{2,8}$")
_SECTION_TYPES = {
    "transport": "the centre renders its own transport ([sip] host, port); not imported",
    "global": "the centre renders its own [global]",
    "system": "the centre renders its own [system]",
}


@dataclass(frozen=True)
class Membership:
    """An agent's place in a queue, from a queues.conf `member` line."""

    queue: str
    skill: str  # the queue's skill, or its overflow skill for a member with a penalty
    member_name: str
    line: int


@dataclass
class PjsipImport:
    agents: list[tuple[Agent, int]]  # with the line of its endpoint
    trunks: dict[str, Trunk]
    endpoint_extension: dict[str, str]  # endpoint name → agent extension
    outbound: OutboundTrunk | None = None


def map_pjsip(
    conf: ConfFile, skills: Mapping[str, tuple[str, ...]], names: Mapping[str, str],
    findings: Findings,
) -> PjsipImport:  # fmt: skip
    """`skills` and `names` by endpoint name, from queues.conf's members."""
    by_type: dict[str, list[Section]] = {}
    for section in conf.objects():
        kind = section.value("type")
        by_type.setdefault(kind, []).append(section)
    _report_other_types(by_type, findings)
    aors = {s.name: s for s in by_type.get("aor", [])}
    auths = {s.name: s for s in by_type.get("auth", [])}
    identified: dict[str, Section] = {}
    for ident in by_type.get("identify", []):
        identified[ident.value("endpoint")] = ident
        for entry in ident.entries:
            if entry.key not in ("type", "endpoint"):
                findings.entry(ident, entry, "own", "inbound matching is the centre's own")
    result = PjsipImport([], {}, {})
    legs: dict[str, list[tuple[str, str, Section, int]]] = {}
    used: set[str] = set()
    for endpoint in by_type.get("endpoint", []):
        aor_names = _names(endpoint.value("aors"))
        for missing in (n for n in aor_names if n not in aors):
            findings.section(endpoint, "invalid", f"aors names {missing!r}: no such aor section")
        aor = [aors[n] for n in aor_names if n in aors]
        contacts = [(c.strip(), e.line) for a in aor for e in a.all("contact")
                    for c in e.value.split(",") if c.strip()]  # fmt: skip
        auth = auths.get(endpoint.value("auth"))
        used.update(f"aor {n}" for n in aor_names)
        used.add(f"auth {endpoint.value('auth')}")
        trunk_like = bool(
            endpoint.name in identified
            or endpoint.name.lower().startswith("trunk")
            or (contacts and auth is None)
        )
        _report_keys(endpoint, aor, auth, findings, agent=not trunk_like)
        if trunk_like:
            leg = _trunk_leg(endpoint, contacts, identified.get(endpoint.name), findings)
            if leg is not None:
                legs.setdefault(leg[0], []).append((leg[1], leg[2], endpoint, leg[3]))
        elif auth is not None:
            agent = _agent(endpoint, contacts, auth, skills, names, findings)
            if agent is not None:
                result.agents.append((agent, endpoint.line))
                result.endpoint_extension[endpoint.name] = agent.extension
        else:
            findings.section(endpoint, "unmapped", "neither an agent (no auth) nor a trunk")
    for kind in ("aor", "auth"):
        for section in by_type.get(kind, []):
            if f"{kind} {section.name}" not in used:
                findings.section(section, "unmapped", f"an {kind} no endpoint's {kind}"
                                 f"{'s' if kind == 'aor' else ''} names: not imported")  # fmt: skip
    for number, found in legs.items():
        if number == OUTBOUND_LINE:
            result.outbound = _trunk(OutboundTrunk, number, found, findings)
        elif (trunk := _trunk(Trunk, number, found, findings)) is not None:
            result.trunks[WELL_KNOWN_TRUNKS.get(number, f"trunk-{number}")] = trunk
    return result


def _report_other_types(by_type: dict[str, list[Section]], findings: Findings) -> None:
    """The sections of types the centre does not import, one line each."""
    for kind, sections in by_type.items():
        if kind in ("endpoint", "aor", "auth", "identify"):
            continue
        for section in sections:
            protocol = section.value("protocol", "udp").lower()
            if kind == "transport" and protocol != "udp":
                findings.section(section, "unmapped", f"a {protocol} transport: the centre "
                                 "listens on UDP only (TLS is not supported)")  # fmt: skip
            elif kind in _SECTION_TYPES:
                findings.section(section, "own", _SECTION_TYPES[kind])
            elif kind == "registration":
                findings.section(section, "unmapped", "an outbound registration: the centre's "
                                 "trunks are dialled by address, never registered")  # fmt: skip
            else:
                findings.section(
                    section, "unmapped", f"type {kind or '(none)'}: not in the centre's model"
                )


def _names(value: str) -> list[str]:
    return [n.strip() for n in value.split(",") if n.strip()]


def _report_keys(
    endpoint: Section, aors: list[Section], auth: Section | None, findings: Findings,
    agent: bool,
) -> None:  # fmt: skip
    used = {"endpoint": {"type", "aors", "auth", "callerid"}, "aor": {"type", "contact"},
            "auth": {"type", "password", "username"} if agent else {"type"}}  # fmt: skip
    for section, kind in [(endpoint, "endpoint"), *((a, "aor") for a in aors),
                          *(((auth, "auth"),) if auth else ())]:  # fmt: skip
        for entry in section.entries:
            if entry.key in used[kind]:
                continue
            if entry.key in CENTRE_OWN:
                findings.entry(section, entry, "own", "the centre renders its own")
            elif kind == "auth" and not agent:
                findings.entry(section, entry, "unmapped", "a trunk's credentials: not carried")
            elif entry.key == "md5_cred":
                findings.entry(section, entry, "unmapped",
                               "an MD5 digest is no password: a new one is generated")  # fmt: skip
            elif entry.key.startswith(("media_encryption", "dtls_", "srtp")):
                findings.entry(section, entry, "unmapped", "TLS/SRTP media: not supported")
            else:
                findings.entry(section, entry, "unmapped", "not in the centre's model")


def _parse_contact(
    text: str, findings: Findings, label: str, line: int
) -> tuple[str, str, str] | None:
    """(user, host, port) of a contact, reporting what is dropped or assumed."""
    match = _CONTACT.match(text)
    if match is None:
        findings.add(line, "invalid", f"{label}: contact {text[:60]!r} is not sip:user@host:port")
        return None
    scheme, user, host, port, params = match.groups()
    if scheme == "sips":
        findings.add(line, "invalid", f"{label}: {text[:60]} is TLS (sips:): not supported")
        return None
    if params:
        findings.add(line, "unmapped", f"{label}: contact parameters {params[:60]!r} dropped")
    if port is None:
        findings.add(line, "assumed", f"{label}: contact {text[:60]} without a port: 5060")
    return user or "", host, port or "5060"


def _agent(
    endpoint: Section, contacts: list[tuple[str, int]], auth: Section,
    skills: Mapping[str, tuple[str, ...]], names: Mapping[str, str], findings: Findings,
) -> Agent | None:  # fmt: skip
    label = f"agents.{endpoint.name}"
    if not contacts:
        findings.section(endpoint, "invalid", "no static contact (a phone that registers): "
                         "the centre's phones have a fixed contact; not imported")  # fmt: skip
        return None
    callerid = endpoint.last("callerid")
    cid_name, cid_number = "", ""
    if callerid is not None and (match := _CALLERID.match(callerid.value)):
        cid_name, cid_number = match.group(1).strip(), (match.group(2) or "").strip()
    extension = next((x for x in (endpoint.name, cid_number, auth.value("username"))
                      if _EXTENSION.match(x)), endpoint.name)  # fmt: skip
    if extension != endpoint.name:
        findings.section(endpoint, "assumed", f"not a number: extension {extension} used")
    name = cid_name or names.get(endpoint.name, "")
    if name and not cid_name:
        findings.section(endpoint, "assumed", f"no callerid name: {name} from queues.conf")
    if not name:
        name = extension
        findings.section(endpoint, "assumed", f"no callerid name: named {extension}")
    lines: dict[str, int] = {"": endpoint.line, "extension": endpoint.line, "name": endpoint.line}
    if callerid is not None:
        lines["name"] = callerid.line
    data: dict[str, Any] = {"extension": extension, "name": name,
                            "skills": skills.get(endpoint.name, ())}  # fmt: skip
    for extra, line in contacts[1:]:
        findings.add(line, "unmapped", f"{label}: a second contact {extra[:60]} dropped")
    contact, lines["contact"] = contacts[0]
    parsed = _parse_contact(contact.strip("<>"), findings, label, lines["contact"])
    if parsed is None:
        return None
    user, host, port = parsed
    if not user:
        findings.add(lines["contact"], "assumed", f"{label}: contact without a user: {extension}")
    data["contact"] = f"sip:{user or extension}@{host}:{port}"
    username = auth.last("username")
    if username is not None and username.value != extension:
        findings.entry(auth, username, "assumed", f"the phone authenticates as {extension}")
    password = auth.last("password")
    if password is not None:
        data["sip_password"], lines["sip_password"] = password.value, password.line
    if not skills.get(endpoint.name):
        findings.section(endpoint, "assumed", "a member of no queue: no skills")
    return validated(Agent, data, lines, label, findings)


def _trunk_leg(
    endpoint: Section, contacts: list[tuple[str, int]], ident: Section | None,
    findings: Findings,
) -> tuple[str, str, str, int] | None:  # fmt: skip
    """(number, role, host:port, line) of one trunk leg, or None (reported); the number of
    an outbound leg is OUTBOUND_LINE."""
    label = f"trunks.{endpoint.name}"
    if not contacts:
        matched = ident.value("match") if ident else ""
        findings.section(endpoint, "unmapped", f"inbound only (identify match {matched or '-'}"
                         ", no contact): the carrier is the centre's [carrier] match")  # fmt: skip
        return None
    for extra, line in contacts[1:]:
        findings.add(line, "unmapped", f"{label}: a second contact {extra[:60]} dropped")
    contact, line = contacts[0]
    parsed = _parse_contact(contact.strip("<>"), findings, label, line)
    if parsed is None:
        return None
    user, host, port = parsed
    number = user if _EXTENSION.match(user) else ""
    if _OUTBOUND.search(endpoint.name):
        number = OUTBOUND_LINE
        if user:
            findings.add(line, "unmapped", f"{label}: an outbound leg dials the citizen's "
                         f"number: contact user {user[:20]!r} dropped")  # fmt: skip
    if not number and (found := _NUMBER.search(endpoint.name)):
        number = found.group(1)
        findings.section(endpoint, "assumed", f"number {number} taken from the name")
    if not number:
        findings.section(endpoint, "invalid", "a trunk without a number (contact user or "
                         "name): not imported")  # fmt: skip
        return None
    role_match = _ROLE.search(endpoint.name)
    role = ""
    if role_match:
        role = "backup" if role_match.group(1).lower() in ("backup", "secondary",
                                                           "standby") else "primary"  # fmt: skip
    return number, role, f"{host}:{port}", line


def _trunk(
    model: type[L], number: str, legs: list[tuple[str, str, Section, int]], findings: Findings
) -> L | None:
    """One trunk from its legs: roles by name, else by order in the file (reported)."""
    primary = [leg for leg in legs if leg[0] == "primary"]
    backup = [leg for leg in legs if leg[0] == "backup"]
    unnamed = [leg for leg in legs if not leg[0]]
    for leg in unnamed:
        target = primary if not primary else backup
        target.append(leg)
        role = "primary" if target is primary else "backup"
        findings.section(leg[2], "assumed", f"trunk {number}: no role in the name, {role} by order")
    if not primary:
        primary, backup = backup[:1], backup[1:]
        findings.section(primary[0][2], "assumed", f"trunk {number}: a backup only, made primary")
    for extra in primary[1:] + backup[1:]:
        findings.section(extra[2], "unmapped", f"trunk {number}: a third leg, not imported")
    data: dict[str, Any] = {"primary": primary[0][1]}
    lines = {"": primary[0][3], "primary": primary[0][3]}
    if model is Trunk:
        data["number"], lines["number"] = number, primary[0][3]
    if backup:
        data["backup"], lines["backup"] = backup[0][1], backup[0][3]
    label = OUTBOUND_LINE if model is OutboundTrunk else f"trunks.{number}"
    return validated(model, data, lines, label, findings)
