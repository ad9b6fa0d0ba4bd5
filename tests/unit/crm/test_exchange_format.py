"""The exchange's message format and its signatures: what the peers agree on."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from crm.domain import exchange_format as fmt
from crm.domain import exchange_signing as signing
from crm.domain.enums import Channel, Role, Status
from crm.domain.lifecycle import Actor, Forbidden, check_register

SCHEMA_FILE = Path(__file__).parents[3] / "docs" / "exchange_protocol.schema.json"
ACCEPTED = {
    "format_version": "1.0", "message_id": "0f8e5b4c-2d6a-4c1e-9b7a-3e2f1d0c9b8a",
    "kind": "accepted", "sent_at": "2026-12-01T08:00:00+08:00",
    "order_number": "SZ12345-20261201-0001", "incident_number": "JJ-1",
}  # fmt: skip


def test_the_published_schema_is_the_models() -> None:
    """Fails when the models change and the file is not regenerated:
    .venv/bin/python -m crm.domain.exchange_format > docs/exchange_protocol.schema.json"""
    published = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert published == fmt.json_schema()
    out = subprocess.run([sys.executable, "-m", "crm.domain.exchange_format"],
                         capture_output=True, check=True, text=True).stdout  # fmt: skip
    assert json.loads(out) == published


def test_inbound_kinds_parse_and_outbound_kinds_are_not_accepted_from_a_peer() -> None:
    message = fmt.INBOUND.validate_python(ACCEPTED)
    assert isinstance(message, fmt.AcceptedMessage) and message.incident_number == "JJ-1"
    with pytest.raises(ValidationError):
        fmt.INBOUND.validate_python({**ACCEPTED, "kind": "handover"})


@pytest.mark.parametrize("change", [
    {"format_version": "2.0"}, {"format_version": None}, {"message_id": "not-a-uuid"},
    {"incident_number": 7}, {"extra": "field"}, {"order_number": ""}, {"kind": "other"},
])  # fmt: skip
def test_strict_refusals(change: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        fmt.INBOUND.validate_python({**ACCEPTED, **change})


def test_a_message_without_its_version_is_refused() -> None:
    without = {k: v for k, v in ACCEPTED.items() if k != "format_version"}
    with pytest.raises(ValidationError):
        fmt.INBOUND.validate_python(without)


def test_signature_binds_body_and_timestamp() -> None:
    secret, body = b"s" * 32, b'{"kind":"accepted"}'
    sig = signing.signature(secret, 1_700_000_000, body)
    assert sig.startswith("sha256=") and len(sig) == 7 + 64
    assert signing.valid(secret, 1_700_000_000, body, sig)
    assert not signing.valid(secret, 1_700_000_001, body, sig)
    assert not signing.valid(secret, 1_700_000_000, body + b" ", sig)
    assert not signing.valid(b"t" * 32, 1_700_000_000, body, sig)
    headers = signing.headers("12345", secret, 1_700_000_000, body, "id-1")
    assert headers[signing.IDEMPOTENCY_HEADER] == "id-1"
    assert headers[signing.SIGNATURE_HEADER] == sig


@pytest.mark.parametrize("raw", ["", "12a", "-5", "1.5", "１２３", "9" * 13])
def test_timestamps_that_are_not_plain_seconds(raw: str) -> None:
    assert signing.parse_timestamp(raw) is None


def test_clock_window() -> None:
    assert signing.within_skew(1000, 1300.0, 300)
    assert signing.within_skew(1300, 1000.0, 300)
    assert not signing.within_skew(1000, 1300.5, 300)


def test_back_off_doubles_up_to_the_ceiling() -> None:
    delays = [signing.retry_delay(n, 1.0, 300.0) for n in range(0, 12)]
    assert delays == [0.0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert signing.retry_delay(10_000, 1.0, 300.0) == 300.0


def test_a_peer_registers_only_matters_handed_over() -> None:
    peer = Actor(user_id=9, role=Role.PEER, unit_id=None)
    assert check_register(peer, Channel.POLICE_HANDOVER) is Status.REGISTERED
    for channel in (Channel.PHONE, None):
        with pytest.raises(Forbidden):
            check_register(peer, channel)
