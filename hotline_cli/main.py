"""`hotline`: the one console command (config render / check / import / versions / show /
apply / revert, prompts build, user, reconcile, up, demo)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from config.secrets import resolve_secrets, secrets_dir
from config.settings import Settings, SettingsError, load_settings
from hotline_cli import config_cmd, import_cmd, reconcile_cmd
from hotline_cli.log_format import configure_logging
from hotline_cli.sounds import build_sounds
from telephony.asterisk_config import Layout, layout_for, write_config

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("hotline")


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {"paths": {"state_dir": str(args.state_dir)}} if args.state_dir else None
    return load_settings(args.config, overrides=overrides)


def cmd_config_render(args: argparse.Namespace) -> int:
    settings = resolve_secrets(_settings(args))
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


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=f":***@{parts.hostname}:{parts.port}").geturl()


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
        f"  Redis            {_without_password(redis_url)}",
        f"  state            {s.state_dir} (generated secrets in {secrets_dir(s.state_dir)})",
    ]
    for q in s.queues:
        members = ", ".join(
            f"{a.extension} {a.name}" + ("" if q.skill in a.skills else " (overflow)")
            for a, _ in s.queue_members(q)
        )
        lines.append(f"  queue {q.name:<10} {members}")
    return "\n".join(lines)


UserWork = Callable[["AsyncSession", datetime], Awaitable[str]]


async def _user_work(settings: Settings, work: UserWork) -> str:
    """Run one change to users in a transaction on the (migrated) database."""
    from crm.db.engine import create_engine, session_factory
    from crm.db.migrate import migrate
    from crm.domain.clock import utc_now

    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        async with session_factory(engine)() as session, session.begin():
            return await work(session, utc_now())
    finally:
        await engine.dispose()


def _run_user_work(args: argparse.Namespace, work: UserWork) -> int:
    """Print the outcome; a refusal (unknown user, extension taken, a stale base version...)
    exits 1 with its reason."""
    from crm.errors import CrmError

    try:
        print(asyncio.run(_user_work(_settings(args), work)))
    except CrmError as exc:
        print(f"hotline: {exc.message}", file=sys.stderr)
        return 1
    return 0


def _configured_phone(args: argparse.Namespace, extension: str | None) -> str | None:
    """An agent's extension, a supervisor's or a department's phone of the settings (else
    refused)."""
    from config.emergency_settings import department_phones, supervisor_phones

    settings = _settings(args)
    colleagues = settings.colleagues
    phones = {a.extension for a in settings.agents}.union(
        supervisor_phones(colleagues), department_phones(colleagues)
    )
    if extension is not None and extension not in phones:
        raise SettingsError(
            f"extension {extension} is neither a configured agent (see [[agents]]) nor a "
            "supervisor's or department's phone ([[colleagues]] of kind supervisor, department)"
        )
    return extension


def _supervisor_phones(args: argparse.Namespace) -> tuple[str, ...]:
    from config.emergency_settings import supervisor_phones

    return supervisor_phones(_settings(args).colleagues)


def _department_phones(args: argparse.Namespace) -> tuple[str, ...]:
    from config.emergency_settings import department_phones

    return department_phones(_settings(args).colleagues)


# Open desktops of a user changed here are closed once the running backend has re-read the
# users and its gateways re-checked their sessions: two gateway.recheck_s.
CUT_OFF = "its open desktops are closed within seconds"


def cmd_user_add(args: argparse.Namespace) -> int:
    """The first admin (and any desk user) without going through the API."""
    from crm.domain.enums import Role
    from crm.repo.directory import unit_by_code
    from crm.usecases.users import add_user

    if args.agent is not None and args.phone is not None:
        raise SystemExit("hotline: give --agent (an agent's desk) or --phone, not both")
    extension = _configured_phone(args, args.agent or args.phone)
    phones = _supervisor_phones(args)
    if args.role == "handler" and args.unit is None:
        # a handler sees only its unit's orders: without one it would see nothing
        raise SystemExit("hotline: a department handler belongs to a unit: give --unit CODE")

    async def work(session: AsyncSession, now: datetime) -> str:
        unit = await unit_by_code(session, args.unit) if args.unit is not None else None
        if args.unit is not None and unit is None:
            raise SystemExit(f"hotline: no unit with code {args.unit}")
        unit_id = unit.id if unit is not None else None
        user, token = await add_user(session, None, now, args.name, Role(args.role), unit_id,
                                     extension, phones, _department_phones(args))  # fmt: skip
        desk = f", {'agent' if args.role == 'agent' else 'phone'} {extension}" if extension else ""
        return f"user {user.id} {args.name} ({args.role}{desk}); bearer token (shown once): {token}"

    return _run_user_work(args, work)


def cmd_user_list(args: argparse.Namespace) -> int:
    from crm.repo.directory import list_users

    async def work(session: AsyncSession, _now: datetime) -> str:
        lines = [f"{'id':>5}  {'name':<16} {'role':<10} {'agent':<8} state"]
        for u in await list_users(session):
            state = "active" if u.active else "disabled"
            lines.append(
                f"{u.id:>5}  {u.name:<16} {u.role.value:<10} {u.agent_extension or '-':<8} {state}"
            )
        return "\n".join(lines)

    return _run_user_work(args, work)


def cmd_user_change(args: argparse.Namespace) -> int:
    """disable, enable, bind, unbind."""
    from crm.usecases.users import change_user, require_user

    extension = _configured_phone(args, getattr(args, "agent", None))
    phones = _supervisor_phones(args)
    changes: dict[str, dict[str, Any]] = {
        "disable": {"active": False},
        "enable": {"active": True},
        "bind": {
            "agent_extension": extension,
            "rebind": True,
            "supervisor_phones": phones,
            "department_phones": _department_phones(args),
        },
        "unbind": {"agent_extension": None, "rebind": True},
    }
    change = changes[args.user_command]
    done = {"disable": "disabled", "enable": "enabled", "bind": f"bound to {extension}",
            "unbind": "unbound"}[args.user_command]  # fmt: skip

    async def work(session: AsyncSession, now: datetime) -> str:
        user = await require_user(session, args.id)
        if not await change_user(session, None, now, user, **change):
            return f"user {user.id} {user.name}: nothing to change"
        return f"user {user.id} {user.name}: {done}; {CUT_OFF}"

    return _run_user_work(args, work)


def cmd_user_rotate_token(args: argparse.Namespace) -> int:
    from crm.usecases.users import require_user, rotate_token

    async def work(session: AsyncSession, now: datetime) -> str:
        user = await require_user(session, args.id)
        token = await rotate_token(session, None, now, user)
        return f"user {user.id} {user.name}: {CUT_OFF}; new bearer token (shown once): {token}"

    return _run_user_work(args, work)


def cmd_user_revoke_token(args: argparse.Namespace) -> int:
    from crm.usecases.users import require_user, revoke_token

    async def work(session: AsyncSession, now: datetime) -> str:
        user = await require_user(session, args.id)
        await revoke_token(session, None, now, user)
        return f"user {user.id} {user.name}: no token works any more; {CUT_OFF}"

    return _run_user_work(args, work)


def cmd_up(args: argparse.Namespace) -> int:
    asyncio.run(_up(_settings(args)))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from hotline_cli.demo.run import run_demo

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
    import_cmd.add_parser(config_sub)
    config_cmd.add_parsers(config_sub, _run_user_work, _settings)

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
    add.add_argument("--agent", metavar="EXTENSION", help="the agent an agent user works as")
    add.add_argument("--phone", metavar="EXTENSION",
                     help="the supervisor's phone a supervisor or admin works at (listen, "
                     "whisper, barge ring it), or the department's phone a handler works at "
                     "(rung first for its calls to citizens)")  # fmt: skip
    add.add_argument("--unit", metavar="CODE", help="the unit's code (required for handlers)")
    add.set_defaults(func=cmd_user_add)
    user_sub.add_parser("list", help="users, their agents and state").set_defaults(
        func=cmd_user_list
    )
    for name, what, func in (
        ("disable", "disable a user (its open desktops are closed)", cmd_user_change),
        ("enable", "enable a disabled user", cmd_user_change),
        ("bind", "bind a user to the phone it works at (agent: its extension; supervisor, "
         "admin: a supervisor's phone; handler: a department's phone)", cmd_user_change),
        ("unbind", "unbind a user from its phone", cmd_user_change),
        ("rotate-token", "give a user a new token (printed once); the old one stops working",
         cmd_user_rotate_token),
        ("revoke-token", "revoke a user's token: none works until rotated",
         cmd_user_revoke_token),
    ):  # fmt: skip
        command = user_sub.add_parser(name, help=what)
        command.add_argument("id", type=int, help="the user's id (hotline user list)")
        if name == "bind":
            command.add_argument("agent", metavar="EXTENSION")
        command.set_defaults(func=func)

    reconcile_cmd.add_parser(sub).set_defaults(
        func=lambda args: reconcile_cmd.cmd_reconcile(args, _settings(args))
    )
    sub.add_parser("up", help="start Asterisk, Redis and the backend").set_defaults(func=cmd_up)
    sub.add_parser("demo", help="up, then real SIPp agents and callers").set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(logging.INFO if args.verbose else logging.WARNING)
    try:
        code: int = args.func(args)
    except SettingsError as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
