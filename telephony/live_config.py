"""Apply a new configuration to the running private Asterisk: write the rendered files that
change, run only the reloads they need, confirm each by reading Asterisk back, then change
the queues of the agents logged in, as Asterisk holds them (`reload_plan.member_steps`: an
agent logged out stays out, a pause is kept, a new penalty is set in place). Nothing is hung
up: an agent removed while on a call keeps its call (QueueRemove only stops new ones).

Asterisk answers Success to reloads that did nothing (a broken extensions.conf: "Dialplan
reloaded.", the old dialplan kept), so every reload is confirmed by what Asterisk then
holds. A reload that fails or is not confirmed puts the old files back, reloads them, undoes
the member changes made and raises `ApplyError`: the running centre keeps its old
configuration.

The AMI user has no `system`, `command` or `config` class (least privilege,
`asterisk_tables.AMI_WRITE_CLASSES`): res_pjsip and the dialplan are reloaded and read over
Asterisk's control socket (`asterisk -rx`, as `AsteriskProcess` already does); app_queue's
QueueReload, QueueStatus and ShowDialPlan need no such class and go over AMI.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol

from config.settings import Settings
from processes.supervised import ProcessError
from telephony.actions import (
    add_queue_member,
    dialplan_of,
    queue_params,
    reload_queues,
    remove_queue_member,
    set_penalty,
)
from telephony.ami_connection import AmiActionError, AmiConnectionLost
from telephony.asterisk_config import write_private
from telephony.control_resync import AmiLists
from telephony.dialplan import DUTY_QUEUE, extension_of, interface_of
from telephony.list_items import queue_member_snapshot
from telephony.reload_plan import (
    Member,
    MemberSteps,
    Reload,
    ReloadPlan,
    member_steps,
    plan_reload,
    sections_of,
)

log = logging.getLogger(__name__)

PJSIP_RELOAD = "module reload res_pjsip.so"  # Asterisk 16 has no `pjsip reload` command
DIALPLAN_RELOAD = "dialplan reload"
CONFIRM_S = 3.0  # how long a reload may take to show
POLL_S = 0.05
NOT_CONTEXTS = {"general", "globals"}  # extensions.conf sections that are no dialplan context


Undo = tuple[Member, Callable[[], Awaitable[object]]]  # a member step done, and its undoing


class ApplyError(RuntimeError):
    """A configuration that could not be applied live; the old one is still running."""


class AsteriskCli(Protocol):
    async def cli(self, command: str, timeout: float = ...) -> str: ...


@dataclass(frozen=True)
class AppliedChange:
    plan: ReloadPlan
    steps: tuple[tuple[str, float], ...]  # what was done, in order, and how long it took (s)

    @property
    def reloads(self) -> tuple[Reload, ...]:
        return self.plan.reloads

    @property
    def total_s(self) -> float:
        return sum(seconds for _, seconds in self.steps)


async def apply(
    ami: AmiLists, asterisk: AsteriskCli, etc: Path, old: Settings, new: Settings
) -> AppliedChange:
    """Make the running Asterisk (its files in `etc`) run `new` instead of `old` (both
    validated, secrets resolved). Raises ApplyError, the old configuration kept."""
    plan = plan_reload(old, new)
    if plan.restart:
        raise ApplyError("这些改动需要重启才能生效: " + "; ".join(plan.restart))
    steps: list[tuple[str, float]] = []
    undo: list[Undo] = []
    try:
        started = time.monotonic()
        _write(etc, plan.files)
        steps.append(("write files", time.monotonic() - started))
        for reload in plan.reloads:
            started = time.monotonic()
            await _RELOADS[reload](ami, asterisk)
            await _confirmed(reload, ami, asterisk, plan, new)
            steps.append((reload.value, time.monotonic() - started))
        if plan.add or plan.remove or plan.penalty:
            started = time.monotonic()
            await _members(ami, member_steps(old, plan, await held_members(ami)), undo)
            steps.append(("queue members", time.monotonic() - started))
    except (AmiActionError, AmiConnectionLost, ProcessError, ApplyError, TimeoutError,
            OSError) as exc:  # fmt: skip
        log.error("configuration not applied (%s): restoring the old one", exc)
        await _restore(ami, asterisk, etc, plan, undo)
        raise ApplyError(f"配置未生效，已恢复原配置: {exc}") from exc
    log.info("configuration applied: %s", ", ".join(f"{s} {t * 1000:.0f} ms" for s, t in steps))
    return AppliedChange(plan, tuple(steps))


def _write(etc: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        write_private(etc / name, text)  # atomically: Asterisk never reads half a file


async def held_members(ami: AmiLists) -> list[Member]:
    """The agents' queue members Asterisk holds now, with their pause (QueueStatus)."""
    items = await ami.action_list("QueueStatus", CONFIRM_S)
    held = []
    for i in items:
        ext = extension_of(i.get("Location", ""))
        if i.get("Event") == "QueueMember" and ext is not None:
            m = queue_member_snapshot(i, 0)
            pause = m.paused_reason if m.paused else None
            held.append(Member(m.queue, ext, int(i.get("Penalty", "0")), m.member_name, pause))
    return held


