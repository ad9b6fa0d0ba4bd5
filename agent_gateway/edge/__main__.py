"""`python -m agent_gateway.edge`: one more gateway process beside the backend, on its Redis."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path
from urllib.parse import quote, urlsplit

from agent_gateway.edge.server import RECHECK_S, run_gateway
from config.fields import secret_weakness
from config.secrets import read_secret, secrets_dir
from config.settings import SettingsError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m agent_gateway.edge", description=__doc__)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument(
        "--secret-env",
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
        "--state-dir",
        type=Path,
        help="the backend's state directory: the ticket secret (without --secret-env) and the"
        " private Redis's password (if --redis-url has none) are read from its secrets/",
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


def _secrets(args: argparse.Namespace) -> tuple[str, bytes]:
    """The Redis URL with its password, and the ticket secret; exits naming what is missing."""
    stored = secrets_dir(args.state_dir) if args.state_dir else None
    try:
        if args.secret_env:
            secret = os.environ.get(args.secret_env, "")
            if (weakness := secret_weakness(secret) if secret else "is not set") is not None:
                sys.exit(f"the ticket secret in the environment variable {args.secret_env}"
                         f" {weakness}")  # fmt: skip
        elif stored is not None:
            secret = read_secret(stored / "gateway")
        else:
            sys.exit("give --secret-env NAME or --state-dir DIR for the ticket secret")
        url = args.redis_url
        parts = urlsplit(url)
        if parts.password is None and stored is not None and (stored / "redis").exists():
            password = quote(read_secret(stored / "redis"), safe="")
            url = parts._replace(netloc=f":{password}@{parts.netloc}").geturl()
    except (OSError, SettingsError) as exc:
        sys.exit(f"cannot read the secrets: {exc}")
    return url, secret.encode()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    args.redis_url, secret = _secrets(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    with contextlib.suppress(asyncio.CancelledError):
        asyncio.run(_serve_until_signalled(args, secret))


if __name__ == "__main__":
    main()
