"""Client messages: what is accepted, and the precise error for what is not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent_gateway.edge.call_commands import Dispose, SaveOrder
from agent_gateway.edge.control_commands import Consult
from agent_gateway.edge.protocol import (
    COMMAND_NAMES,
    ErrorCode,
    Login,
    Pause,
    Ping,
    ProtocolError,
    Resume,
    ScreenPop,
    Transfer,
    parse_client_message,
)
from agent_gateway.edge.protocol_schema import json_schema

SCHEMA_FILE = Path(__file__).parents[3] / "docs" / "agent_protocol.schema.json"


def cmd(name: str, **extra: Any) -> str:
    return json.dumps({"type": "command", "id": "c1", "name": name, **extra}, ensure_ascii=False)


def test_accepted_messages() -> None:
    assert parse_client_message('{"type": "ping"}') == Ping(type="ping")
    assert parse_client_message(b'{"type": "resume", "last_seq": 12}') == Resume(
        type="resume", last_seq=12
    )
    login = parse_client_message(cmd("login"))
    assert isinstance(login, Login) and login.args.queues is None
    pause = parse_client_message(cmd("pause", args={"reason": "午饭"}))
    assert isinstance(pause, Pause) and pause.args.reason == "午饭"
    transfer = parse_client_message(cmd("transfer", args={"target": "12345"}))
    assert isinstance(transfer, Transfer) and transfer.args.mode == "blind"
    order = parse_client_message(cmd("save_order", args={"order": {"标题": "<b>路灯</b>"}}))
    assert isinstance(order, SaveOrder) and order.args.order == {"标题": "<b>路灯</b>"}
    silent = {"call_id": "1700000000.7", "disposition": "silent", "note": "无声\n两次"}
    dispose = parse_client_message(cmd("dispose", args=silent))
    assert isinstance(dispose, Dispose) and dispose.args.note == "无声\n两次"
    bare = parse_client_message(cmd("dispose", args={"call_id": "1.2", "disposition": "test"}))
    assert isinstance(bare, Dispose) and bare.args.note == ""
    for name in ("recording_pause", "recording_resume"):
        paused = parse_client_message(cmd(name, args={"call_id": "1700000000.7"}))
        assert paused.args.call_id == "1700000000.7"  # type: ignore[union-attr]
    for name in ("logout", "unpause", "hangup", "wrapup_done"):
        assert parse_client_message(cmd(name)).name == name  # type: ignore[union-attr]


def test_call_control_commands() -> None:
    """The warm transfer's steps, hold and mute: a consult names its target and mode."""
    warm = parse_client_message(cmd("consult", args={"target": "110"}))
    assert isinstance(warm, Consult) and (warm.args.target, warm.args.mode) == ("110", "hold")
    three = parse_client_message(cmd("consult", args={"target": "1002", "mode": "three_way"}))
    assert isinstance(three, Consult) and three.args.mode == "three_way"
    steps = ("hold", "resume", "mute", "unmute", "consult_complete", "consult_cancel",
             "three_way", "leave")  # fmt: skip
    for name in steps:
        assert parse_client_message(cmd(name)).name == name  # type: ignore[union-attr]
    assert {*steps, "consult"} <= COMMAND_NAMES


