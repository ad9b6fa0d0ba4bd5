"""Free loopback ports for private instances (tests, benchmarks, the SIPp peers).

A port is free when asked for, and the OS may hand the same one out again once the probing
socket is closed: each port number is given out once per process, TCP and UDP alike (the
settings refuse a number used twice whatever its protocol), so one set of settings never
gets the same port twice. Private Asterisks take their RTP ranges below the kernel's
ephemeral range (`rtp_range`), where these ports never come from.

Processes that probe ports at the same time (the test suite's workers) could be offered the
same free port before either binds it: with `HOTLINE_PORT_SHARD=i/n` in the environment, a
process takes only the ports of its own share (blocks of 16 ports, every n-th from the i-th;
RTP ranges likewise), so no two such processes ever hand out the same port.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
from pathlib import Path

_handed_out: set[int] = set()
# Linux hands out ports from 32768 up (net.ipv4.ip_local_port_range): RTP ranges stay below.
_RTP_AREA = (10000, 32000)
_SHARD_BLOCK = 16


def _shard() -> tuple[int, int]:
    """This process's share of the ports, (i, n) of `HOTLINE_PORT_SHARD=i/n`; (0, 1): all."""
    spec = os.environ.get("HOTLINE_PORT_SHARD", "")
    if not spec:
        return 0, 1
    index, _, count = spec.partition("/")
    i, n = int(index), int(count)
    if not 0 <= i < n:
        raise ValueError(f"HOTLINE_PORT_SHARD={spec!r}: want i/n with 0 <= i < n")
    return i, n


def _ours(port: int) -> bool:
    i, n = _shard()
    return port // _SHARD_BLOCK % n == i


def _free(kind: socket.SocketKind, host: str) -> int:
    while True:
        with socket.socket(socket.AF_INET, kind) as sock:
            sock.bind((host, 0))
            port: int = sock.getsockname()[1]
        if _ours(port) and port not in _handed_out:
            _handed_out.add(port)
            return port


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port nobody holds now (SIP, and SIPp's media and control ports)."""
    return _free(socket.SOCK_DGRAM, host)


def free_tcp_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody holds now (AMI, FastAGI, HTTP, Redis, gateways)."""
    return _free(socket.SOCK_STREAM, host)


def free_media_port(host: str = "127.0.0.1") -> int:
    """A UDP port for SIPp's media, free with the port two above it: SIPp binds both (audio
    and video RTP) and quits at once when either is taken."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as audio:
            audio.bind((host, 0))
            port: int = audio.getsockname()[1]
            if not (_ours(port) and _ours(port + 2)):
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as video:
                try:
                    video.bind((host, port + 2))
                except OSError:
                    continue
        if not {port, port + 2} & _handed_out:
            _handed_out.update((port, port + 2))
            return port


def rtp_range(size: int) -> tuple[int, int]:
    """A random RTP range of `size` ports for a private Asterisk, away from every port the
    functions above hand out (two Asterisks sharing a range still work: each skips ports
    the other holds)."""
    low, high = _RTP_AREA
    i, n = _shard()
    slots = [slot for slot in range((high - low) // size) if slot % n == i]
    start = low + secrets.choice(slots) * size
    return start, start + size - 1


def udp_bound(host: str, port: int, pid: int | None = None) -> bool:
    """Whether UDP `host`:`port` is held (bound to it or to every address), as /proc/net/udp
    lists it; with `pid`, held by that process."""
    wanted = {f"{_proc_address(host)}:{port:04X}", f"00000000:{port:04X}"}
    with open("/proc/net/udp", encoding="ascii") as table:
        inodes = {f[9] for f in (line.split() for line in list(table)[1:]) if f[1] in wanted}
    if pid is None:
        return bool(inodes)
    held = _descriptors(pid)
    return any(f"socket:[{inode}]" in held for inode in inodes)


def _descriptors(pid: int) -> set[str]:
    """What the process's file descriptors point at (none once it is gone)."""
    held: set[str] = set()
    with contextlib.suppress(FileNotFoundError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(FileNotFoundError):  # closed while listed
                held.add(os.readlink(fd))
    return held


def _proc_address(host: str) -> str:
    """`host` as /proc/net/udp writes it: the IPv4 address's bytes in host order, in hex."""
    return socket.inet_aton(host)[::-1].hex().upper()
