"""Asterisk's own record of the calls, read back (pure): cdr_csv's Master.csv and app_queue's
queue_log, as the reconciliation's second witness of what our call records say.

Column order of Master.csv with `loguniqueid`, `loguserfield` and `newcdrcolumns` (Asterisk
16.28, checked on a real call): accountcode, src, dst, dcontext, clid, channel, dstchannel,
lastapp, lastdata, start, answer, end, duration, billsec, disposition, amaflags, uniqueid,
userfield, peeraccount, linkedid, sequence; times in UTC (`usegmtime`), to the second.
A queue_log line is `epoch|callid|queue|agent|event|data…`; the callid is the caller's
uniqueid (our Linkedid).

Both files carry caller numbers (src, clid, ENTERQUEUE's data): nothing here keeps them.
A line that does not parse is counted and skipped, never fatal; a last line without its
newline is one Asterisk is still writing, left for the next reading.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Generic, TypeVar

T = TypeVar("T")

CDR_COLUMNS = 21
_CDR_TIME = "%Y-%m-%d %H:%M:%S"
CONNECTED = frozenset({"CONNECT"})
UNANSWERED_ENDS = frozenset({"ABANDON", "EXITWITHTIMEOUT", "EXITWITHKEY", "EXITEMPTY"})
TALK_ENDS = frozenset({"COMPLETECALLER", "COMPLETEAGENT", "BLINDTRANSFER", "ATTENDEDTRANSFER"})


@dataclass(frozen=True)
class CdrRow:
    channel: str
    dstchannel: str
    dcontext: str
    lastapp: str
    start: datetime
    answer: datetime | None
    end: datetime
    disposition: str
    uniqueid: str
    linkedid: str
    sequence: int


@dataclass(frozen=True)
class QueueLogEvent:
    at: datetime
    callid: str
    queue: str
    event: str


@dataclass
class Parsed(Generic[T]):
    items: list[T] = field(default_factory=list)
    bad_lines: int = 0


def _cdr_time(text: str) -> datetime | None:
    if not text:
        return None
    return datetime.strptime(text, _CDR_TIME)  # naive UTC, as the call records


def _whole_lines(text: str) -> list[str]:
    return text.split("\n")[:-1]  # what follows the last newline is not written whole yet


def parse_cdr_csv(text: str) -> Parsed[CdrRow]:
    """Master.csv's rows; a line with the wrong shape or a bad time is counted, skipped."""
    parsed: Parsed[CdrRow] = Parsed()
    for line in _whole_lines(text):
        if not line.strip():
            continue
        try:
            cells = next(csv.reader([line], strict=True))
            if len(cells) != CDR_COLUMNS:
                raise ValueError(f"{len(cells)} columns")
            start, end = _cdr_time(cells[9]), _cdr_time(cells[11])
            if start is None or end is None or not cells[19]:
                raise ValueError("no start, end or linkedid")
            parsed.items.append(CdrRow(
                channel=cells[5], dstchannel=cells[6], dcontext=cells[3], lastapp=cells[7],
                start=start, answer=_cdr_time(cells[10]), end=end, disposition=cells[14],
                uniqueid=cells[16], linkedid=cells[19], sequence=int(cells[20]),
            ))  # fmt: skip
        except (ValueError, csv.Error, StopIteration):
            parsed.bad_lines += 1
    return parsed


def parse_queue_log(text: str) -> Parsed[QueueLogEvent]:
    """queue_log's caller events (member events, callid NONE/MANAGER, are left out)."""
    parsed: Parsed[QueueLogEvent] = Parsed()
    for line in _whole_lines(text):
        if not line.strip():
            continue
        parts = line.split("|")
        try:
            if len(parts) < 5 or not parts[4]:
                raise ValueError("too few fields")
            at = datetime.fromtimestamp(int(parts[0]), UTC).replace(tzinfo=None)
        except (ValueError, OverflowError, OSError):
            parsed.bad_lines += 1
            continue
        if parts[1] in {"NONE", "MANAGER", ""}:
            continue
        parsed.items.append(QueueLogEvent(at=at, callid=parts[1], queue=parts[2], event=parts[4]))
    return parsed


@dataclass(frozen=True)
class WitnessCall:
    """One call as Asterisk recorded it."""

    linkedid: str
    started_at: datetime
    ended_at: datetime
    queued: bool
    answered: bool  # an agent was connected (queue_log CONNECT, or a CDR leg to an agent)
    abandoned: bool
    answered_at: datetime | None = None  # queue_log's first CONNECT, else the agent leg's answer


def witness_calls(
    cdr: list[CdrRow], queue_log: list[QueueLogEvent], caller_channel_prefix: str
) -> dict[str, WitnessCall]:
    """The calls that reached the hotline (their first channel is the carrier's, prefix
    e.g. `PJSIP/carrier-`), by Linkedid. Position whispers, supervisors' spy calls and other
    originated channels have another first channel and are left out."""
    by_call: dict[str, list[CdrRow]] = {}
    for row in cdr:
        by_call.setdefault(row.linkedid, []).append(row)
    events: dict[str, set[str]] = {}
    connected: dict[str, datetime] = {}
    for e in queue_log:
        events.setdefault(e.callid, set()).add(e.event)
        if e.event in CONNECTED:
            connected[e.callid] = min(e.at, connected.get(e.callid, e.at))
    calls = {}
    for linkedid, rows in by_call.items():
        if not any(
            r.uniqueid == linkedid and r.channel.startswith(caller_channel_prefix) for r in rows
        ):
            continue
        seen = events.get(linkedid, set())
        agent_legs = [
            r.answer or r.start
            for r in rows
            if r.dstchannel and r.disposition == "ANSWERED" and r.lastapp == "Queue"
        ]
        agent_leg = bool(agent_legs)
        calls[linkedid] = WitnessCall(
            linkedid=linkedid,
            started_at=min(r.start for r in rows),
            ended_at=max(r.end for r in rows),
            queued="ENTERQUEUE" in seen or any(r.lastapp == "Queue" for r in rows),
            answered=bool(seen & CONNECTED) or agent_leg,
            abandoned=bool(seen & UNANSWERED_ENDS) and not seen & CONNECTED,
            answered_at=connected.get(linkedid) or min(agent_legs, default=None),
        )
    return calls