async def _members(ami: AmiLists, todo: MemberSteps, undo: list[Undo]) -> None:
    """Do `todo`, noting how to undo each step done."""
    for m in todo.remove:
        await remove_queue_member(ami, m.queue, m.extension)
        undo.append((m, partial(_add, ami, m)))
    for m in todo.add:
        await _add(ami, m)
        undo.append((m, partial(remove_queue_member, ami, m.queue, m.extension)))
    for m, penalty in todo.penalty:
        await set_penalty(ami, m.queue, m.extension, penalty)
        undo.append((m, partial(set_penalty, ami, m.queue, m.extension, m.penalty)))


async def _add(ami: AmiLists, m: Member) -> None:
    await add_queue_member(ami, m.queue, m.extension, m.name, m.penalty, m.paused_reason)


async def _restore(
    ami: AmiLists, asterisk: AsteriskCli, etc: Path, plan: ReloadPlan, undo: list[Undo]
) -> None:
    """The old files back and reloaded, the member changes made undone (each step tried)."""
    try:
        _write(etc, plan.old_files)
    except OSError as exc:
        log.error("restoring the old files in %s failed: %s", etc, exc)
    for reload in plan.reloads:
        try:
            await _RELOADS[reload](ami, asterisk)
        except (AmiActionError, AmiConnectionLost, ProcessError, TimeoutError) as exc:
            log.error("restoring %s failed: %s", reload.value, exc)
    for m, step in reversed(undo):
        try:
            await step()
        except (AmiActionError, AmiConnectionLost, TimeoutError) as exc:
            log.error("restoring member %s of %s failed: %s", m.extension, m.queue, exc)


async def _cli_checked(asterisk: AsteriskCli, command: str, success: str) -> None:
    answer = await asterisk.cli(command)
    if success not in answer:
        raise ApplyError(f"{command!r}: {answer.strip()}")


_RELOADS: dict[Reload, Callable[[AmiLists, AsteriskCli], Awaitable[None]]] = {
    Reload.PJSIP: lambda _ami, cli: _cli_checked(cli, PJSIP_RELOAD, "reloaded successfully"),
    Reload.QUEUE_PARAMETERS: lambda ami, _cli: reload_queues(ami, parameters=True, rules=False),
    Reload.QUEUE_MEMBERS: lambda ami, _cli: reload_queues(
        ami, parameters=True, rules=False, members=True
    ),
    Reload.QUEUE_RULES: lambda ami, _cli: reload_queues(ami, parameters=False, rules=True),
    Reload.DIALPLAN: lambda _ami, cli: _cli_checked(cli, DIALPLAN_RELOAD, "Dialplan reloaded"),
}


async def _confirmed(
    reload: Reload, ami: AmiLists, asterisk: AsteriskCli, plan: ReloadPlan, new: Settings
) -> None:
    """Poll what Asterisk holds until it shows the reload took effect; ApplyError if not."""
    deadline, readback = time.monotonic() + CONFIRM_S, _Readback(ami, asterisk, plan, new)
    while True:
        missing = await _MISSING[reload](readback)
        if not missing:
            return
        if time.monotonic() > deadline:
            raise ApplyError(f"{reload.value} did not take effect: {'; '.join(missing)}")
        await asyncio.sleep(POLL_S)


@dataclass(frozen=True)
class _Readback:
    """What a confirmation reads: Asterisk over AMI and its CLI, the plan, the settings."""

    ami: AmiLists
    asterisk: AsteriskCli
    plan: ReloadPlan
    new: Settings


