"""The overflow control over a recording AMI: seats in on a start threshold, kept in between,
out once the queue drains (no call hung up), followed through a new configuration, and seats
a stopped backend left in taken out at start-up."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from config.secrets import resolve_secrets
from config.settings import SEAT_PENALTY, Settings, load_settings
from telephony.call import Call, CallState
from telephony.overflow_seats import OverflowControl, Switch, seats_of
from telephony.tracker import CallTracker


class RecordingAmi:
    def __init__(self, paused: dict[str, str] | None = None) -> None:
        self.actions: list[tuple[str, str, str]] = []  # (action, queue, interface)
        self.headers: list[dict[str, str]] = []
        self.paused = paused or {}  # interface → the reason it is paused with in a queue

    async def action(self, name: str, timeout: float = 10, **headers: str) -> dict[str, str]:
        self.actions.append((name, headers["Queue"], headers["Interface"]))
        self.headers.append(headers)
        return {"Response": "Success"}

    async def action_list(
        self, name: str, timeout: float = 10, **headers: str
    ) -> list[dict[str, str]]:
        assert name == "QueueStatus"
        member = headers["Member"]
        if member not in self.paused:
            return [{"Event": "QueueMember", "Paused": "0", "PausedReason": ""}]
        return [{"Event": "QueueMember", "Paused": "1", "PausedReason": self.paused[member]}]


RULE = {"queue": "hotline", "skill": "overflow", "start_wait_s": 30, "start_waiting": 2,
        "stop_wait_s": 5, "stop_waiting": 0}  # fmt: skip


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    state = tmp_path_factory.mktemp("state")
    environ = {"HOTLINE_AMI__SECRET": "s3cret-from-the-env", "HOTLINE_PATHS__STATE_DIR": str(state)}
    return with_overflow(resolve_secrets(load_settings(environ=environ)), RULE)


def with_overflow(settings: Settings, *rules: dict[str, Any]) -> Settings:
    data = settings.model_dump()
    data["queues"] = [q | {"overflow_skill": None} for q in data["queues"]]
    data["overflow"] = list(rules)
    return Settings.model_validate(data)


def queued(tracker: CallTracker, linkedid: str, at: float, state: CallState) -> None:
    tracker.calls[linkedid] = Call(linkedid, linkedid, "PJSIP/carrier-1", "139", "市民", at,
                                   state=state, queue="hotline", queued_at=at)  # fmt: skip


async def test_seats_in_on_the_count_kept_in_between_out_when_drained(settings: Settings) -> None:
    ami, tracker, switches = RecordingAmi(), CallTracker(), list[Switch]()
    now = [1000.0]

    async def told(switch: Switch) -> None:
        switches.append(switch)

    control = OverflowControl(ami, tracker, settings, told, clock=lambda: now[0])
    queued(tracker, "a", 999.0, CallState.QUEUED)
    await control.evaluate()  # one caller, 1 s: nothing; start-up takes out any seat left
    assert ami.actions == [("QueueRemove", "hotline", "PJSIP/1901")] and switches == []
    queued(tracker, "b", 999.5, CallState.QUEUED)
    await control.evaluate()  # two waiting: in, after every own agent of the queue
    assert ami.actions[1:] == [("QueueAdd", "hotline", "PJSIP/1901")]
    assert ami.headers[1]["Penalty"] == str(SEAT_PENALTY) == "99"
    assert switches == [Switch("hotline", True, "排队 2 人，达到启用阈值 2 人", ("1901",), 1000.0)]
    queued(tracker, "a", 999.0, CallState.TALKING)  # answered by the seat: one left, in
    await control.evaluate()
    assert len(ami.actions) == 2 and len(switches) == 1
    queued(tracker, "b", 999.5, CallState.TALKING)
    now[0] = 1003.0
    await control.evaluate()  # nobody waits: out, while the seat still talks
    assert ami.actions[2:] == [("QueueRemove", "hotline", "PJSIP/1901")]
    assert (switches[1].on, switches[1].seats) == (False, ("1901",))
    assert [name for name, *_ in ami.actions] == ["QueueRemove", "QueueAdd", "QueueRemove"]


async def test_new_thresholds_and_a_rule_removed_apply_at_the_next_evaluation(
    settings: Settings,
) -> None:
    ami, tracker = RecordingAmi(), CallTracker()

    async def told(switch: Switch) -> None:
        pass

    control = OverflowControl(ami, tracker, settings, told, clock=lambda: 1010.0)
    queued(tracker, "a", 1000.0, CallState.QUEUED)  # one caller, 10 s: under 30 s and 2
    await control.evaluate()
    assert "hotline" not in control.seated
    control.settings = with_overflow(settings, RULE | {"start_wait_s": 8, "stop_wait_s": 3})
    await control.evaluate()
    assert control.seated == {"hotline": {"1901"}}
    control.settings = with_overflow(settings)  # the rule removed: out
    await control.evaluate()
    assert control.seated == {} and ami.actions[-1] == ("QueueRemove", "hotline", "PJSIP/1901")


def test_the_seats_are_the_skill_and_the_extensions_but_not_the_queue_own(
    settings: Settings,
) -> None:
    rule = settings.overflow[0].model_copy(update={"extensions": ("1003", "1001")})
    # 1001 and 1003 have the queue's skill (general): already its own, not seats
    assert seats_of(settings, rule) == {"1901": "赵敏(支援)"}
    complaint = rule.model_copy(update={"queue": "complaint", "skill": None})
    assert seats_of(settings, complaint) == {"1001": "王芳"}


async def two_waiting(ami: RecordingAmi, settings: Settings) -> OverflowControl:
    """A control past start-up, evaluated once with two callers waiting in hotline (on)."""
    tracker = CallTracker()

    async def told(switch: Switch) -> None:
        pass

    control = OverflowControl(ami, tracker, settings, told, clock=lambda: 1000.0)
    control._looked.add("hotline")  # past start-up
    queued(tracker, "a", 999.0, CallState.QUEUED)
    queued(tracker, "b", 999.0, CallState.QUEUED)
    await control.evaluate()
    return control


async def test_a_seat_on_a_break_joins_paused_with_its_reason(settings: Settings) -> None:
    ami = RecordingAmi(paused={"PJSIP/1901": "午餐"})
    await two_waiting(ami, settings)
    assert ami.actions == [("QueueAdd", "hotline", "PJSIP/1901"),
                           ("QueuePause", "hotline", "PJSIP/1901")]  # fmt: skip
    assert ami.headers[0]["Paused"] == "true" and ami.headers[1]["Reason"] == "午餐"


def given_general(settings: Settings, extension: str) -> Settings:
    data = settings.model_dump()
    for a in data["agents"]:
        if a["extension"] == extension:
            a["skills"] = [*a["skills"], "general"]
    return Settings.model_validate(data)


@pytest.mark.parametrize("waiting", [2, 0])  # still on; drained, off
async def test_a_seat_given_the_queue_s_skill_stays_in(settings: Settings, waiting: int) -> None:
    ami = RecordingAmi()
    control = await two_waiting(ami, settings)
    assert control.seated == {"hotline": {"1901"}}
    for linkedid in ("a", "b")[waiting:]:
        queued(control.tracker, linkedid, 999.0, CallState.TALKING)
    control.settings = given_general(settings, "1901")  # hotline's own member now (live apply)
    await control.evaluate()
    assert [name for name, *_ in ami.actions] == ["QueueAdd"]  # no QueueRemove
    assert control.seated == ({"hotline": set()} if waiting else {})


async def test_an_evaluation_waits_for_the_members_lock(settings: Settings) -> None:
    ami, tracker = RecordingAmi(), CallTracker()

    async def told(switch: Switch) -> None:
        pass

    control = OverflowControl(ami, tracker, settings, told, clock=lambda: 1000.0)
    async with control.members:  # a live apply changing members
        evaluation = asyncio.create_task(control.evaluate())
        await asyncio.sleep(0)  # its turn: without the lock it runs to the end (no AMI waits)
        assert ami.actions == [] and not evaluation.done()
    await asyncio.wait_for(evaluation, 5)
    assert ami.actions == [("QueueRemove", "hotline", "PJSIP/1901")]  # start-up's clean-up
