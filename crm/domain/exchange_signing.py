"""Signatures of exchange messages: HMAC-SHA256 with the peer's shared secret over the
timestamp and the exact body bytes, so neither can be altered or reused with the other.

Headers of every exchange request (both ways): `X-Exchange-Peer` (the line: 110, 119, 120),
`X-Exchange-Timestamp` (Unix seconds), `X-Exchange-Signature` (`sha256=<hex>`) and
`Idempotency-Key` (the message's id). The timestamp bounds a replay to the clock-skew window;
the receipts of message ids refuse one within it.
"""

import hashlib
import hmac

PEER_HEADER = "X-Exchange-Peer"
TIMESTAMP_HEADER = "X-Exchange-Timestamp"
SIGNATURE_HEADER = "X-Exchange-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
_PREFIX = "sha256="


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp`."""
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256)
    return _PREFIX + mac.hexdigest()


def headers(
    peer: str, secret: bytes, timestamp: int, body: bytes, message_id: str
) -> dict[str, str]:
    """Every header a signed exchange request carries."""
    return {
        PEER_HEADER: peer,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        IDEMPOTENCY_HEADER: message_id,
        "Content-Type": "application/json",
    }


def valid(secret: bytes, timestamp: int, body: bytes, presented: str) -> bool:
    """Whether `presented` is the signature of `body` at `timestamp` (constant time)."""
    return hmac.compare_digest(signature(secret, timestamp, body), presented)


def parse_timestamp(raw: str) -> int | None:
    """The header's Unix seconds, or None when it is not a plain number."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        return None
    return int(raw)


def within_skew(timestamp: int, now: float, max_skew_s: int) -> bool:
    """A message signed too long ago (or ahead) is refused: a replay outside the receipts."""
    return abs(now - timestamp) <= max_skew_s


def retry_delay(attempts: int, first_s: float, max_s: float) -> float:
    """Seconds to wait after the `attempts`-th failed attempt: doubling from `first_s`,
    never more than `max_s`."""
    if attempts < 1:
        return 0.0
    return min(max_s, first_s * float(2 ** min(attempts - 1, 40)))
