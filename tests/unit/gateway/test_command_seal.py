"""Command seals: what a gateway sealed passes after a JSON round trip through Redis; a
command with no seal, another key's seal, or any field changed after sealing does not."""

from __future__ import annotations

import json

import pytest

from agent_gateway.edge.command_seal import BadSeal, check_seal, seal_key, sealed

KEY = seal_key(b"the-ticket-secret-of-the-centre")
COMMAND = {
    "id": "c-1", "name": "pause", "args": {"reason": "会议"}, "user_id": 7,
    "user_name": "王芳", "role": "agent", "extension": "1001", "version": 3,
    "reply_topic": "agent:1001", "gateway_ts": 1767225600.123456,
}  # fmt: skip


def test_a_sealed_command_passes_after_a_round_trip() -> None:
    check_seal(KEY, json.loads(json.dumps(sealed(KEY, COMMAND))))


@pytest.mark.parametrize(
    ("field", "value"),
    [("extension", "1002"), ("user_id", 1), ("role", "supervisor"), ("args", {"reason": "x"}),
     ("version", 4)],
)
def test_a_field_changed_after_sealing_is_refused(field: str, value: object) -> None:
    forged = {**sealed(KEY, COMMAND), field: value}
    with pytest.raises(BadSeal, match="does not match"):
        check_seal(KEY, forged)


def test_no_seal_or_another_key_is_refused() -> None:
    with pytest.raises(BadSeal, match="no seal"):
        check_seal(KEY, COMMAND)
    with pytest.raises(BadSeal, match="does not match"):
        check_seal(KEY, sealed(seal_key(b"some-other-centre-secret"), COMMAND))
