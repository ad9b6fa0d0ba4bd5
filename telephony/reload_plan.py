"""What a new configuration changes in the running Asterisk, and the live actions that apply it.

Pure: two validated `Settings` in, a `ReloadPlan` out. The plan compares the RENDERED files
(`asterisk_config.render`), file by file and section by section, not the settings' fields:
the rendered text is exactly what Asterisk reads, so every setting that reaches a file is
caught without a hand-kept map from fields to files that would drift as the renderers grow.
Queue members are not in any file (agents log in with QueueAdd), so they are compared on
the settings (`Settings.agent_queues`), and `member_steps` turns that into what to do to the
members Asterisk holds now: only agents logged in change, each keeping its pause.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from enum import StrEnum

from config.settings import Settings
from telephony.asterisk_config import layout_for, render
from telephony.dialplan import DUTY_QUEUE


class Reload(StrEnum):
    """A live reload of one part of Asterisk, in the order they run."""

    PJSIP = "pjsip"  # res_pjsip: endpoints, AORs, auths (`pjsip reload`)
    QUEUE_PARAMETERS = "queue_parameters"  # app_queue's queue parameters, members and rules kept
    # QUEUE_PARAMETERS and the static members with them: the duty queue's (its phones; one
    # reload, since app_queue skips a second read of a file it has just read unchanged)
    QUEUE_MEMBERS = "queue_members"
    QUEUE_RULES = "queue_rules"  # queuerules.conf (penalty changes: the overflow seats)
    DIALPLAN = "dialplan"  # pbx_config (`dialplan reload`)


# The file each reload reads; a change to any other rendered file needs a restart.
RELOAD_OF_FILE = {
    "pjsip.conf": Reload.PJSIP,
    "queues.conf": Reload.QUEUE_PARAMETERS,
    "queuerules.conf": Reload.QUEUE_RULES,
    "extensions.conf": Reload.DIALPLAN,
}
# res_pjsip does not rebind a transport on reload; app_queue refuses to change a queue's
# strategy to linear on reload (its members' container is built for it at creation).
TRANSPORT_SECTION = "transport-udp"
LINEAR = "linear"
# The infrastructure (the TOML file's): bound or opened at start-up by Asterisk or by the
# backend (the FastAGI server, HTTP, the gateway, Redis, the database, the recording jobs),
# even where a rendered file would reload (the AGI address in the dialplan).
INFRASTRUCTURE = ("paths", "sip", "ami", "agi", "http", "gateway", "redis", "database",
                  "recordings")  # fmt: skip


@dataclass(frozen=True, order=True)
class Member:
    """An agent's membership of a queue (QueueAdd's fields). The member name is cosmetic and
    the pause is the agent's, not the configuration's: neither is compared (a renamed agent
    is no change)."""

    queue: str
    extension: str
    penalty: int
    name: str = field(default="", compare=False)
    paused_reason: str | None = field(default=None, compare=False)  # None: not paused


@dataclass(frozen=True)
class ReloadPlan:
    files: dict[str, str]  # the rendered files that change: name → new text
    old_files: dict[str, str]  # the same files' old text (what a failed apply restores)
    reloads: tuple[Reload, ...]
    sections: dict[str, tuple[str, ...]]  # file → the sections added, changed or removed
    add: tuple[Member, ...]  # the configuration's new members
    remove: tuple[Member, ...]  # its members no more
    penalty: tuple[Member, ...]  # its members at a new penalty (the new one)
    restart: tuple[str, ...]  # what only a restart applies (why, per item)

    @property
    def empty(self) -> bool:
        return not (self.files or self.add or self.remove or self.penalty)


def sections_of(text: str) -> dict[str, str]:
    """A rendered file's sections by name (`[name]` and its lines); a name used twice (an
    endpoint and its AOR share it) is keyed name#2, name#3 in order."""
    found: dict[str, str] = {}
    for block in text.split("\n\n"):
        block = block.strip("\n")
        if not block.startswith("["):
            continue
        name = block[1 : block.index("]")]
        key, n = name, 1
        while key in found:
            n += 1
            key = f"{name}#{n}"
        found[key] = block
    return found


def changed_sections(old: str, new: str) -> tuple[str, ...]:
    a, b = sections_of(old), sections_of(new)
    return tuple(sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k)))


