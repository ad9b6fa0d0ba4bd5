"""A live apply whose file writing fails (a full disk, a read-only directory): every file put
back as it was, ApplyError raised, no reload of the new configuration and no member change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from config.secrets import resolve_secrets
from config.settings import Settings, load_settings
from telephony import live_config
from telephony.asterisk_config import write_private
from telephony.live_config import ApplyError, apply
from telephony.reload_plan import plan_reload


class Recorder:
    """The AMI client and Asterisk's CLI in one: every request recorded, each one answered."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def action(self, name: str, timeout: float = 0, **headers: str) -> dict[str, str]:
        self.asked.append(name)
        return {"Response": "Success"}

    async def action_list(self, name: str, timeout: float = 0, **headers: str) -> list[Any]:
        self.asked.append(name)
        return []

    async def cli(self, command: str, timeout: float = 0) -> str:
        self.asked.append(command)
        return "Module 'res_pjsip.so' reloaded successfully. Dialplan reloaded."


def _settings(tmp_path: Path, **top: Any) -> Settings:
    environ = {"HOTLINE_AMI__SECRET": "s3cret-from-the-env",
               "HOTLINE_PATHS__STATE_DIR": str(tmp_path)}  # fmt: skip
    return resolve_secrets(load_settings(environ=environ, overrides=top))


async def test_a_failed_write_puts_every_file_back_and_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _settings(tmp_path)
    agents = [a.model_dump() for a in old.agents]
    agents.append({"extension": "1005", "name": "新坐席", "skills": ["general"],
                   "contact": "sip:1005@127.0.0.1:5075"})  # fmt: skip
    queues = [q.model_dump() | {"wrapup_s": 11} for q in old.queues]
    new = _settings(tmp_path, agents=agents, queues=queues)
    plan = plan_reload(old, new)
    assert len(plan.files) >= 2, plan.files  # one written before the failure, at least
    etc = tmp_path / "etc"
    etc.mkdir()
    for name, text in plan.old_files.items():
        (etc / name).write_text(text)
    written: list[str] = []

    def full_disk(path: Path, text: str) -> Path:
        if written and text == plan.files.get(path.name):
            raise OSError(28, "No space left on device")
        written.append(path.name)
        return write_private(path, text)

    monkeypatch.setattr(live_config, "write_private", full_disk)
    centre = Recorder()
    with pytest.raises(ApplyError, match="No space left on device"):
        await apply(centre, centre, etc, old, new)
    assert written[0] in plan.files  # the new text of one file was written
    assert {n: (etc / n).read_text() for n in plan.old_files} == plan.old_files
    assert "QueueAdd" not in centre.asked
