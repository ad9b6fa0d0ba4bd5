"""Applying a configuration to a running centre (real Asterisk): apply time per kind of change.

Each kind of change is applied and reverted `--applies` times (`Hotline.apply_settings`: the
files written, the reloads run and confirmed by reading Asterisk back, the members added or
removed); the time is until Asterisk was seen holding the change. Last line: JSON, p50/p99
per kind in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backlog import overrides, percentile

from config.settings import Settings, load_settings
from hotline_cli.app import running_hotline
from hotline_cli.demo.ports import free_udp_port

Change = Callable[[dict[str, Any]], None]


def _agent(data: dict[str, Any]) -> None:
    data["agents"] = [*data["agents"], {"extension": "2999", "name": "新坐席", "skills":
                      ["general"], "contact": f"sip:2999@127.0.0.1:{free_udp_port()}"}]  # fmt: skip


def _queue(data: dict[str, Any]) -> None:
    data["queues"] = [q | {"strategy": "ringall", "wrapup_s": 5} for q in data["queues"]]


def _trunk(data: dict[str, Any]) -> None:
    police = next(k for k, t in data["trunks"].items() if t["number"] == "110")
    data["trunks"][police]["primary"] = f"127.0.0.1:{free_udp_port()}"


def _dialplan(data: dict[str, Any]) -> None:
    data["queues"] = [q | {"max_wait_s": 7200} for q in data["queues"]]


CHANGES: dict[str, Change] = {"agent": _agent, "queue": _queue, "trunk": _trunk,
                              "dialplan": _dialplan}  # fmt: skip


def variant(base: Settings, change: Change) -> Settings:
    data: dict[str, Any] = base.model_dump()
    change(data)
    return Settings.model_validate(data)


async def run(applies: int, agents: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        settings = load_settings(overrides=overrides(Path(tmp), agents, free_udp_port()))
        figures: dict[str, Any] = {"applies": applies, "agents": agents}
        async with running_hotline(settings, http=False, commands=False) as hotline:
            await hotline.staff_queues()
            base = hotline.settings
            for kind, change in CHANGES.items():
                times: dict[str, list[float]] = {"apply": [], "revert": []}
                for _ in range(applies):
                    for step, target in (("apply", variant(base, change)), ("revert", base)):
                        started = time.monotonic()
                        await hotline.apply_settings(target)
                        times[step].append((time.monotonic() - started) * 1000)
                for step, values in times.items():
                    values.sort()
                    figures[f"{kind}_{step}_p50_ms"] = percentile(values, 0.5)
                    figures[f"{kind}_{step}_p99_ms"] = percentile(values, 0.99)
                print(kind, {k: v for k, v in figures.items() if k.startswith(kind)}, flush=True)
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--applies", type=int, default=10, help="per kind of change")
    parser.add_argument("--agents", type=int, default=50)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.applies, args.agents))))


if __name__ == "__main__":
    main()
