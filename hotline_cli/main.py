"""`hotline`: the one console command (config render, prompts build, up, demo)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from config.settings import Settings, SettingsError, load_settings
from hotline_cli.sounds import build_sounds
from telephony.asterisk_config import Layout, layout_for, write_config

log = logging.getLogger("hotline")


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {"paths": {"state_dir": str(args.state_dir)}} if args.state_dir else None
    return load_settings(args.config, overrides=overrides)


def cmd_config_render(args: argparse.Namespace) -> int:
    settings = _settings(args)
    layout = Layout(args.out) if args.out else layout_for(settings)
    for path in write_config(settings, layout):
        print(path)
    return 0


def cmd_config_check(args: argparse.Namespace) -> int:
    settings = _settings(args)
    print(
        f"settings OK: {len(settings.agents)} agents, {len(settings.queues)} queues, "
        f"{len(settings.trunks)} trunks"
    )
    return 0


def cmd_prompts_build(args: argparse.Namespace) -> int:
    for path in build_sounds(layout_for(_settings(args))):
        print(path)
    return 0


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _up(settings: Settings) -> None:
    from hotline_cli.app import running_hotline

    async with running_hotline(settings) as hotline:
        await hotline.staff_queues()
        print(describe(hotline.settings, hotline.redis_url), flush=True)
        print("Ctrl-C stops everything.", flush=True)
        await _until_stopped()
        print("stopping…", flush=True)


def describe(settings: Settings, redis_url: str) -> str:
    s = settings
    lines = [
        f"hotline {s.centre.name} is up",
        f"  inbound number   {s.centre.inbound_number} on SIP udp {s.sip.host}:{s.sip.port}"
        f" (carrier from {s.carrier.match})",
        f"  Asterisk AMI     {s.ami.host}:{s.ami.port} (user {s.ami.username})",
        f"  FastAGI (IVR)    {s.agi.host}:{s.agi.port}",
        f"  HTTP             http://{s.http.host}:{s.http.port}/health  /agent  /supervisor"
        f"  /api/openapi.json",
        f"  agent gateway    ws://{s.gateway.host}:{s.gateway.port}/",
        f"  Redis            {redis_url}",
        f"  state            {s.state_dir}",
    ]
    for q in s.queues:
        members = ", ".join(
            f"{a.extension} {a.name}" + (" (overflow)" if p else "") for a, p in s.queue_members(q)
        )
        lines.append(f"  queue {q.name:<10} {members}")
    return "\n".join(lines)


async def _add_user(settings: Settings, name: str, role: str, unit_code: str | None) -> str:
    from crm.db.engine import create_engine, session_factory
    from crm.db.migrate import migrate
    from crm.domain.enums import Role
    from crm.repo.directory import create_user, unit_by_code

    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        async with session_factory(engine)() as session, session.begin():
            unit = await unit_by_code(session, unit_code) if unit_code is not None else None
            if unit_code is not None and unit is None:
                raise SystemExit(f"hotline: no unit with code {unit_code}")
            unit_id = unit.id if unit is not None else None
            user, token = await create_user(session, name, Role(role), unit_id)
            return f"user {user.id} {name} ({role}); bearer token (shown once): {token}"
    finally:
        await engine.dispose()


def cmd_user_add(args: argparse.Namespace) -> int:
    """The first admin (and any desk user) without going through the API."""
    if args.role == "handler" and args.unit is None:
        # a handler sees only its unit's orders: without one it would see nothing
        raise SystemExit("hotline: a department handler belongs to a unit: give --unit CODE")
    print(asyncio.run(_add_user(_settings(args), args.name, args.role, args.unit)))
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    asyncio.run(_up(_settings(args)))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from hotline_cli.demo import run_demo

    return asyncio.run(run_demo(_settings(args)))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotline", description=__doc__)
    parser.add_argument(
        "--config",
        type=Path,
        help="settings file (default: HOTLINE_CONFIG or the packaged config/hotline.toml)",
    )
    parser.add_argument("--state-dir", type=Path, help="override paths.state_dir")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True)

    config = sub.add_parser("config", help="settings and Asterisk configuration")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    render = config_sub.add_parser("render", help="write the private Asterisk configuration")
    render.add_argument("--out", type=Path, help="base directory (default: state_dir/asterisk)")
    render.set_defaults(func=cmd_config_render)
    config_sub.add_parser("check", help="validate the settings").set_defaults(func=cmd_config_check)

    prompts = sub.add_parser("prompts", help="IVR prompts and hold music")
    prompts_sub = prompts.add_subparsers(dest="prompts_command", required=True)
    prompts_sub.add_parser("build", help="synthesise missing audio").set_defaults(
        func=cmd_prompts_build
    )

    user = sub.add_parser("user", help="CRM and desktop users")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="add a user and print its bearer token once")
    add.add_argument("name")
    add.add_argument("--role", choices=("agent", "supervisor", "handler", "admin"), default="agent")
    add.add_argument("--unit", metavar="CODE", help="the unit's code (required for handlers)")
    add.set_defaults(func=cmd_user_add)

    sub.add_parser("up", help="start Asterisk, Redis and the backend").set_defaults(func=cmd_up)
    sub.add_parser("demo", help="up, then real SIPp agents and callers").set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        code: int = args.func(args)
    except SettingsError as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
