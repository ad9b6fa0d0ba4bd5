"""Playback links: a signature over recording, user and expiry, under a key of its own."""

import dataclasses

import pytest

from crm.domain.playback_links import LinkCheck, PlaybackLink, check, derive_key, issue

KEY = derive_key(b"gateway-secret-0123456789abcdef")


def test_a_link_is_valid_until_it_expires() -> None:
    link = issue(KEY, 7, 3, now_s=1000.4, ttl_s=300)
    assert link.expires == 1300
    assert check(KEY, link, 1299.9) is LinkCheck.VALID
    assert check(KEY, link, 1300) is LinkCheck.EXPIRED


@pytest.mark.parametrize(
    "change",
    [
        {"recording_id": 8},
        {"user_id": 4},
        {"expires": 9999},
        {"signature": "0" * 64},
        {"signature": "é" * 64},
    ],
)
def test_any_change_is_forged(change: dict[str, object]) -> None:
    link = issue(KEY, 7, 3, now_s=1000)
    altered = dataclasses.replace(link, **change)  # type: ignore[arg-type]
    assert check(KEY, altered, 1001) is LinkCheck.FORGED


def test_the_key_is_not_the_secret_and_another_secret_forges() -> None:
    secret = b"gateway-secret-0123456789abcdef"
    assert secret != KEY and len(KEY) == 32
    link = issue(derive_key(b"another-secret-0123456789abcdef"), 7, 3, now_s=1000)
    assert check(KEY, link, 1001) is LinkCheck.FORGED
    assert isinstance(link, PlaybackLink)
