"""The table of verbs: every command the protocol admits has its handler, and no other; the
dispositions the protocol and the agent page offer are the CRM's."""

from __future__ import annotations

import re
from typing import Any, cast

from agent_gateway.desk.commands.verb import AGENT_DESK
from agent_gateway.desk.commands.verbs import verb_table
from agent_gateway.desk.http import STATIC
from agent_gateway.edge.call_commands import DISPOSITION_CODES
from agent_gateway.edge.control_commands import CONTROL_COMMAND_NAMES
from agent_gateway.edge.protocol import COMMAND_NAMES
from agent_gateway.edge.supervisor_commands import PAUSE_REASONS, SUPERVISOR_COMMAND_NAMES
from crm.domain.calls import DISPOSITION_LABELS, OFFERED_DISPOSITIONS, Disposition
from telephony.call_control import ConsultState, ControlCode


def test_every_command_of_the_protocol_has_a_handler() -> None:
    table = verb_table(cast(Any, None))  # handlers read their collaborators only when called
    assert set(table) == COMMAND_NAMES


def test_each_verb_says_who_may_run_it() -> None:
    """Supervisor commands for supervisors and admins only, every other for an agent's desk."""
    table = verb_table(cast(Any, None))
    for name, verb in table.items():
        floor = name in SUPERVISOR_COMMAND_NAMES
        assert verb.roles == ({"supervisor", "admin"} if floor else {"agent"}), name
        assert (verb.roles is AGENT_DESK) is not floor, name


def test_the_protocols_dispositions_are_the_crms() -> None:
    """The edge imports no crm: its list of disposition codes is kept in step here."""
    assert list(DISPOSITION_CODES) == [d.value for d in Disposition]


def test_the_agent_page_labels_every_disposition_as_the_crm_does() -> None:
    """outcome.js's table (the page's choices at wrap-up) is the CRM's, in the same order."""
    source = (STATIC / "outcome.js").read_text(encoding="utf-8")
    table = re.search(r"DISPOSITION_LABELS = \{(.*?)\};", source, re.DOTALL)
    assert table is not None
    entries = re.findall(r'^\s*(\w+): "([^"]*)",$', table.group(1), re.MULTILINE)
    assert entries == [(d.value, DISPOSITION_LABELS[d]) for d in OFFERED_DISPOSITIONS]
    assert "emergency_referred" not in dict(entries)


def _js_table(source: str, name: str) -> dict[str, str]:
    table = re.search(rf"{name} = \{{(.*?)\}};", source, re.DOTALL)
    assert table is not None, name
    return dict(re.findall(r'^\s*"?(\w*)"?: "([^"]*)",$', table.group(1), re.MULTILINE))


def test_the_agent_page_labels_every_control_command_state_and_reason() -> None:
    """control.js and labels.js name, in Chinese, every call-control command of the protocol,
    every consult state and every failure code of the control adapter (a new one shows up
    here instead of as a raw code on the desk)."""
    control = (STATIC / "control.js").read_text(encoding="utf-8")
    labels = (STATIC / "labels.js").read_text(encoding="utf-8")
    assert set(_js_table(control, "CONTROL_LABELS")) == set(CONTROL_COMMAND_NAMES)
    assert set(_js_table(control, "BUTTONS")) | {"consult"} == set(CONTROL_COMMAND_NAMES)
    assert set(_js_table(labels, "CONSULT_STATE_LABELS")) == {s.value for s in ConsultState}
    codes = {c.value for c in ControlCode}
    assert codes <= set(_js_table(labels, "CONTROL_REASON_LABELS"))
    assert codes <= set(_js_table(labels, "ERROR_LABELS"))


def test_the_pages_label_the_floor_verbs_refusals() -> None:
    """floor.py's refusal codes have their Chinese label, and floor.js offers the desk's
    pause reasons."""
    labels = _js_table((STATIC / "labels.js").read_text(encoding="utf-8"), "ERROR_LABELS")
    source = (STATIC.parent / "commands" / "floor.py").read_text(encoding="utf-8")
    codes = set(re.findall(r'CommandFailed\(\s*"(\w+)"', source))
    assert codes and codes <= set(labels), codes - set(labels)
    page = (STATIC / "floor.js").read_text(encoding="utf-8")
    reasons = re.search(r"PAUSE_REASONS = \[(.*?)\]", page)
    assert reasons is not None
    assert tuple(re.findall(r'"([^"]*)"', reasons.group(1))) == PAUSE_REASONS
