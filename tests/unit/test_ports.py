"""Free ports: never the same one twice in a process, even when the OS would reuse it."""

import os
import socket
import subprocess
import sys

import pytest

from hotline_cli.demo.ports import (
    free_media_port,
    free_tcp_port,
    free_udp_port,
    rtp_range,
    udp_bound,
)


def test_ports_are_never_handed_out_twice() -> None:
    tcp = [free_tcp_port() for _ in range(200)]
    udp = [free_udp_port() for _ in range(200)]
    assert len(set(tcp)) == 200 and len(set(udp)) == 200


def test_a_number_given_for_tcp_is_not_given_for_udp() -> None:
    """The settings refuse a port number used twice whatever its protocol (SIP is UDP, the
    gateway TCP): the OS may well offer the same number for both kinds."""
    tcp = {free_tcp_port() for _ in range(2000)}
    udp = {free_udp_port() for _ in range(2000)}
    assert not tcp & udp


def test_a_bound_udp_port_is_seen_until_it_is_closed() -> None:
    for host in ("127.0.0.1", "0.0.0.0"):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((host, 0))
        port = sock.getsockname()[1]
        assert udp_bound("127.0.0.1", port) and udp_bound("127.0.0.1", port, os.getpid())
        assert not udp_bound("127.0.0.1", port, os.getppid())  # held, but not by that one
        sock.close()
        assert not udp_bound("127.0.0.1", port)


def test_a_media_port_leaves_the_video_port_above_it_free() -> None:
    """SIPp binds the media port and the one two above it, and quits when either is taken."""
    for _ in range(50):
        port = free_media_port()
        for p in (port, port + 2):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.bind(("127.0.0.1", p))


def test_rtp_ranges_lie_below_the_ports_the_kernel_hands_out() -> None:
    """A private Asterisk's RTP sockets never take a port a SIPp peer was promised."""
    with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as f:
        ephemeral_low = int(f.read().split()[0])
    for size in (100, 2000):
        for _ in range(200):
            start, end = rtp_range(size)
            assert end - start + 1 == size and start > 1024 and end < ephemeral_low


def test_processes_of_different_shares_never_hand_out_the_same_port() -> None:
    """The suite's two workers probe ports at the same time: without shares the kernel offers
    both some of the same free ports (about 9 of 500 each)."""
    probe = (
        "from hotline_cli.demo.ports import free_media_port, free_tcp_port, free_udp_port\n"
        "print(*[f() for f in (free_tcp_port, free_udp_port, free_media_port) for _ in range(300)])"
    )
    handed: list[set[int]] = []
    for share in ("0/2", "1/2"):
        env = {**os.environ, "HOTLINE_PORT_SHARD": share}
        out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                             text=True, check=True).stdout  # fmt: skip
        handed.append({int(p) for p in out.split()})
    assert len(handed[0]) == len(handed[1]) == 900
    assert not handed[0] & handed[1]


def test_rtp_ranges_of_different_shares_never_overlap(monkeypatch: pytest.MonkeyPatch) -> None:
    ranges = {}
    for share in ("0/2", "1/2"):
        monkeypatch.setenv("HOTLINE_PORT_SHARD", share)
        ranges[share] = {p for _ in range(100) for p in range(*_inclusive(rtp_range(100)))}
    assert ranges["0/2"] and ranges["1/2"] and not ranges["0/2"] & ranges["1/2"]


def test_a_malformed_share_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_PORT_SHARD", "2/2")
    with pytest.raises(ValueError, match="HOTLINE_PORT_SHARD"):
        free_udp_port()


def _inclusive(bounds: tuple[int, int]) -> tuple[int, int]:
    return bounds[0], bounds[1] + 1
