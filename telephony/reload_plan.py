"""What a new configuration changes in the running Asterisk, and the live actions that apply it.

Pure: two validated `Settings` in, a `ReloadPlan` out. The plan compares the RENDERED files
(`asterisk_config.render`), file by file and section by section, not the settings' fields:
the rendered text is exactly what Asterisk reads, so every setting that reaches a file is
caught without a hand-kept map from fields to files that would drift as the renderers grow.
Queue members are not in any file (agents log in with QueueAdd), so they are compared on
the settings (`Settings.agent_queues`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from config.settings import Settings
from telephony.asterisk_config import layout_for, render


class Reload(StrEnum):
    """A live reload of one part of Asterisk, in the order they run."""

    PJSIP = "pjsip"  # res_pjsip: endpoints, AORs, auths (`pjsip reload`)
    QUEUE_PARAMETERS = "queue_parameters"  # app_queue's queue parameters, members and rules kept
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
    """An agent's membership of a queue (QueueAdd's fields)."""

    queue: str
    extension: str
    name: str
    penalty: int


@dataclass(frozen=True)
class ReloadPlan:
    files: dict[str, str]  # the rendered files that change: name → new text
    old_files: dict[str, str]  # the same files' old text (what a failed apply restores)
    reloads: tuple[Reload, ...]
    sections: dict[str, tuple[str, ...]]  # file → the sections added, changed or removed
    add: tuple[Member, ...]  # QueueAdd
    remove: tuple[Member, ...]  # QueueRemove (an agent on a call keeps its call)
    restart: tuple[str, ...]  # what only a restart applies (why, per item)

    @property
    def empty(self) -> bool:
        return not (self.files or self.add or self.remove)


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


def members_of(settings: Settings) -> set[Member]:
    names = {a.extension: a.name for a in settings.agents}
    return {
        Member(queue, ext, names[ext], penalty)
        for ext, serving in settings.agent_queues().items()
        for queue, penalty in serving
    }


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
    reloads = tuple(r for r in Reload if any(RELOAD_OF_FILE.get(f) is r for f in files))
    old_members, new_members = members_of(old), members_of(new)
    return ReloadPlan(
        files=files,
        old_files={name: before[name] for name in files if name in before},
        reloads=reloads,
        sections=sections,
        add=tuple(sorted(new_members - old_members)),
        remove=tuple(sorted(old_members - new_members)),
        restart=tuple(restart),
    )
