"""Issue 14's live change as the E2E tests make it: the ports and thresholds, the document
changed five ways (`changed_data`), and each change as the running centre holds it."""

from __future__ import annotations

from typing import Any

from config.settings import Settings
from hotline_cli.demo.ports import free_udp_port
from tests.e2e.harness import Centre
from tests.e2e.live_config_support import Check
from tests.e2e.queue_support import queue_status

OLD_PRIMARY, BACKUP, NEW_PRIMARY = free_udp_port(), free_udp_port(), free_udp_port()
NEW_AGENT_PORT = free_udp_port()
WRAPUP_S = 3  # the new wrap-up of the hotline queue (the old one is 0)
SEAT = "PJSIP/1901"  # the hotline's overflow seat: in at 3 waiting, at 2 after the change
OLD_SEATS = {"start_waiting": 3, "start_wait_s": 600, "stop_waiting": 0, "stop_wait_s": 599}
NEW_START_WAITING = 2
NUISANCE = "13900000109"


def changed_data(data: dict[str, Any]) -> dict[str, Any]:
    """Settings or a telephony document (as dumped) with 1003 added, the hotline queue on
    ringall with a wrap-up, the 110 primary trunk moved, the hotline's overflow seat in at
    two waiting, a nuisance number."""
    data = dict(data)
    data["agents"] = [*data["agents"], {
        "extension": "1003", "name": "张伟", "skills": ["general"],
        "contact": f"sip:1003@127.0.0.1:{NEW_AGENT_PORT}",
    }]  # fmt: skip
    data["queues"] = [q | {"strategy": "ringall", "wrapup_s": WRAPUP_S} if q["name"] == "hotline"
                      else q for q in data["queues"]]  # fmt: skip
    police = data["trunks"]["police"] | {"primary": f"127.0.0.1:{NEW_PRIMARY}"}
    data["trunks"] = data["trunks"] | {"police": police}
    data["overflow"] = [o | {"start_waiting": NEW_START_WAITING} for o in data["overflow"]]
    data["nuisance"] = [*data["nuisance"], {"number": NUISANCE, "reason": "多次辱骂话务员"}]
    return data


def changed(old: Settings) -> Settings:
    return Settings.model_validate(changed_data(old.model_dump()))


def holding(centre: Centre, *, new: bool, waiting: list[set[str]]) -> dict[str, Check]:
    """Each change as the running centre holds it: the new one (`new`, with the overflow seat
    in for the two waiting), else the old one; `waiting` gets the callers queued at each look
    at the strategy, the last one when the queues.conf reload is seen (before any member is
    added: nobody can have taken them)."""

    async def agent() -> bool:
        return ("PJSIP/1003" in (await queue_status(centre))[1]) is new

    async def strategy() -> bool:  # the wrap-up comes in the same queues.conf reload
        strategy, _, queued = await queue_status(centre)
        waiting.append(queued)
        return strategy == ("ringall" if new else "rrmemory")

    async def trunk() -> bool:  # over AMI: no `asterisk -rx` process per look
        async def value(expression: str) -> str:
            return (await centre.hotline.ami.action("Getvar", Variable=expression))["Value"]

        contact = await value("PJSIP_AOR(trunk-110-primary,contact)")  # the contact's name
        uri = await value(f"PJSIP_CONTACT({contact},uri)") if contact else ""
        return f"127.0.0.1:{NEW_PRIMARY if new else OLD_PRIMARY}" in uri

    async def nuisance() -> bool:
        listed = {e.number for e in centre.hotline.followers.nuisance.entries}
        return (NUISANCE in listed) is new

    async def seat_in() -> bool:
        return SEAT in (await queue_status(centre))[1]

    checks: dict[str, Check] = {"agent 1003": agent, "strategy": strategy, "110 primary": trunk,
                                "IVR nuisance list": nuisance}  # fmt: skip
    return checks | {"overflow seat in": seat_in} if new else checks


async def seat_stays_out(centre: Centre) -> None:
    """An evaluation of the overflow control on the callers waiting now left the seat out."""
    await centre.hotline.followers.overflow.evaluate()
    assert SEAT not in (await queue_status(centre))[1]


def print_figures(
    listed: dict[str, Any], new: int, applied_ms: dict[str, float], to_new_agent_s: float,
    reverted_ms: dict[str, float],
) -> None:  # fmt: skip
    """The acceptance's figures: each version's outcome, each change's time to hold."""
    outcomes = {v["version"]: v["applied"]["reason"] for v in listed["items"] if v["applied"]}
    figures = ", ".join(f"{name} {ms:.0f}" for name, ms in applied_ms.items())
    back = ", ".join(f"{name} {ms:.0f}" for name, ms in reverted_ms.items())
    print(
        f"\nversion {new}: {outcomes[new]}; version {new + 1}: {outcomes[new + 1]}"
        f"\nPUT 200 → the centre holding each change (ms): {figures}"
        f"\nPUT 200 → new agent talking (0.8 s ring included): {to_new_agent_s * 1000:.0f} ms"
        f"\nrevert 200 → the centre back (ms): {back}"
    )
