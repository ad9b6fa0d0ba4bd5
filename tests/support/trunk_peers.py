"""SIPp peers standing in for an emergency line's trunk: one that refuses every call with
503 (its far end out of service). A trunk that answers, and speaks, is an `AgentPhone`."""

from __future__ import annotations

from pathlib import Path

from hotline_cli.demo.sipp import SippPeer

SCENARIO = Path(__file__).parents[1] / "e2e" / "scenarios" / "refusing_trunk.xml"


class RefusingTrunk(SippPeer):
    """A SIPp UAS on host:port answering every INVITE with 503 Service Unavailable."""

    def __init__(self, workdir: Path, host: str, port: int) -> None:
        super().__init__(workdir, host, port, SCENARIO, f"refusing-{port}")
