"""Free loopback ports for private instances (tests, benchmarks, the SIPp peers).

A port is free when asked for, and the OS may hand the same one out again once the probing
socket is closed: each port number is given out once per process, TCP and UDP alike (the
settings refuse a number used twice whatever its protocol), so one set of settings never
gets the same port twice.
"""

from __future__ import annotations

import socket

_handed_out: set[int] = set()


def _free(kind: socket.SocketKind, host: str) -> int:
    while True:
        with socket.socket(socket.AF_INET, kind) as sock:
            sock.bind((host, 0))
            port: int = sock.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port nobody holds now (SIP, and SIPp's media and control ports)."""
    return _free(socket.SOCK_DGRAM, host)


def free_tcp_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody holds now (AMI, FastAGI, HTTP, Redis, gateways)."""
    return _free(socket.SOCK_STREAM, host)