@pytest.mark.parametrize(
    ("text", "code", "command_id", "says"),
    [
        ("{", ErrorCode.MALFORMED_JSON, None, "not JSON"),
        (b"\xff\xfe", ErrorCode.MALFORMED_JSON, None, "not JSON"),
        ('"ping"', ErrorCode.INVALID_MESSAGE, None, "JSON object"),
        ('{"type": "hello"}', ErrorCode.UNKNOWN_TYPE, None, '"hello"'),
        ("{}", ErrorCode.UNKNOWN_TYPE, None, "null"),
        ('{"type": "ping", "x": 1}', ErrorCode.INVALID_MESSAGE, None, "x: Extra inputs"),
        ('{"type": "resume", "last_seq": -1}', ErrorCode.INVALID_MESSAGE, None, "last_seq"),
        (cmd("reboot"), ErrorCode.UNKNOWN_COMMAND, "c1", '"reboot"'),
        ('{"type": "command", "name": "hangup"}', ErrorCode.INVALID_MESSAGE, None, "id: Field"),
        (cmd("hangup", id="x" * 65), ErrorCode.INVALID_MESSAGE, None, "id: String should"),
        (cmd("pause"), ErrorCode.INVALID_ARGS, "c1", "args: Field required"),
        (cmd("pause", args={"reason": ""}), ErrorCode.INVALID_ARGS, "c1", "args.reason"),
        (cmd("pause", args={"reason": "x" * 33}), ErrorCode.INVALID_ARGS, "c1", "args.reason"),
        (cmd("transfer", args={"target": "1"}), ErrorCode.INVALID_ARGS, "c1", "args.target"),
        (cmd("transfer", args={"target": "1002", "mode": "attended"}), ErrorCode.INVALID_ARGS,
         "c1", "args.mode"),
        (cmd("login", args={"queues": ["a b"]}), ErrorCode.INVALID_ARGS, "c1", "args.queues.0"),
        (cmd("hangup", args={"channel": "x"}), ErrorCode.INVALID_ARGS, "c1", "args.channel"),
        (cmd("save_order", args={"order": {"t": "长" * 6000}}), ErrorCode.INVALID_ARGS, "c1",
         "at most 16384"),
        (cmd("save_order", args={"order": []}), ErrorCode.INVALID_ARGS, "c1", "args.order"),
        (cmd("dispose", args={"call_id": "1.2"}), ErrorCode.INVALID_ARGS, "c1",
         "args.disposition: Field required"),
        (cmd("dispose", args={"call_id": "1.2", "disposition": "order"}), ErrorCode.INVALID_ARGS,
         "c1", "args.disposition: Input should be 'answered_at_once'"),
        (cmd("dispose", args={"call_id": "1.2", "disposition": "test", "note": "长" * 501}),
         ErrorCode.INVALID_ARGS, "c1", "args.note"),
        (cmd("dispose", args={"call_id": "../x y", "disposition": "test"}),
         ErrorCode.INVALID_ARGS, "c1", "args.call_id"),
        (cmd("recording_pause"), ErrorCode.INVALID_ARGS, "c1", "args: Field required"),
        (cmd("consult"), ErrorCode.INVALID_ARGS, "c1", "args: Field required"),
        (cmd("consult", args={"target": "110", "mode": "blind"}), ErrorCode.INVALID_ARGS, "c1",
         "args.mode"),
        (cmd("consult", args={"target": "1002@evil"}), ErrorCode.INVALID_ARGS, "c1",
         "args.target"),
        (cmd("hold", args={"channel": "PJSIP/1001-1"}), ErrorCode.INVALID_ARGS, "c1",
         "args.channel"),
        (cmd("recording_resume", args={"call_id": ""}), ErrorCode.INVALID_ARGS, "c1",
         "args.call_id"),
    ],
)
def test_refused_messages(
    text: str | bytes, code: ErrorCode, command_id: str | None, says: str
) -> None:
    with pytest.raises(ProtocolError) as refused:
        parse_client_message(text)
    assert refused.value.code is code
    assert refused.value.command_id == command_id
    assert says in refused.value.message


