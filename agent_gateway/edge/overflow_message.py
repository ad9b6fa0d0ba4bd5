"""The `overflow` message: a queue's overflow seats switched in or out on its thresholds,
pushed to the supervisors' topic (the wall shows 溢出席位启用/停用 with the reason). Pure:
no I/O; listed among the bus messages with the supervisors' (`supervisor_commands`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from agent_gateway.edge.message_rules import Out


class OverflowSwitch(Out):
    type: Literal["overflow"] = "overflow"
    queue: str
    on: bool = Field(description="true: the seats joined the queue; false: they left it")
    seats: list[str] = Field(description="the seats' extensions")
    reason: str = Field(description="the queue's figures against the thresholds (Chinese)")
    text: str = Field(description="what the wall shows, e.g. 溢出席位启用（hotline）：…")
    at: float = Field(description="epoch seconds")


def overflow_switch(
    queue: str, on: bool, seats: list[str], reason: str, at: float
) -> OverflowSwitch:
    word = "启用" if on else "停用"
    text = f"溢出席位{word}（{queue}）：{reason}"
    return OverflowSwitch(queue=queue, on=on, seats=seats, reason=reason, text=text, at=at)
