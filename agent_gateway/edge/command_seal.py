"""A seal on each command a gateway puts on the commands stream, checked by the executor.

The gateway that verified a desktop's ticket is the only one that knows who sent a command:
anything else that can write to Redis could otherwise write `user_id`, `role` and
`extension` of its choosing. The seal is an HMAC-SHA256 over the whole command (its canonical
JSON), keyed with a key derived from the ticket secret (never the ticket key itself: a seal is
not a ticket). Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

SEAL_FIELD = "seal"


class BadSeal(ValueError):
    """The command was not sealed by a gateway holding the ticket secret, or was altered."""


def seal_key(ticket_secret: bytes) -> bytes:
    return hmac.new(ticket_secret, b"hotline command seal v1", hashlib.sha256).digest()


def _digest(key: bytes, command: Mapping[str, Any]) -> str:
    body = {k: v for k, v in command.items() if k != SEAL_FIELD}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


def sealed(key: bytes, command: Mapping[str, Any]) -> dict[str, Any]:
    """The command with its seal."""
    return {**command, SEAL_FIELD: _digest(key, command)}


def check_seal(key: bytes, command: Mapping[str, Any]) -> None:
    given = command.get(SEAL_FIELD)
    if not isinstance(given, str):
        raise BadSeal("the command carries no seal")
    if not hmac.compare_digest(given, _digest(key, command)):
        raise BadSeal("the seal does not match the command")
