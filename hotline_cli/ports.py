"""Free loopback ports for private instances (tests, benchmarks, the SIPp peers)."""

from __future__ import annotations

import socket


def _free(kind: socket.SocketKind, host: str) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port nobody holds now (SIP, and SIPp's media and control ports)."""
    return _free(socket.SOCK_DGRAM, host)


def free_tcp_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody holds now (AMI, FastAGI, HTTP, Redis, gateways)."""
    return _free(socket.SOCK_STREAM, host)
