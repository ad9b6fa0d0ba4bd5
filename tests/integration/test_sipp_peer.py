"""A SIPp peer (a phone, a trunk's far end) is listening once entered, or says why not: a
phone that silently never started looked like an operator not answering (CI, stop 21)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from hotline_cli.demo.ports import free_udp_port, udp_bound
from hotline_cli.demo.sipp import AgentPhone


async def test_a_phone_listens_once_entered_and_not_after(tmp_path: Path) -> None:
    port = free_udp_port()
    async with AgentPhone(tmp_path, "127.0.0.1", port, ring_ms=100) as phone:
        assert phone.process is not None
        assert udp_bound("127.0.0.1", port, phone.process.pid)
    assert not udp_bound("127.0.0.1", port)


async def test_a_phone_whose_port_is_taken_fails_saying_so(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        phone = AgentPhone(tmp_path, "127.0.0.1", port, ring_ms=100)
        with pytest.raises(RuntimeError, match=f"127.0.0.1:{port} quit"):
            async with phone:
                pass
