"""Websocket tickets: what verifies, and every way one is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from agent_gateway.edge.protocol import Role
from agent_gateway.edge.tickets import InvalidTicket, TicketClaims, issue_ticket, verify_ticket

SECRET = b"s3cret"
NOW = 1_700_000_000.0


JTI = "abcdefghijklmnop_-12"


def test_round_trip() -> None:
    ticket = issue_ticket(SECRET, 7, "王芳", "agent", "1001", 60, NOW, version=3, jti=JTI)
    claims = verify_ticket(SECRET, ticket, NOW + 59)
    assert claims == TicketClaims(7, "王芳", "agent", "1001", NOW + 60, 3, JTI)
    assert claims.topics == {"agent.1001"}
    assert ticket.isascii() and "=" not in ticket  # fits a URL query as it is


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_a_supervisor_gets_the_supervisors_topic_and_its_own(role: Role) -> None:
    """Its own (`user.<id>`): its command results and notices, no other supervisor's."""
    claims = verify_ticket(
        SECRET, issue_ticket(SECRET, 2, "赵", role, None, 60, NOW, version=3), NOW
    )
    assert claims.topics == {"supervisors", "user.2"}


def test_an_agent_gets_no_users_topic() -> None:
    claims = verify_ticket(
        SECRET, issue_ticket(SECRET, 7, "王芳", "agent", "1001", 60, NOW, version=3), NOW
    )
    assert not any(topic.startswith("user.") for topic in claims.topics)


def test_expired() -> None:
    ticket = issue_ticket(SECRET, 7, "王芳", "agent", "1001", 60, NOW, version=3)
    with pytest.raises(InvalidTicket, match="expired"):
        verify_ticket(SECRET, ticket, NOW + 60)


def test_every_ticket_has_an_id_of_its_own() -> None:
    """The gateway admits one handshake per id, so two tickets for one user must differ."""
    first, second = (
        verify_ticket(SECRET, issue_ticket(SECRET, 7, "王芳", "agent", "1001", 60, NOW,
                                           version=3), NOW)
        for _ in range(2)
    )  # fmt: skip
    assert first.jti != second.jti and len(first.jti) >= 16


def test_wrong_secret() -> None:
    ticket = issue_ticket(b"other", 7, "王芳", "agent", "1001", 60, NOW, version=3)
    with pytest.raises(InvalidTicket, match="bad signature"):
        verify_ticket(SECRET, ticket, NOW)


def forge(claims: dict[str, object], signature: str) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{payload}.{signature}"


def test_tampered_claims_keep_an_old_signature_and_fail() -> None:
    ticket = issue_ticket(SECRET, 7, "王芳", "agent", "1001", 60, NOW, version=3)
    signature = ticket.partition(".")[2]
    promoted = {
        "user_id": 7,
        "name": "王芳",
        "role": "admin",
        "extension": "1001",
        "exp": NOW + 60,
        "version": 3,
        "jti": JTI,
    }
    with pytest.raises(InvalidTicket, match="bad signature"):
        verify_ticket(SECRET, forge(promoted, signature), NOW)


@pytest.mark.parametrize(
    ("ticket", "why"),
    [
        ("", "not a ticket"),
        ("abc", "not a ticket"),
        ("a.b!c", "base64url"),
        ("x" * 3000, "too long"),
        ("é.é", "base64url"),
    ],
)
def test_garbage(ticket: str, why: str) -> None:
    with pytest.raises(InvalidTicket, match=why):
        verify_ticket(SECRET, ticket, NOW)


def test_signed_but_malformed_claims_are_refused() -> None:
    payload = base64.urlsafe_b64encode(b'{"user_id": "7"}').rstrip(b"=").decode()
    mac = hmac.new(SECRET, payload.encode(), hashlib.sha256).digest()
    signature = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    with pytest.raises(InvalidTicket, match="malformed claims"):
        verify_ticket(SECRET, f"{payload}.{signature}", NOW)


@pytest.mark.parametrize(
    ("role", "extension", "why"),
    [
        ("agent", None, "needs an extension"),
        ("agent", "10a1", "bad extension"),
        ("root", None, "unknown role"),
    ],
)
def test_bad_claims_are_not_issued(role: str, extension: str | None, why: str) -> None:
    with pytest.raises(InvalidTicket, match=why):
        issue_ticket(SECRET, 7, "x", role, extension, 60, NOW, version=3)  # type: ignore[arg-type]


def test_a_short_ticket_id_is_not_issued() -> None:
    with pytest.raises(InvalidTicket, match="bad ticket id"):
        issue_ticket(SECRET, 7, "x", "agent", "1001", 60, NOW, version=3, jti="short")
