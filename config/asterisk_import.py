"""An existing Asterisk's queues.conf and pjsip.conf → the centre's agents, queues and trunks
(pure): a settings-shaped mapping (the TOML's `[[agents]]`, `[[queues]]`, `[trunks.<key>]`,
`[outbound]`),
each item validated by the settings' models, and the report of what did not map.

The centre's model is skill = queue: a queue's skill is its name, a `member` with penalty 0
gets that skill, a member with a penalty gets the queue's overflow skill `<queue>-overflow`
(the centre has two levels: the skill, and overflow seats after `overflow_after_s`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from config.asterisk_conf import ConfFile, Entry, Section, parse_conf
from config.asterisk_findings import Finding, Findings, validated
from config.asterisk_import_pjsip import Membership, map_pjsip
from config.settings import Agent, Queue
from config.trunk_settings import OutboundTrunk, Trunk
from telephony.dialplan import DUTY_QUEUE

STRATEGIES = frozenset({"ringall", "leastrecent", "fewestcalls", "random", "rrmemory", "linear"})
_QUEUE_KEYS = {"strategy", "timeout", "wrapuptime", "servicelevel", "announce-position", "member"}
_OWN = {
    "musicclass": "hold music is the centre's own",
    "joinempty": "callers always join (the centre's rule)",
    "leavewhenempty": "callers never leave an empty queue (the centre's rule)",
}
_WHY = {
    "defaultrule": "penalty rules: only overflow_after_s (default 30 s) is carried",
    "context": "exit-on-digit contexts are not in the centre's model",
    "maxlen": "no maximum number of callers in the centre's model",
}


@dataclass(frozen=True)
class Imported:
    agents: tuple[Agent, ...]
    queues: tuple[Queue, ...]
    trunks: dict[str, Trunk]
    findings: tuple[Finding, ...]
    outbound: OutboundTrunk | None = None

    def as_mapping(self, reveal_secrets: bool = False) -> dict[str, Any]:
        """The TOML's sections; passwords masked unless `reveal_secrets` (a file, 0600)."""
        agents = []
        for agent in self.agents:
            item = agent.model_dump(mode="json", exclude={"sip_password"})
            item["skills"] = list(agent.skills)
            if secret := agent.sip_password.get_secret_value():
                item["sip_password"] = secret if reveal_secrets else "********"
            agents.append(item)
        return {
            "agents": agents,
            "queues": [q.model_dump(mode="json", exclude_none=True) for q in self.queues],
            "trunks": {k: t.model_dump(mode="json", exclude_none=True)
                       for k, t in self.trunks.items()},
            **({} if self.outbound is None else
               {"outbound": self.outbound.model_dump(mode="json", exclude_none=True)}),
        }  # fmt: skip


def import_asterisk(
    queues_text: str, pjsip_text: str, queues_file: str = "queues.conf",
    pjsip_file: str = "pjsip.conf",
) -> Imported:  # fmt: skip
    """Parse and map both files; a malformed file raises ConfError (file and line)."""
    queues_conf = parse_conf(queues_text, queues_file)
    pjsip_conf = parse_conf(pjsip_text, pjsip_file)
    q_findings, p_findings = Findings(queues_file), Findings(pjsip_file)
    for conf, findings in ((queues_conf, q_findings), (pjsip_conf, p_findings)):
        for directive in conf.directives:
            findings.add(directive.line, "unmapped",
                         f"#{directive.name} {directive.argument}: not followed (import the "
                         "included file's sections by putting them in the file given)")  # fmt: skip
    members: dict[str, list[Membership]] = {}
    queues = _queues(queues_conf, members, q_findings)
    skills = {ep: tuple(dict.fromkeys(m.skill for m in ms)) for ep, ms in members.items()}
    names = {ep: next((m.member_name for m in ms if m.member_name), "")
             for ep, ms in members.items()}  # fmt: skip
    pjsip = map_pjsip(pjsip_conf, skills, names, p_findings)
    for endpoint, memberships in members.items():
        if endpoint not in pjsip.endpoint_extension:
            for m in memberships:
                q_findings.add(m.line, "unmapped", f"[{m.queue}] member {endpoint}: no agent "
                               "of that name imported from pjsip.conf")  # fmt: skip
    agents = _unique_agents(pjsip.agents, {t.number for t in pjsip.trunks.values()}, p_findings)
    served = {s for a in agents for s in a.skills}
    for queue, line in queues:
        if queue.skill not in served:
            text = f"no agent has skill {queue.skill} (no static members): give agents it"
            q_findings.add(line, "assumed", f"queue {queue.name}: {text}")
    return Imported(tuple(agents), tuple(q for q, _ in queues), pjsip.trunks,
                    tuple(q_findings.items + p_findings.items), pjsip.outbound)  # fmt: skip