@dataclass(frozen=True)
class MemberSteps:
    """What a live apply does to the members Asterisk holds."""

    remove: tuple[Member, ...]  # as held: a failed apply adds them back, paused as they were
    add: tuple[Member, ...]  # paused with the agent's reason if it is paused now
    penalty: tuple[tuple[Member, int], ...]  # as held, and the new penalty (QueuePenalty)


def members_of(settings: Settings) -> dict[tuple[str, str], Member]:
    """(queue, extension) → the member the settings make of an agent."""
    names = {a.extension: a.name for a in settings.agents}
    return {
        (queue, ext): Member(queue, ext, penalty, names[ext])
        for ext, serving in settings.agent_queues().items()
        for queue, penalty in serving
    }


def member_steps(old: Settings, plan: ReloadPlan, held: Collection[Member]) -> MemberSteps:
    """The plan's member changes for the agents logged in: those Asterisk holds in a queue
    `old` has them serve, and agents new to the configuration (logged in as at start-up).
    An agent logged out at the desk stays out (its desk logs it into the new queues). A new
    queue joins paused if the agent is paused; a new penalty is set in place (pause kept); a
    member already held (an overflow seat) is not added again."""
    at = {(m.queue, m.extension): m for m in held}
    pauses = {m.extension: m.paused_reason for m in held if m.paused_reason is not None}
    serving = members_of(old)
    logged_in = {ext for _, ext in at.keys() & serving.keys()}
    logged_in |= {m.extension for m in plan.add} - {a.extension for a in old.agents}
    add, penalty = [], []
    for m in plan.add:
        if (was := at.get((m.queue, m.extension))) is not None:
            if was.penalty != m.penalty:
                penalty.append((was, m.penalty))
        elif m.extension in logged_in:
            add.append(replace(m, paused_reason=pauses.get(m.extension)))
    for m in plan.penalty:
        if (was := at.get((m.queue, m.extension))) is not None and was.penalty != m.penalty:
            penalty.append((was, m.penalty))
    remove = tuple(at[k] for m in plan.remove if (k := (m.queue, m.extension)) in at)
    return MemberSteps(remove, tuple(add), tuple(sorted(penalty)))


def plan_reload(old: Settings, new: Settings) -> ReloadPlan:
    """The files to write, the reloads to run and the members to add and remove."""
    restart = [f"{key}: read at start-up" for key in INFRASTRUCTURE
               if getattr(old, key) != getattr(new, key)]  # fmt: skip
    layout = layout_for(new)
    before, after = render(old, layout), render(new, layout)
    files = {name: text for name, text in after.items() if before.get(name) != text}
    sections = {name: changed_sections(before.get(name, ""), text) for name, text in files.items()}
    for name in sorted(files):
        if name not in RELOAD_OF_FILE:
            restart.append(f"{name}: no live reload of this file")
    if TRANSPORT_SECTION in sections.get("pjsip.conf", ()):
        restart.append(f"pjsip.conf [{TRANSPORT_SECTION}]: a SIP transport is bound at start")
    old_strategy = {q.name: q.strategy for q in old.queues}
    for queue in new.queues:
        was = old_strategy.get(queue.name)
        if was is not None and was != queue.strategy and LINEAR in (was, queue.strategy):
            restart.append(f"queues.{queue.name}.strategy: to or from linear")
    wanted = {RELOAD_OF_FILE[f] for f in files if f in RELOAD_OF_FILE}
    if DUTY_QUEUE in sections.get("queues.conf", ()):  # the one queue with members in the file
        wanted = (wanted - {Reload.QUEUE_PARAMETERS}) | {Reload.QUEUE_MEMBERS}
    reloads = tuple(r for r in Reload if r in wanted)
    old_members, new_members = members_of(old), members_of(new)
    return ReloadPlan(
        files=files,
        old_files={name: before[name] for name in files if name in before},
        reloads=reloads,
        sections=sections,
        add=tuple(sorted(m for k, m in new_members.items() if k not in old_members)),
        remove=tuple(sorted(m for k, m in old_members.items() if k not in new_members)),
        penalty=tuple(sorted(m for k, m in new_members.items() if old_members.get(k, m) != m)),
        restart=tuple(restart),
    )
