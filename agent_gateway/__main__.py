"""`python -m agent_gateway`: one more gateway process beside the backend, sharing its Redis."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys

from agent_gateway.server import RECHECK_S, run_gateway


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m agent_gateway", description=__doc__)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument(
        "--secret-env",
        required=True,
        metavar="NAME",
        help="environment variable holding the ticket secret (never on the command line)",
    )
    parser.add_argument(
        "--recheck-s",
        type=float,
        default=RECHECK_S,
        help="how often connected users are checked against the backend's list (seconds)",
    )
    parser.add_argument(
        "--origin",
        action="append",
        default=[],
        help="an allowed page origin, e.g. http://127.0.0.1:8080 (repeatable)",
    )
    return parser.parse_args(argv)


async def _serve_until_signalled(args: argparse.Namespace, secret: bytes) -> None:
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, task.cancel)
    await run_gateway(args.redis_url, args.host, args.port, secret, args.origin, args.recheck_s)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    secret = os.environ.get(args.secret_env, "")
    if not secret:
        sys.exit(f"the environment variable {args.secret_env} (the ticket secret) is empty")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    with contextlib.suppress(asyncio.CancelledError):
        asyncio.run(_serve_until_signalled(args, secret.encode()))


if __name__ == "__main__":
    main()
