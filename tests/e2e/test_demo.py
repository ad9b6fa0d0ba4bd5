"""The README's first command, `hotline demo`, run twice on one state directory as a newcomer
would: the second run's callers are answered too.

The demo's calls end with their agents in wrap-up, paused in Asterisk, which keeps pauses
across restarts (`persistentmembers`) and a restarted backend resumes them to their recorded
deadline: the demo's desks must end their wrap-up, as agents press 话后处理完成."""

from __future__ import annotations

from pathlib import Path

from config.secrets import resolve_secrets
from config.settings import Settings, load_settings
from hotline_cli.demo.ports import free_tcp_port, free_udp_port, rtp_range
from hotline_cli.demo.run import play_demo
from telephony.call import Call


def _answered(calls: list[Call]) -> list[str]:
    return sorted(c.caller_number for c in calls if c.agent_interface)


def _packaged_on_free_ports(state_dir: Path) -> Settings:
    """The packaged centre (its agents, queues and wrap-up time), on free loopback ports."""
    packaged = load_settings(environ={})
    agents = [
        {**a.model_dump(mode="json"), "contact": f"sip:{a.extension}@127.0.0.1:{free_udp_port()}"}
        for a in packaged.agents
    ]
    rtp_start, rtp_end = rtp_range(100)
    return resolve_secrets(load_settings(environ={}, overrides={
        "paths": {"state_dir": str(state_dir)},
        "sip": {"port": free_udp_port(), "rtp_start": rtp_start, "rtp_end": rtp_end},
        "ami": {"port": free_tcp_port()}, "agi": {"port": free_tcp_port()},
        "http": {"port": free_tcp_port()}, "gateway": {"port": free_tcp_port()},
        "redis": {"port": free_tcp_port()}, "agents": agents,
    }))  # fmt: skip


async def test_the_demo_twice_on_one_state_directory(tmp_path: Path) -> None:
    packaged = _packaged_on_free_ports(tmp_path / "state")
    want = ["13800000001", "13800000002", "13800000003"]  # DEMO_GROUPS' callers for agents
    for run in ("first", "second"):
        outcome = await play_demo(packaged)
        assert not outcome.failed_groups, (run, outcome.failed_groups)
        assert len(outcome.calls) == outcome.expected, run
        assert _answered(outcome.calls) == want, (run, [(c.caller_number, c.end_reason)
                                                         for c in outcome.calls])  # fmt: skip
