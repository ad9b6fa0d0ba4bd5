"""The emergency lines' trunks in the tests: their settings on local ports (and changed, for
a live apply), the SIPp peer standing in for a far end that refuses every call with 503 (out
of service), and a far end gone silent (`DeafPort`). A trunk that answers, and speaks, is an
`AgentPhone`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from config.settings import Settings
from hotline_cli.demo.sipp import SippPeer

SCENARIO = Path(__file__).parents[1] / "e2e" / "scenarios" / "refusing_trunk.xml"


class RefusingTrunk(SippPeer):
    """A SIPp UAS on host:port answering every INVITE with 503 Service Unavailable."""

    def __init__(self, workdir: Path, host: str, port: int) -> None:
        super().__init__(workdir, host, port, SCENARIO, f"refusing-{port}")


def emergency_trunks(
    ports: dict[str, tuple[int, int]], dial_timeout_s: int, qualify_s: int = 0
) -> dict[str, Any]:
    """The `[trunks]` settings of 110, 119 and 120, each leg (primary, backup) a local port;
    not qualified unless `qualify_s` (the far ends come and go with each test: a leg
    qualified down would be skipped)."""
    names = {"110": "police", "119": "fire", "120": "medical"}
    return {
        names[line]: {
            "number": line, "primary": f"127.0.0.1:{primary}",
            "backup": f"127.0.0.1:{backup}", "dial_timeout_s": dial_timeout_s,
            "qualify_s": qualify_s,
        }
        for line, (primary, backup) in ports.items()
    }  # fmt: skip


class DeafPort(asyncio.DatagramProtocol):
    """A stopped far end's port: takes every datagram, answers none, counts requests."""

    def __init__(self) -> None:
        self.requests: list[str] = []

    def datagram_received(self, data: bytes, addr: tuple[str | bytes, int]) -> None:
        self.requests.append(data.split(b" ", 1)[0].decode("ascii", "replace"))

    def itself(self) -> DeafPort:
        return self

    def count(self, method: str) -> int:
        return self.requests.count(method)


def with_trunks(settings: Settings, **trunks: dict[str, Any] | None) -> Settings:
    """`settings` with these trunks' fields changed (a new name: a trunk added; None: the
    trunk removed), for `Hotline.apply_settings`."""
    data: dict[str, Any] = settings.model_dump()
    for name, fields in trunks.items():
        if fields is None:
            del data["trunks"][name]
        else:
            data["trunks"][name] = data["trunks"].get(name, {}) | fields
    return Settings.model_validate(data)
