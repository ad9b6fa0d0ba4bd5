"""Every failure the control adapter can raise reads in Chinese on the desk: each reason
written in telephony's sources (found by parsing them, so a new one without its Chinese
fails here) has a text of its own, with no English left in it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from agent_gateway.desk.control_failures import failure_text
from telephony.call_control import ControlCode

TELEPHONY = Path(__file__).parents[3] / "telephony"
SAMPLE = {"target": "119", "what": "hold", "exc": "Originate: Originate failed"}
DIAL_CODES = (ControlCode.BUSY, ControlCode.NO_ANSWER, ControlCode.ALL_TRUNKS_DOWN,
              ControlCode.UNAVAILABLE)  # fmt: skip  # a consult's own failure reason


def _text(node: ast.expr) -> str:
    """The message of a ControlFailed(...) call, its placeholders filled from SAMPLE."""
    if isinstance(node, ast.Constant):
        return str(node.value)
    assert isinstance(node, ast.JoinedStr), ast.dump(node)
    out = []
    for part in node.values:
        if isinstance(part, ast.Constant):
            out.append(str(part.value))
        else:
            assert isinstance(part, ast.FormattedValue) and isinstance(part.value, ast.Name)
            value = SAMPLE[part.value.id]
            out.append(repr(value) if part.conversion == ord("r") else value)
    return "".join(out)


def _codes(node: ast.expr) -> tuple[ControlCode, ...]:
    if isinstance(node, ast.Attribute):
        return (ControlCode[node.attr],)
    return DIAL_CODES  # ControlCode(failed.reason)


def _raised() -> list[tuple[ControlCode, str]]:
    found = []
    for path in sorted(TELEPHONY.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "ControlFailed"):  # fmt: skip
                code, message = node.args
                found += [(c, _text(message)) for c in _codes(code)]
    return found


RAISED = _raised()


def test_the_adapter_raises_the_reasons_this_test_reads() -> None:
    assert len({m for _, m in RAISED}) >= 15, RAISED  # the parse found them


@pytest.mark.parametrize(("code", "message"), RAISED)
def test_every_reason_of_the_adapter_reads_in_chinese(code: ControlCode, message: str) -> None:
    text = failure_text(code, message, SAMPLE["target"])
    assert not re.search("[A-Za-z]", text), (message, text)
    generic = failure_text(code, "a reason not known here", SAMPLE["target"])
    assert text != generic, f"{message!r} has no Chinese of its own"


def test_an_unknown_reason_reads_as_its_code_in_chinese() -> None:
    for code in ControlCode:
        text = failure_text(code, "something new went wrong", "")
        assert text and not re.search("[A-Za-z]", text), (code, text)
    assert failure_text(ControlCode.ALL_TRUNKS_DOWN, "119 failed", "119") == (
        "转接 119 失败：主用、备用线路均不可用"
    )