def _queues(
    conf: ConfFile, members: dict[str, list[Membership]], findings: Findings
) -> list[tuple[Queue, int]]:
    queues = []
    for section in conf.objects():
        if section.name == "general":
            findings.section(section, "own", "app_queue's general options are the centre's")
            continue
        if section.name == DUTY_QUEUE:
            findings.section(section, "own", "the duty group's queue: from hours.duty_group")
            continue
        queue = _queue(section, members, findings)
        if queue is not None:
            queues.append((queue, section.line))
    return queues


def _queue(
    section: Section, members: dict[str, list[Membership]], findings: Findings
) -> Queue | None:
    label = f"queues.{section.name}"
    data: dict[str, Any] = {"name": section.name, "skill": section.name}
    lines = {"": section.line, "name": section.line, "skill": section.line}
    for entry in section.entries:
        if entry.key in _OWN:
            findings.entry(section, entry, "own", _OWN[entry.key])
        elif entry.key not in _QUEUE_KEYS:
            findings.entry(section, entry, "unmapped", _WHY.get(entry.key, "not in the model"))
    if (strategy := section.last("strategy")) is not None:
        if strategy.value in STRATEGIES:
            data["strategy"], lines["strategy"] = strategy.value, strategy.line
        else:
            findings.entry(section, strategy, "unmapped", "unknown to the centre: rrmemory used")
    carried = (("timeout", "ring_timeout_s"), ("wrapuptime", "wrapup_s"),
               ("servicelevel", "service_level_s"))  # fmt: skip
    for key, field in carried:
        if (option := section.last(key)) is not None:
            data[field], lines[field] = option.value, option.line
    if (announce := section.last("announce-position")) is not None:
        value = announce.value.lower()
        data["announce_position"] = value in ("yes", "true", "1", "on", "more", "limit")
        lines["announce_position"] = announce.line
        if value in ("more", "limit"):
            findings.entry(section, announce, "assumed", "announced as yes (the exact position)")
    found = [m for e in section.all("member") if (m := _member(section, e, findings))]
    if any(penalty for _, penalty, _ in found):
        data["overflow_skill"], lines["overflow_skill"] = f"{section.name}-overflow", section.line
    queue = validated(Queue, data, lines, label, findings)
    if queue is None:
        return None
    if queue.overflow_skill:
        findings.section(section, "assumed", f"members with a penalty: overflow seats (skill "
                         f"{queue.overflow_skill}) after {queue.overflow_after_s} s")  # fmt: skip
    for endpoint, penalty, membership in found:
        skill = queue.overflow_skill if penalty and queue.overflow_skill else queue.skill
        members.setdefault(endpoint, []).append(replace(membership, skill=skill))
    return queue


def _member(
    section: Section, entry: Entry, findings: Findings
) -> tuple[str, int, Membership] | None:
    """(endpoint, penalty, membership) of `member => PJSIP/1001,penalty,name,state,ringinuse`;
    the membership's skill is the queue's, set once the queue is validated."""
    value, line = entry.value, entry.line
    parts = [p.strip() for p in value.split(",")]
    interface = parts[0]
    tech, _, resource = interface.partition("/")
    where = f"[{section.name}] member = {value[:60]}"
    if tech.upper() == "LOCAL":
        resource = resource.split("@", 1)[0]
        findings.add(line, "assumed", f"{where}: a Local channel, taken as the agent {resource}")
    elif tech.upper() != "PJSIP" or not resource:
        findings.add(line, "unmapped", f"{where}: not a PJSIP endpoint, not imported")
        return None
    penalty_text = parts[1] if len(parts) > 1 and parts[1] else "0"
    if not penalty_text.isdigit():
        findings.add(line, "invalid", f"{where}: penalty {penalty_text!r} is not a number")
        return None
    penalty = int(penalty_text)
    if penalty > 1:
        findings.add(line, "assumed", f"{where}: penalty {penalty} made 1 (an overflow seat)")
    for extra in parts[3:]:
        if extra:
            findings.add(line, "unmapped", f"{where}: {extra!r} (state interface, ringinuse)")
    name = parts[2] if len(parts) > 2 else ""
    return resource, min(penalty, 1), Membership(section.name, section.name, name, line)


def _unique_agents(
    agents: list[tuple[Agent, int]], trunk_numbers: set[str], findings: Findings
) -> list[Agent]:
    kept: dict[str, Agent] = {}
    for agent, line in agents:
        if agent.extension in kept or agent.extension in trunk_numbers:
            findings.add(line, "invalid", f"agents.{agent.extension}: extension used twice: "
                         "the second not imported")  # fmt: skip
            continue
        kept[agent.extension] = agent
    return list(kept.values())
