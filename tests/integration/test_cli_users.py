"""`hotline user ...`: the operator's way to add, bind, disable users and rotate or revoke tokens,
run as the command it is, on a private state directory (its SQLite database)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from crm.db.engine import create_engine, session_factory
from crm.db.models import User, UserChange
from crm.repo.directory import get_user, user_by_token


def hotline(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hotline_cli.main", "--state-dir", str(state_dir), "user", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def token_of(output: str) -> str:
    found = re.search(r"\(shown once\): (\S+)$", output.strip())
    assert found, output
    return found.group(1)


def read(state_dir: Path, user_id: int, token: str) -> tuple[User | None, User | None, list[str]]:
    """The user by id, the user the token opens (if any) and the user's trail of actions."""

    async def load() -> tuple[User | None, User | None, list[str]]:
        engine = create_engine(f"sqlite:///{state_dir / 'hotline.db'}")
        try:
            async with session_factory(engine)() as session:
                user = await get_user(session, user_id)
                by_token = await user_by_token(session, token)
                trail = list(
                    await session.scalars(
                        select(UserChange.action)
                        .where(UserChange.user_id == user_id)
                        .order_by(UserChange.id)
                    )
                )
                return user, by_token, trail
        finally:
            await engine.dispose()

    return asyncio.run(load())


def test_user_commands(tmp_path: Path) -> None:
    added = hotline(tmp_path, "add", "王芳", "--role", "agent", "--agent", "1001")
    assert added.returncode == 0, added.stderr
    assert "agent 1001" in added.stdout
    user_id = int(added.stdout.split()[1])
    token = token_of(added.stdout)

    taken = hotline(tmp_path, "add", "李娜", "--role", "agent", "--agent", "1001")
    assert taken.returncode == 1 and f"bound to user {user_id}" in taken.stderr
    unknown = hotline(tmp_path, "add", "李娜", "--role", "agent", "--agent", "7777")
    assert unknown.returncode == 2 and "7777 is neither a configured agent" in unknown.stderr

    listed = hotline(tmp_path, "list")
    assert listed.returncode == 0
    assert re.search(rf"^\s*{user_id}\s+王芳\s+agent\s+1001\s+active$", listed.stdout, re.M)

    rotated = hotline(tmp_path, "rotate-token", str(user_id))
    assert rotated.returncode == 0, rotated.stderr
    new_token = token_of(rotated.stdout)
    user, by_old, _ = read(tmp_path, user_id, token)
    assert by_old is None
    _, by_new, _ = read(tmp_path, user_id, new_token)
    assert by_new is not None and by_new.id == user_id

    assert hotline(tmp_path, "revoke-token", str(user_id)).returncode == 0
    _, by_new, _ = read(tmp_path, user_id, new_token)
    assert by_new is None

    assert hotline(tmp_path, "disable", str(user_id)).returncode == 0
    user, _, trail = read(tmp_path, user_id, new_token)
    assert user is not None and not user.active
    assert trail == ["created", "token_rotated", "token_revoked", "changed"]
    missing = hotline(tmp_path, "disable", "999")
    assert missing.returncode == 1 and "no user 999" in missing.stderr
