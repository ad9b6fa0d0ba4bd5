"""The table of verbs: every command the protocol admits has its handler, and no other; the
dispositions the protocol and the agent page offer are the CRM's."""

from __future__ import annotations

import re
from typing import Any, cast

from agent_gateway.desk.commands.verbs import verb_table
from agent_gateway.desk.http import STATIC
from agent_gateway.edge.call_commands import DISPOSITION_CODES
from agent_gateway.edge.protocol import COMMAND_NAMES
from crm.domain.calls import DISPOSITION_LABELS, Disposition


def test_every_command_of_the_protocol_has_a_handler() -> None:
    table = verb_table(cast(Any, None))  # handlers read their collaborators only when called
    assert set(table) == COMMAND_NAMES


def test_the_protocols_dispositions_are_the_crms() -> None:
    """The edge imports no crm: its list of disposition codes is kept in step here."""
    assert list(DISPOSITION_CODES) == [d.value for d in Disposition]


def test_the_agent_page_labels_every_disposition_as_the_crm_does() -> None:
    """outcome.js's table (the page's choices at wrap-up) is the CRM's, in the same order."""
    source = (STATIC / "outcome.js").read_text(encoding="utf-8")
    table = re.search(r"DISPOSITION_LABELS = \{(.*?)\};", source, re.DOTALL)
    assert table is not None
    entries = re.findall(r'^\s*(\w+): "([^"]*)",$', table.group(1), re.MULTILINE)
    assert entries == [(d.value, label) for d, label in DISPOSITION_LABELS.items()]
    assert len(entries) == len(Disposition)