async def _pjsip_missing(r: _Readback) -> list[str]:
    """Every changed endpoint listed (a removed one not), every changed AOR's contact."""
    new = sections_of(r.plan.files["pjsip.conf"])
    old = sections_of(r.plan.old_files.get("pjsip.conf", ""))
    endpoints = _endpoint_names(await r.asterisk.cli("pjsip show endpoints"))
    contacts = await r.asterisk.cli("pjsip show contacts")
    missing = []
    for key in r.plan.sections["pjsip.conf"]:
        block = new.get(key)
        name = key.partition("#")[0]
        if block is None:
            if "type = endpoint" in old.get(key, "") and name in endpoints:
                missing.append(f"endpoint {name} still there")
        elif "type = endpoint" in block and name not in endpoints:
            missing.append(f"endpoint {name} not there")
        elif (
            "type = aor" in block
            and (uri := _value(block, "contact"))
            and (f"{name}/{uri} " not in contacts)
        ):
            missing.append(f"contact {name}/{uri} not there")
    return missing


def _endpoint_names(listing: str) -> set[str]:
    """`pjsip show endpoints` → the endpoints' names (" Endpoint:  1001/1001  Not in use")."""
    names = set()
    for line in listing.splitlines():
        words = line.split()
        if len(words) > 1 and words[0] == "Endpoint:" and not words[1].startswith("<"):
            names.add(words[1].partition("/")[0])
    return names


def _value(block: str, key: str) -> str:
    for line in block.splitlines():
        name, sep, value = line.partition(" = ")
        if sep and name == key:
            return value
    return ""


async def _queues_missing(r: _Readback) -> list[str]:
    """Every queue of `new` in app_queue with its strategy (the wrap-up and ring timeout are
    read with it from the same section; Asterisk shows neither)."""
    held = await queue_params(r.ami)
    missing = []
    for queue in r.new.queues:
        strategy = held.get(queue.name, {}).get("Strategy")
        if strategy != queue.strategy:
            missing.append(f"queue {queue.name}: strategy {strategy}, not {queue.strategy}")
    return missing


async def _members_missing(r: _Readback) -> list[str]:
    """As `_queues_missing`, and the duty queue's static members the duty group's phones."""
    items = await r.ami.action_list("QueueStatus", CONFIRM_S, Queue=DUTY_QUEUE)
    held = {i.get("Location", "") for i in items
            if i.get("Event") == "QueueMember" and i.get("Membership") == "static"}  # fmt: skip
    wanted = {interface_of(ext) for ext in r.new.hours.duty_group.extensions}
    if held != wanted:
        return [f"duty queue members {sorted(held)}, not {sorted(wanted)}"]
    return await _queues_missing(r)


async def _rules_missing(r: _Readback) -> list[str]:
    """Every changed rule listed by app_queue with as many penalty changes as written."""
    missing = []
    for name, block in _changed(r.plan, "queuerules.conf"):
        listing = await r.asterisk.cli(f"queue show rules {name}")
        held, wanted = listing.count("After "), block.count("penaltychange")
        if held != wanted:
            missing.append(f"rule {name}: {held} changes, not {wanted}")
    return missing


async def _dialplan_missing(r: _Readback) -> list[str]:
    """Every changed context with exactly its extensions, each with its number of steps."""
    missing = []
    for name, block in _changed(r.plan, "extensions.conf"):
        if name not in NOT_CONTEXTS:
            wanted = _priorities(block)
            held = Counter(item["Extension"] for item in await dialplan_of(r.ami, name))
            if held != wanted:
                missing.append(f"context {name}: {sorted(held.items())}, not "
                               f"{sorted(wanted.items())}")  # fmt: skip
    return missing


def _changed(plan: ReloadPlan, file: str) -> list[tuple[str, str]]:
    """The changed sections of a file written: name and new text ("" for one removed)."""
    new = sections_of(plan.files[file])
    return [(name, new.get(name, "")) for name in plan.sections[file]]


def _priorities(block: str) -> dict[str, int]:
    """A rendered context → each extension's number of priorities (`exten =>`, `same =>`)."""
    counts: dict[str, int] = {}
    exten = ""
    for line in block.splitlines():
        line = line.strip()
        if line.startswith("exten => "):
            exten = line.removeprefix("exten => ").split(",", 1)[0]
            counts[exten] = counts.get(exten, 0) + 1
        elif line.startswith("same => ") and exten:
            counts[exten] += 1
    return counts


_MISSING: dict[Reload, Callable[[_Readback], Awaitable[list[str]]]] = {
    Reload.PJSIP: _pjsip_missing,
    Reload.QUEUE_PARAMETERS: _queues_missing,
    Reload.QUEUE_MEMBERS: _members_missing,
    Reload.QUEUE_RULES: _rules_missing,
    Reload.DIALPLAN: _dialplan_missing,
}
