"""Short-lived signed playback links: an `<audio src>` cannot send a bearer token.

A link names a recording, the user it was issued to and when it expires, and carries an
HMAC-SHA256 over the three, so none can be changed (another recording, another user, a
later expiry) without the key. The key is derived from a secret the HTTP process already
holds, under a label of its own, so a desk ticket's signature is never a link's.
"""

import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum

LINK_TTL_S = 300  # long enough to start listening; a page asks again for a later play
_LABEL = b"hotline recording playback links v1"


class LinkCheck(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    FORGED = "forged"  # the signature does not cover these values


@dataclass(frozen=True)
class PlaybackLink:
    recording_id: int
    user_id: int
    expires: int  # Unix seconds
    signature: str  # hex


def derive_key(secret: bytes) -> bytes:
    """The links' key from a longer-lived secret (the desk tickets' one)."""
    return hmac.new(secret, _LABEL, hashlib.sha256).digest()


def _signature(key: bytes, recording_id: int, user_id: int, expires: int) -> str:
    message = f"{recording_id}:{user_id}:{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def issue(key: bytes, recording_id: int, user_id: int, now_s: float,
          ttl_s: int = LINK_TTL_S) -> PlaybackLink:  # fmt: skip
    expires = int(now_s) + ttl_s
    return PlaybackLink(recording_id, user_id, expires,
                        _signature(key, recording_id, user_id, expires))  # fmt: skip


def check(key: bytes, link: PlaybackLink, now_s: float) -> LinkCheck:
    """FORGED unless the signature covers exactly these values; then EXPIRED once past."""
    expected = _signature(key, link.recording_id, link.user_id, link.expires)
    if not hmac.compare_digest(expected.encode(), link.signature.encode()):
        return LinkCheck.FORGED
    return LinkCheck.EXPIRED if now_s >= link.expires else LinkCheck.VALID
