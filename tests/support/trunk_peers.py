"""The emergency lines' trunks in the tests: their settings on local ports, and the SIPp peer
standing in for a far end that refuses every call with 503 (out of service). A trunk that
answers, and speaks, is an `AgentPhone`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
