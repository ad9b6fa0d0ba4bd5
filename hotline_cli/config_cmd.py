"""`hotline config versions|show|apply|revert`: the telephony configuration's versions in the
database, from the server's command line. The same use cases as the API: changes are made
as a named admin (`--actor`, audited as that user), on a base version (`--base`), checked
as a whole and against the settings file's infrastructure (what the running centre can run
live); secrets are shown masked; `versions` shows how each version's apply went. An empty
database is seeded from the settings file first, as the backend's first start does. A change
stored here reaches the running backend at its next poll of the current version
(`config_follow.POLL_S`)."""

from __future__ import annotations

import argparse
import json
import tomllib
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from config.settings import Settings
from config.telephony_config import document_from, masked_json

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from crm.db.telephony_models import TelephonyApply, TelephonyVersion

Work = Callable[["AsyncSession", datetime], Awaitable[str]]
Run = Callable[[argparse.Namespace, Work], int]
SettingsOf = Callable[[argparse.Namespace], Settings]


def _read_document(path: Path) -> dict[str, Any]:
    """A document from a .json or .toml file; an unreadable or malformed one exits 1."""
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            data = json.loads(text)
        elif path.suffix == ".toml":
            data = tomllib.loads(text)
        else:
            raise SystemExit(f"hotline: {path}: give a .json or .toml file")
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # JSON and TOML errors too
        raise SystemExit(f"hotline: cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise SystemExit(f"hotline: {path}: the document must be an object")
    return data


async def _admin(session: AsyncSession, user_id: int) -> int:
    from crm.domain.enums import Role
    from crm.errors import Denied
    from crm.repo.directory import get_user

    user = await get_user(session, user_id)
    if user is None or not user.active or user.role is not Role.ADMIN:
        raise Denied("not_an_admin", f"user {user_id} is not an active admin (hotline user list)")
    return user.id


def _stored(row: TelephonyVersion, changed: bool) -> str:
    if not changed:
        return f"nothing to change: version {row.version} is this document already"
    return f"version {row.version} stored: {row.summary}"


def _outcome(row: TelephonyApply | None) -> str:
    if row is None:
        return "-"
    return f"{'ok' if row.ok else 'FAILED'} {row.applied_at:%H:%M:%S} {row.reason}"


def _commands(settings_of: SettingsOf) -> dict[str, Callable[[argparse.Namespace], Work]]:
    from crm.usecases import telephony_config as store
    from crm.usecases.telephony_applies import applies_of
    from hotline_cli.config_follow import runnable

    def seeded(work: Work, args: argparse.Namespace) -> Work:
        seed = document_from(settings_of(args))

        async def run(session: AsyncSession, now: datetime) -> str:
            await store.seed_if_empty(session, seed, now)
            return await work(session, now)

        return run

    def versions(args: argparse.Namespace) -> Work:
        async def work(session: AsyncSession, _now: datetime) -> str:
            lines = [f"{'version':>7}  {'created (UTC)':<19}  {'author':<6}  summary"
                     "  |  applied (UTC)"]  # fmt: skip
            rows = await store.versions(session, args.limit)
            applies = await applies_of(session, [row.version for row in rows])
            for row in rows:
                author = "-" if row.author_id is None else str(row.author_id)
                lines.append(f"{row.version:>7}  {row.created_at:%Y-%m-%d %H:%M:%S}  "
                             f"{author:<6}  {row.summary}  |  "
                             f"{_outcome(applies.get(row.version))}")  # fmt: skip
            return "\n".join(lines)

        return seeded(work, args)

    def show(args: argparse.Namespace) -> Work:
        async def work(session: AsyncSession, _now: datetime) -> str:
            found = store.version(session, args.version) if args.version else None
            row = await found if found is not None else await store.current(session)
            out = {"version": row.version, "created_at": row.created_at.isoformat(),
                   "author_id": row.author_id, "summary": row.summary,
                   "reverted_from": row.reverted_from, "changes": row.changes,
                   "document": masked_json(store.document_of(row))}  # fmt: skip
            return json.dumps(out, ensure_ascii=False, indent=2)

        return seeded(work, args)

    def apply(args: argparse.Namespace) -> Work:
        data = _read_document(args.file)

        async def work(session: AsyncSession, now: datetime) -> str:
            actor = await _admin(session, args.actor)
            checks = runnable(settings_of(args))
            return _stored(*await store.apply_change(session, actor, now, args.base, data, checks))

        return seeded(work, args)

    def revert(args: argparse.Namespace) -> Work:
        async def work(session: AsyncSession, now: datetime) -> str:
            actor = await _admin(session, args.actor)
            checks = runnable(settings_of(args))
            return _stored(
                *await store.revert(session, actor, now, args.base, args.version, checks)
            )

        return seeded(work, args)

    return {"versions": versions, "show": show, "apply": apply, "revert": revert}


def add_parsers(config_sub: Any, run: Run, settings_of: SettingsOf) -> None:
    """The four commands under `hotline config`; `run` runs a work in a transaction and
    turns a refusal into exit 1."""
    commands = _commands(settings_of)

    def command(name: str, what: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = config_sub.add_parser(name, help=what)
        parser.set_defaults(func=lambda args: run(args, commands[name](args)))
        return parser

    command("versions", "the telephony configuration's versions, newest first").add_argument(
        "--limit", type=int, default=50
    )
    command("show", "a version of the telephony configuration (default: the current), "
            "secrets masked").add_argument("version", type=int, nargs="?")  # fmt: skip
    change = command("apply", "store FILE (.json or .toml) as the next version")
    change.add_argument("file", type=Path)
    back = command("revert", "store version N's document again as the next version")
    back.add_argument("version", type=int)
    for parser in (change, back):
        parser.add_argument(
            "--base",
            type=int,
            required=True,
            help="the current version, the one the change was made on",
        )
        parser.add_argument("--actor", type=int, required=True,
                            help="the admin making the change (hotline user list)")  # fmt: skip
