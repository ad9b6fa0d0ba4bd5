"""The supervisors' commands: their own set, parsed strictly; the target agent and a reason
text (required, bounded, one line) in every one; the forced pause's reason one of the desk's."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from agent_gateway.desk.http import STATIC
from agent_gateway.edge.protocol import (
    COMMAND_NAMES,
    ErrorCode,
    ProtocolError,
    parse_client_message,
)
from agent_gateway.edge.supervisor_commands import (
    MAX_REASON_CHARS,
    PAUSE_REASONS,
    SUPERVISOR_COMMAND_NAMES,
    SUPERVISOR_COMMANDS,
    AssignQueue,
    ForceLogout,
    ForcePause,
    ForceUnpause,
    MoveQueue,
)


def cmd(name: str, **args: Any) -> str:
    return json.dumps(
        {"type": "command", "id": "s1", "name": name, "args": args}, ensure_ascii=False
    )


WHY = {"extension": "1001", "reason": "培训时间到"}


def test_each_supervisor_command_parses_to_its_model() -> None:
    pause = parse_client_message(cmd("force_pause", pause_reason="培训", **WHY))
    assert isinstance(pause, ForcePause) and pause.args.pause_reason == "培训"
    assert pause.args.extension == "1001" and pause.args.reason == "培训时间到"
    assert isinstance(parse_client_message(cmd("force_unpause", **WHY)), ForceUnpause)
    assert isinstance(parse_client_message(cmd("force_logout", **WHY)), ForceLogout)
    move = parse_client_message(
        cmd("move_queue", from_queue="hotline", to_queue="complaint", **WHY)
    )
    assert isinstance(move, MoveQueue) and (move.args.from_queue, move.args.to_queue) == (
        "hotline", "complaint",
    )  # fmt: skip
    assign = parse_client_message(cmd("assign_queue", queue="hotline", **WHY))
    assert isinstance(assign, AssignQueue) and assign.args.queue == "hotline"


def test_they_are_a_set_of_their_own_in_the_protocol() -> None:
    assert {m.model_fields["name"].annotation.__args__[0] for m in SUPERVISOR_COMMANDS} == (  # type: ignore[union-attr]
        SUPERVISOR_COMMAND_NAMES
    )
    assert SUPERVISOR_COMMAND_NAMES <= COMMAND_NAMES


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (cmd("force_pause", pause_reason="培训", extension="1001", reason=""), "args.reason"),
        (cmd("force_pause", pause_reason="培训", extension="1001", reason="   "), "args.reason"),
        (cmd("force_unpause", extension="1001", reason="a\r\nAction: Hangup"), "args.reason"),
        (cmd("force_logout", extension="1001", reason="下班\n"), "args.reason"),
        (cmd("force_logout", extension="1001", reason="a\x00"), "args.reason"),
        (cmd("force_logout", extension="1001", reason="a\u2028b"), "args.reason"),
        (cmd("force_logout", extension="1001", reason="长" * (MAX_REASON_CHARS + 1)),
         "args.reason"),
        (cmd("force_logout", extension="1001"), "args.reason"),
        (cmd("force_pause", extension="1001", reason="x"), "args.pause_reason"),
        (cmd("force_pause", pause_reason="wrap-up", **WHY), "args.pause_reason"),
        (cmd("force_pause", pause_reason="随便", **WHY), "args.pause_reason"),
        (cmd("force_unpause", extension="10a1", reason="x"), "args.extension"),
        (cmd("force_unpause", extension="1001\r\n", reason="x"), "args.extension"),
        (cmd("force_unpause", reason="x"), "args.extension"),
        (cmd("move_queue", from_queue="hotline", to_queue="a\nb", **WHY), "args.to_queue"),
        (cmd("move_queue", to_queue="hotline", **WHY), "args.from_queue"),
        (cmd("assign_queue", queue="hot line", **WHY), "args.queue"),
        (cmd("force_unpause", channel="PJSIP/1001-1", **WHY), "args.channel"),
    ],
)
def test_bad_arguments_are_refused_naming_the_field(text: str, field: str) -> None:
    with pytest.raises(ProtocolError) as refused:
        parse_client_message(text)
    assert refused.value.code is ErrorCode.INVALID_ARGS
    assert refused.value.command_id == "s1"
    assert refused.value.message.startswith(field), refused.value.message


def test_a_reason_of_the_longest_length_is_accepted() -> None:
    text = cmd("force_logout", extension="1001", reason="长" * MAX_REASON_CHARS)
    assert isinstance(parse_client_message(text), ForceLogout)


def test_the_forced_pauses_reasons_are_the_agent_pages() -> None:
    """agent.html's 示忙原因: a forced pause reads on the desk and the wall like the agent's own."""
    page = (STATIC / "agent.html").read_text(encoding="utf-8")
    select = re.search(r'<select id="pause-reason">(.*?)</select>', page, re.DOTALL)
    assert select is not None
    assert tuple(re.findall(r'<option value="([^"]*)">', select.group(1))) == PAUSE_REASONS
