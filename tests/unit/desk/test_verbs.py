"""The table of verbs: every command the protocol admits has its handler, and no other."""

from __future__ import annotations

from typing import Any, cast

from agent_gateway.desk.commands.verbs import verb_table
from agent_gateway.edge.protocol import COMMAND_NAMES


def test_every_command_of_the_protocol_has_a_handler() -> None:
    table = verb_table(cast(Any, None))  # handlers read their collaborators only when called
    assert set(table) == COMMAND_NAMES
