"""The telephony document's checks as a whole: every problem found, each naming its field
(dotted path, list indexes included: `queues.1.skill`), in Chinese for the admins."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from config.telephony_config import TelephonyConfig

EMERGENCY_LINES = frozenset({"110", "119", "120"})


@dataclass(frozen=True)
class FieldProblem:
    field: str  # dotted path: "queues.1.skill"
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message

    def as_json(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


def problems(document: TelephonyConfig) -> list[FieldProblem]:
    found: list[FieldProblem] = []
    found += _numbers(document)
    found += _agents(document)
    found += _queues(document)
    found += _trunks(document)
    found += _overflow(document)
    found += _hours(document)
    found += _duplicates(
        "号码", ((f"nuisance.{i}.number", n.number) for i, n in enumerate(document.nuisance))
    )
    return found


def _duplicates(what: str, named: Iterable[tuple[str, object]]) -> list[FieldProblem]:
    first: dict[object, str] = {}
    found = []
    for field, value in named:
        if value in first:
            found.append(FieldProblem(field, f'{what} "{value}" 重复（已用于 {first[value]}）'))
        else:
            first[value] = field
    return found


def _numbers(document: TelephonyConfig) -> list[FieldProblem]:
    """Every number Asterisk routes is one thing: an agent, a colleague, a trunk's line or
    the centre's inbound number."""
    named = [(f"inbound_numbers.{i}", n) for i, n in enumerate(document.inbound_numbers)]
    named += [(f"agents.{i}.extension", a.extension) for i, a in enumerate(document.agents)]
    named += [(f"colleagues.{i}.extension", c.extension) for i, c in enumerate(document.colleagues)]
    named += [(f"trunks.{k}.number", t.number) for k, t in document.trunks.items()]
    return _duplicates("号码", named)


def _agents(document: TelephonyConfig) -> list[FieldProblem]:
    found = _duplicates(
        "CRM 用户",
        ((f"agents.{i}.crm_user_id", a.crm_user_id) for i, a in enumerate(document.agents)
         if a.crm_user_id is not None),
    )  # fmt: skip
    for i, agent in enumerate(document.agents):
        for skill in agent.penalties:
            if skill not in agent.skills:
                message = f'坐席没有技能 "{skill}"，不能设置其优先级'
                found.append(FieldProblem(f"agents.{i}.penalties.{skill}", message))
    return found


def _unknown_skill(field: str, skill: str) -> FieldProblem:
    return FieldProblem(field, f'未知技能 "{skill}"：没有坐席具备此技能')


def _skills(document: TelephonyConfig) -> set[str]:
    return {s for a in document.agents for s in a.skills}


def _queues(document: TelephonyConfig) -> list[FieldProblem]:
    found = _duplicates(
        "队列名", ((f"queues.{i}.name", q.name) for i, q in enumerate(document.queues))
    )
    skills = _skills(document)
    for i, queue in enumerate(document.queues):
        if queue.skill not in skills:
            found.append(_unknown_skill(f"queues.{i}.skill", queue.skill))
        if queue.overflow_skill is not None and queue.overflow_skill not in skills:
            found.append(_unknown_skill(f"queues.{i}.overflow_skill", queue.overflow_skill))
    names = {q.name for q in document.queues}
    choices = {**document.ivr.queues, "operator": document.ivr.operator_queue}
    for label, queue_name in choices.items():
        if queue_name not in names:
            found.append(FieldProblem(f"ivr.queues.{label}", f'未知队列 "{queue_name}"'))
    return found


def _trunks(document: TelephonyConfig) -> list[FieldProblem]:
    """An emergency line needs a backup (a citizen's 110 call must get through); the outbound
    trunk may do without (a call back that fails is retried later, nobody waits on it), but
    its backup is no second route if it is its primary again."""
    found = [
        FieldProblem(f"trunks.{key}.backup", f"紧急线路 {trunk.number} 必须配置备用线路")
        for key, trunk in document.trunks.items()
        if trunk.number in EMERGENCY_LINES and trunk.backup is None
    ]
    outbound = document.outbound
    if outbound is not None and outbound.backup == outbound.primary:
        found.append(FieldProblem("outbound.backup", "备用线路不能与主用线路相同"))
    return found


def _overflow(document: TelephonyConfig) -> list[FieldProblem]:
    found = _duplicates(
        "队列", ((f"overflow.{i}.queue", o.queue) for i, o in enumerate(document.overflow))
    )
    names, skills = {q.name for q in document.queues}, _skills(document)
    agents = {a.extension for a in document.agents}
    for i, seats in enumerate(document.overflow):
        at = f"overflow.{i}"
        if seats.queue not in names:
            found.append(FieldProblem(f"{at}.queue", f'未知队列 "{seats.queue}"'))
        if seats.skill is None and not seats.extensions:
            found.append(FieldProblem(at, "请指定支援席位：技能（skill）或分机（extensions）"))
        if seats.skill is not None and seats.skill not in skills:
            found.append(
                FieldProblem(f"{at}.skill", f"未知技能 {seats.skill!r}：没有坐席具备此技能")
            )
        for j, extension in enumerate(seats.extensions):
            if extension not in agents:
                found.append(FieldProblem(f"{at}.extensions.{j}", f'未知坐席分机 "{extension}"'))
        if seats.stop_wait_s >= seats.start_wait_s:
            found.append(_inverted(f"{at}.stop_wait_s", "最长等待", seats.stop_wait_s,
                                   seats.start_wait_s, "秒"))  # fmt: skip
        if seats.stop_waiting >= seats.start_waiting:
            found.append(_inverted(f"{at}.stop_waiting", "排队人数", seats.stop_waiting,
                                   seats.start_waiting, "人"))  # fmt: skip
    return found


def _inverted(field: str, what: str, stop: int, start: int, unit: str) -> FieldProblem:
    return FieldProblem(
        field, f"停止阈值（{what} {stop} {unit}）必须小于启动阈值（{start} {unit}），否则会反复启停"
    )


def _hours(document: TelephonyConfig) -> list[FieldProblem]:
    found = []
    for day, ranges in document.hours.weekly.items():
        ordered = sorted(enumerate(ranges), key=lambda item: item[1].start)
        for (_, earlier), (j, later) in pairwise(ordered):
            if later.start < earlier.end:
                found.append(
                    FieldProblem(f"hours.weekly.{day}.{j}", "时间段与同一天的另一时间段重叠")
                )
    phones = {a.extension for a in document.agents} | {c.extension for c in document.colleagues}
    for j, extension in enumerate(document.hours.duty_group.extensions):
        if extension not in phones:
            message = f'未知分机 "{extension}"：不是坐席也不是同事电话'
            found.append(FieldProblem(f"hours.duty_group.extensions.{j}", message))
    return found