HOSTILE = "a\r\nAction: Hangup"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (cmd("pause", args={"reason": HOSTILE}), "args.reason"),
        (cmd("pause", args={"reason": "午餐\x00"}), "args.reason"),
        (cmd("pause", args={"reason": "午餐\n"}), "args.reason"),
        (cmd("pause", args={"reason": "a\x85b"}), "args.reason"),  # C1 NEL
        (cmd("pause", args={"reason": "a\u2028b"}), "args.reason"),
        (cmd("pause", args={"reason": "a\x7fb"}), "args.reason"),
        (cmd("transfer", args={"target": "1002\r\n"}), "args.target"),
        (cmd("login", args={"queues": ["hotline\r\nAction: Hangup"]}), "args.queues.0"),
        (cmd("logout", args={"queues": ["hotline\n"]}), "args.queues.0"),
        (cmd("save_order", args={"order": {"text": "路灯\r\n"}}), "order.text"),
        (cmd("save_order", args={"order": {"location": "x\x00"}}), "order.location"),
        (cmd("save_order", args={"order": {"call_id": "1.2\x1b[0m"}}), "order.call_id"),
        (cmd("save_order", args={"order": {"t\nx": "ok"}}), "a key of order"),
        (cmd("save_order", args={"order": {"tags": ["ok", "\x07"]}}), "order.tags[1]"),
        (cmd("dispose", args={"call_id": "1.2", "disposition": "test", "note": "a\r\nb"}),
         "args.note"),
        (cmd("recording_pause", args={"call_id": "1.2\r\nAction: Hangup"}), "args.call_id"),
        (cmd("consult", args={"target": "110\r\nAction: Hangup"}), "args.target"),
    ],
)
def test_control_characters_are_refused_naming_the_field(text: str, field: str) -> None:
    with pytest.raises(ProtocolError) as refused:
        parse_client_message(text)
    assert refused.value.code is ErrorCode.INVALID_ARGS
    assert refused.value.command_id == "c1"
    assert field in refused.value.message


def test_a_command_id_with_control_characters_is_not_echoed_back() -> None:
    with pytest.raises(ProtocolError) as refused:
        parse_client_message(cmd("unpause", id="c1\r\nx"))
    assert refused.value.code is ErrorCode.INVALID_MESSAGE and refused.value.command_id is None
    assert "id: Value error, control characters" in refused.value.message


@pytest.mark.parametrize("reason", ["wrap-up", "Wrap-Up", " wrap-up ", "WRAP-UP"])
def test_the_backends_wrap_up_reason_is_reserved(reason: str) -> None:
    """The desk takes a pause with this reason for its own wrap-up: an agent may not choose it."""
    with pytest.raises(ProtocolError) as refused:
        parse_client_message(cmd("pause", args={"reason": reason}))
    assert refused.value.code is ErrorCode.INVALID_ARGS and refused.value.command_id == "c1"
    assert refused.value.message.startswith("args.reason: ")
    assert "reserved" in refused.value.message


def test_reasons_near_the_reserved_one_are_accepted() -> None:
    for reason in ("wrap-up 会议", "wrapup", "整理"):
        pause = parse_client_message(cmd("pause", args={"reason": reason}))
        assert isinstance(pause, Pause) and pause.args.reason == reason


def test_free_text_of_an_order_keeps_line_feeds_and_tabs() -> None:
    form = {"text": "夜间施工\n已持续一周\t（多次）", "location": "建设路 8 号"}
    order = parse_client_message(cmd("save_order", args={"order": form}))
    assert isinstance(order, SaveOrder) and order.args.order == form


def test_errors_do_not_echo_the_input() -> None:
    with pytest.raises(ProtocolError) as refused:
        parse_client_message(cmd("pause", args={"reason": "<script>" + "x" * 100}))
    assert "<script>" not in refused.value.message


def test_screen_pop_builds_the_documented_body() -> None:
    pop = ScreenPop.model_validate(
        {"call_id": "1700000000.12", "extension": "1001",
         "caller": {"number": "138****5678", "name": "张三", "masked": True},
         "ivr": {"choice": "2", "label": "投诉"}, "queue": "complaint", "wait_s": 12.5,
         "ami_ts": 1700000000.5, "history": [], "open_orders": [], "draft_order": {}}
    )
    assert pop.model_dump(mode="json")["type"] == "screen_pop"


def test_schema_file_is_up_to_date() -> None:
    """Regenerate:
    .venv/bin/python -m agent_gateway.edge.protocol_schema > docs/agent_protocol.schema.json"""
    expected = json.dumps(json_schema(), ensure_ascii=False, indent=2) + "\n"
    assert SCHEMA_FILE.read_text(encoding="utf-8") == expected
