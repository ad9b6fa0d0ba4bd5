"""`hotline config versions|show|apply|revert`: the telephony configuration's versions from the
server's command line, run as the command it is on a private state directory (SQLite)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from crm.db.engine import create_engine, session_factory
from crm.repo import admin_changes
from crm.usecases.telephony_config import versions

SECRET = "the-secret-of-agent-1003"


def hotline(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hotline_cli.main", "--state-dir", str(state_dir), *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def stored(state_dir: Path) -> tuple[list[dict[str, Any]], list[tuple[str, int | None, int]]]:
    """The stored documents, oldest first, and the telephony rows of the admins' trail."""

    async def load() -> tuple[list[dict[str, Any]], list[tuple[str, int | None, int]]]:
        engine = create_engine(f"sqlite:///{state_dir / 'hotline.db'}")
        try:
            async with session_factory(engine)() as session:
                documents = [v.document for v in reversed(await versions(session))]
                trail = [(c.action, c.subject_id, c.actor_id)
                         for c in await admin_changes.changes(session)
                         if c.subject == "telephony"]  # fmt: skip
                return documents, trail
        finally:
            await engine.dispose()

    return asyncio.run(load())


def _show(state_dir: Path, *version: str) -> dict[str, Any]:
    shown = hotline(state_dir, "config", "show", *version)
    assert shown.returncode == 0, shown.stderr
    return dict(json.loads(shown.stdout))


def test_config_commands(tmp_path: Path) -> None:
    state = tmp_path / "var"
    state.mkdir()
    listing = hotline(state, "config", "versions")
    assert listing.returncode == 0, listing.stderr
    assert "由配置文件初始化" in listing.stdout  # seeded from the packaged settings file
    admin = hotline(state, "user", "add", "管理员", "--role", "admin")
    assert admin.returncode == 0, admin.stderr
    admin_id = admin.stdout.split()[1]
    agent = hotline(state, "user", "add", "王芳", "--role", "agent", "--agent", "1001")
    agent_id = agent.stdout.split()[1]

    document = _show(state)["document"]
    document["agents"][2]["sip_password"] = SECRET
    document["queues"][0]["strategy"] = "ringall"
    change = tmp_path / "change.json"
    change.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    applied = hotline(state, "config", "apply", str(change), "--base", "1", "--actor", admin_id)
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.strip() == (
        "version 2 stored: 改动 2 处：agents[1003].sip_password、queues[hotline].strategy"
    )
    shown = hotline(state, "config", "show", "2")
    assert SECRET not in shown.stdout and json.loads(shown.stdout)["version"] == 2

    stale = hotline(state, "config", "apply", str(change), "--base", "1", "--actor", admin_id)
    assert stale.returncode == 1 and "当前为第 2 版" in stale.stderr
    denied = hotline(state, "config", "revert", "1", "--base", "2", "--actor", agent_id)
    assert denied.returncode == 1 and f"user {agent_id} is not an active admin" in denied.stderr

    partial = tmp_path / "partial.toml"  # as `hotline config import --out` writes it
    partial.write_text('[[queues]]\nname = "q"\nskill = "xyz"\n')
    refused = hotline(state, "config", "apply", str(partial), "--base", "2", "--actor", admin_id)
    assert refused.returncode == 1
    for section in ("inbound_numbers", "agents", "trunks", "colleagues", "ivr", "overflow",
                    "hours", "nuisance"):  # fmt: skip
        assert f"{section}: 缺少此部分" in refused.stderr
    assert "queues: 缺少此部分" not in refused.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document | {"queues": [{"name": "q", "skill": "xyz"}]}))
    refused = hotline(state, "config", "apply", str(bad), "--base", "2", "--actor", admin_id)
    assert refused.returncode == 1
    assert 'queues.0.skill: 未知技能 "xyz"' in refused.stderr
    assert 'ivr.queues.operator: 未知队列 "hotline"' in refused.stderr
    linear = tmp_path / "linear.json"
    queues = [q | {"strategy": "linear"} for q in document["queues"]]
    linear.write_text(json.dumps(document | {"queues": queues}, ensure_ascii=False))
    restart = hotline(state, "config", "apply", str(linear), "--base", "2", "--actor", admin_id)
    assert restart.returncode == 1, restart.stdout
    assert "需要重启才能生效: queues.hotline.strategy: to or from linear" in restart.stderr
    broken = tmp_path / "broken.json"
    broken.write_text('{"agents": [')
    unreadable = hotline(state, "config", "apply", str(broken), "--base", "2", "--actor", admin_id)
    assert unreadable.returncode == 1 and "cannot read" in unreadable.stderr

    reverted = hotline(state, "config", "revert", "1", "--base", "2", "--actor", admin_id)
    assert reverted.returncode == 0, reverted.stderr
    assert reverted.stdout.startswith("version 3 stored: 恢复为第 1 版")
    missing = hotline(state, "config", "show", "9")
    assert missing.returncode == 1 and "没有第 9 版电话配置" in missing.stderr

    listing = hotline(state, "config", "versions")
    assert "applied (UTC)" in listing.stdout.splitlines()[0]
    assert listing.stdout.splitlines()[1].endswith("|  -")  # no backend ran version 3
    documents, trail = stored(state)
    assert len(documents) == 3 and documents[2] == documents[0]
    assert documents[1]["agents"][2]["sip_password"] == SECRET  # stored for the renderer
    assert trail == [("changed", 2, int(admin_id)), ("reverted", 3, int(admin_id))]


def test_config_versions_masks_callers_numbers(tmp_path: Path) -> None:
    state = tmp_path / "var"
    state.mkdir()
    admin = hotline(state, "user", "add", "管理员", "--role", "admin")
    assert admin.returncode == 0, admin.stderr
    document = _show(state)["document"]
    document["nuisance"] = [{"number": "13800138000", "reason": "骚扰"}]
    change = tmp_path / "change.json"
    change.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    args = ("--base", "1", "--actor", admin.stdout.split()[1])
    applied = hotline(state, "config", "apply", str(change), *args)
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.strip() == "version 2 stored: 改动 1 处：nuisance[138****8000] 新增"
    listing = hotline(state, "config", "versions")
    assert "nuisance[138****8000]" in listing.stdout and "13800138000" not in listing.stdout
    assert "13800138000" not in json.dumps(_show(state, "2")["changes"])
