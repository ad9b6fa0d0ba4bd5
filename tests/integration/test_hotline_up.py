"""`hotline up` as an operator runs it: everything starts, /health answers, Ctrl-C stops all."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import urllib.request
from pathlib import Path

from crm.db.engine import create_engine, session_factory
from crm.db.telephony_models import TelephonyVersion
from crm.usecases.telephony_config import versions
from hotline_cli.demo.ports import free_tcp_port, free_udp_port


def _get(url: str) -> tuple[int, dict[str, object]]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, json.loads(response.read())


def _children(pid: int, running: str) -> list[int]:
    """The child processes of `pid` whose command line holds `running`."""
    tasks = Path(f"/proc/{pid}/task").iterdir()
    children = [int(child) for task in tasks for child in (task / "children").read_text().split()]
    return [c for c in children if running in Path(f"/proc/{c}/cmdline").read_bytes().decode()]


async def test_up_prints_where_everything_listens_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    http = free_tcp_port()
    env = {
        **os.environ,
        "HOTLINE_SIP__PORT": str(free_udp_port()),
        "HOTLINE_AMI__PORT": str(free_tcp_port()),
        "HOTLINE_AGI__PORT": str(free_tcp_port()),
        "HOTLINE_HTTP__PORT": str(http),
        "HOTLINE_REDIS__PORT": str(free_tcp_port()),
        "HOTLINE_GATEWAY__PORT": str(free_tcp_port()),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hotline_cli.main",
        "--state-dir",
        str(tmp_path),
        "up",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(60):
            while not lines or "Ctrl-C" not in lines[-1]:
                line = (await proc.stdout.readline()).decode()
                assert line, "hotline up exited early:\n" + "".join(lines)
                lines.append(line)
        text = "".join(lines)
        assert "12345" in text and f"http://127.0.0.1:{http}/health" in text
        assert "queue hotline" in text and "王芳" in text
        status, health = await asyncio.to_thread(_get, f"http://127.0.0.1:{http}/health")
        assert status == 200 and health["ami_connected"] is True
        healthy = {"failures": 0, "restarts": 0}
        assert health["tasks"] == {
            name: healthy
            for name in ("ami consumer", "desk outbox writer", "call log writer", "agent commands",
                         "supervision sweeps", "emergency clock", "live wall", "hand-over sender",
                         "recording upkeep", "spy audit", "overflow seats", "trunk alerts",
                         "queue positions",
                         "desk users", "desk users recheck", "health report",
                         "http process", "recording checks")
        }  # fmt: skip
        assert health["alarms"] == {}  # the recordings' disk has room
        # Nothing configured a secret: each was generated, private, and is the one in use.
        for name in ("ami", "gateway", "redis", "sip-1001"):
            mode = (tmp_path / "secrets" / name).stat().st_mode & 0o777
            assert mode == 0o600, name
        ami_secret = (tmp_path / "secrets" / "ami").read_text().strip()
        manager = (tmp_path / "asterisk" / "etc" / "manager.conf").read_text()
        assert f"secret = {ami_secret}\n" in manager  # and AMI is connected with it (above)
        redis_password = (tmp_path / "secrets" / "redis").read_text().strip()
        assert ami_secret not in text and redis_password not in text  # never printed
        # The API is served by a child process of its own (API work never stalls calls).
        web_children = _children(proc.pid, "hotline_cli.http_child")
        assert len(web_children) == 1
        pid_file = tmp_path / "asterisk" / "run" / "asterisk.pid"
        asterisk_pid = int((await asyncio.to_thread(pid_file.read_text)).strip())
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            async with asyncio.timeout(30):
                await proc.wait()
        finally:
            if proc.returncode is None:  # leave no hotline behind, whatever failed
                proc.kill()
                await proc.wait()
    assert proc.returncode == 0
    # Asterisk and the HTTP process were stopped with the backend.
    assert not await asyncio.to_thread(Path(f"/proc/{asterisk_pid}").exists)
    assert not await asyncio.to_thread(Path(f"/proc/{web_children[0]}").exists)
    # The first start seeded the telephony configuration's version 1 from the settings file,
    # its generated secrets left to be generated (kept in secrets/, not in the database).
    (seed,) = await _telephony_versions(tmp_path / "hotline.db")
    assert (seed.version, seed.author_id) == (1, None)
    assert [a["extension"] for a in seed.document["agents"]] == ["1001", "1002", "1003", "1901"]
    assert {a["sip_password"] for a in seed.document["agents"]} == {""}


async def _telephony_versions(database: Path) -> list[TelephonyVersion]:
    engine = create_engine(f"sqlite:///{database}")
    try:
        async with session_factory(engine)() as session:
            return list(await versions(session))
    finally:
        await engine.dispose()
