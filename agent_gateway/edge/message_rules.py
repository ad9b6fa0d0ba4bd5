"""What every message of the desktop protocol is held to. Client → server: strict models
(unknown fields refused), no control characters where a value could reach AMI, AGI or the
dialplan, and the command envelope (`type`, `id`); server → client: `Out`. Pure: no I/O;
shared by `agent_gateway.edge.protocol` and the message groups in modules of their own."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoArgs(Strict):
    pass


class Out(BaseModel):
    """A server → client message, built by the backend and the gateway: extra fields refused
    so typos fail at once."""

    # Every field is always sent, defaults included: the schema says so.
    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_serialization_defaults_required=True
    )


# Control characters (C0, DEL, C1, line/paragraph separators): a CR/LF in a value that reaches
# AMI, AGI or the dialplan would inject headers or commands. Free text may keep LF and tab.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def _one_line(value: str) -> str:
    if CONTROL.search(value):
        raise ValueError("control characters (CR, LF, NUL, ...) are not allowed")
    return value


def no_control_in(value: Any, where: str) -> None:
    """Refuse control characters but LF and tab in every string of a JSON value."""
    if isinstance(value, str):
        if _CONTROL_IN_TEXT.search(value):
            raise ValueError(f"{where} holds a control character (only LF and tab are allowed)")
    elif isinstance(value, dict):
        for key, item in value.items():
            if CONTROL.search(key):
                raise ValueError(f"a key of {where} holds a control character")
            no_control_in(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            no_control_in(item, f"{where}[{index}]")


OneLine = AfterValidator(_one_line)
CommandId = Annotated[str, StringConstraints(min_length=1, max_length=64), OneLine]


class CommandMessage(Strict):
    """The envelope of every command; each command adds its `name` and `args`."""

    type: Literal["command"]
    id: CommandId
