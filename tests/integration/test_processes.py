"""The private Asterisk and Redis supervisors, and the `hotline` command, for real."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from crm.db.engine import create_engine, session_factory
from crm.domain.enums import Role, UnitKind
from crm.repo.directory import create_unit, user_by_token
from hotline_cli.demo.ports import free_tcp_port
from processes.redis_server import RedisProcess
from processes.supervised import ProcessError
from telephony.asterisk_config import Layout, write_config
from telephony.asterisk_process import AsteriskProcess
from tests.e2e.harness import e2e_settings


async def test_asterisk_starts_fully_booted_and_stops(tmp_path: Path) -> None:
    settings = e2e_settings(tmp_path)
    layout = Layout(tmp_path / "asterisk")
    write_config(settings, layout)
    async with AsteriskProcess(layout) as asterisk:
        assert isinstance(asterisk, AsteriskProcess) and await asterisk.healthy()
        modules = await asterisk.cli("module show like app_queue")
        assert "app_queue.so" in modules and "Running" in modules
        endpoints = await asterisk.cli("pjsip show endpoints")
        assert "1001" in endpoints and "trunk-110-backup" in endpoints
        messages = (layout.log / "messages").read_text(encoding="utf-8")
        assert "ERROR" not in messages, messages
    assert not asterisk.running


async def test_a_dying_asterisk_is_not_adopted(tmp_path: Path) -> None:
    """An Asterisk still dying of a SIGKILL: its control socket takes the connection but
    never answers, and `asterisk -rx` exits 0 on the reset. Adopting it failed the restart."""
    settings = e2e_settings(tmp_path)
    layout = Layout(tmp_path / "asterisk")
    write_config(settings, layout)
    (layout.run / "asterisk.pid").write_text(f"{os.getpid()}\n", encoding="ascii")
    with socket.socket(socket.AF_UNIX) as dying:
        dying.bind(str(layout.control_socket))
        dying.listen(8)  # never accepted: what a process being torn down does
        closing = asyncio.get_running_loop().call_later(0.5, dying.close)
        try:
            assert await AsteriskProcess(layout).find_running() is None
        finally:
            closing.cancel()


async def test_asterisk_that_cannot_start_is_reported(tmp_path: Path) -> None:
    layout = Layout(tmp_path / "asterisk")  # nothing rendered: no asterisk.conf
    with pytest.raises(ProcessError):
        await AsteriskProcess(layout).start(timeout=5)


async def test_killed_asterisk_is_unhealthy(tmp_path: Path) -> None:
    settings = e2e_settings(tmp_path)
    layout = Layout(tmp_path / "asterisk")
    write_config(settings, layout)
    asterisk = AsteriskProcess(layout)
    await asterisk.start()
    asterisk.kill()
    assert asterisk.process is not None
    await asterisk.process.wait()
    assert not await asterisk.healthy()
    await asterisk.stop()


async def test_a_redis_left_running_is_adopted_and_a_stranger_refused(tmp_path: Path) -> None:
    port = free_tcp_port()
    first = RedisProcess(port, tmp_path / "redis")
    await first.start()
    try:
        second = RedisProcess(port, tmp_path / "redis")
        await second.start()
        assert second.adopted_pid == first.pid and await second.healthy()
        with pytest.raises(ProcessError, match="taken by another redis-server"):
            await RedisProcess(port, tmp_path / "elsewhere").start()
        await second.stop()
        assert first.process is not None
        await asyncio.wait_for(first.process.wait(), 10)
    finally:
        await first.stop()


async def test_private_redis_persists_across_a_kill(tmp_path: Path) -> None:
    redis = RedisProcess(free_tcp_port(), tmp_path / "redis")
    async with redis:
        import redis.asyncio as aioredis

        client = aioredis.from_url(redis.url)
        await client.set("hotline:test", "张三")
        await client.aclose()
        assert await redis.healthy()
        redis.kill()
        assert redis.process is not None
        await redis.process.wait()
        await redis.start()
        client = aioredis.from_url(redis.url)
        assert await client.get("hotline:test") == "张三".encode()
        await client.aclose()


async def test_the_private_redis_refuses_clients_without_its_password(tmp_path: Path) -> None:
    server = RedisProcess(free_tcp_port(), tmp_path / "redis")
    async with server:
        import redis.asyncio as aioredis
        from redis.exceptions import AuthenticationError

        anonymous = aioredis.from_url(f"redis://{server.host}:{server.port}/0")
        with pytest.raises(AuthenticationError):
            await anonymous.get("hotline:presence")  # NOAUTH
        await anonymous.aclose()
        wrong = aioredis.from_url(f"redis://:not-the-password@{server.host}:{server.port}/0")
        with pytest.raises(AuthenticationError):
            await wrong.ping()
        await wrong.aclose()
        client = aioredis.from_url(server.url)
        assert await client.ping()
        await client.aclose()
        assert server.password not in " ".join(server.command())  # not on the command line
        assert server.config_file.stat().st_mode & 0o777 == 0o600


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hotline_cli.main", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_config_render_writes_the_files(tmp_path: Path) -> None:
    result = run_cli("--state-dir", str(tmp_path), "config", "render")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "asterisk" / "etc" / "manager.conf").is_file()
    assert "pjsip.conf" in result.stdout


async def test_cli_adds_a_user_whose_token_works(tmp_path: Path) -> None:
    result = await asyncio.to_thread(
        run_cli, "--state-dir", str(tmp_path), "user", "add", "值班长", "--role", "admin"
    )
    assert result.returncode == 0, result.stderr
    assert "值班长 (admin)" in result.stdout
    token = result.stdout.rsplit(": ", 1)[1].strip()
    engine = create_engine(f"sqlite:///{tmp_path / 'hotline.db'}")
    try:
        async with session_factory(engine)() as session:
            user = await user_by_token(session, token)
        assert user is not None and user.name == "值班长" and user.role is Role.ADMIN
    finally:
        await engine.dispose()


async def test_cli_binds_a_supervisor_to_a_supervisors_phone(tmp_path: Path) -> None:
    config = tmp_path / "hotline.toml"
    packaged = (Path(__file__).parents[2] / "config" / "hotline.toml").read_text(encoding="utf-8")
    config.write_text(
        packaged + '\n[[colleagues]]\nextension = "8001"\nname = "张班长话机"\n'
        'kind = "supervisor"\ncontact = "sip:8001@127.0.0.1:5091"\n', encoding="utf-8",
    )  # fmt: skip
    common = ("--config", str(config), "--state-dir", str(tmp_path), "user", "add")
    added = await asyncio.to_thread(
        run_cli, *common, "张班长", "--role", "supervisor", "--phone", "8001"
    )
    assert added.returncode == 0, added.stderr
    assert "张班长 (supervisor, phone 8001)" in added.stdout
    taken = await asyncio.to_thread(
        run_cli, *common, "李班长", "--role", "admin", "--phone", "8001"
    )
    assert taken.returncode == 1 and "extension 8001 is bound to user" in taken.stderr
    agent = await asyncio.to_thread(run_cli, *common, "王芳", "--role", "agent", "--agent", "8001")
    assert agent.returncode == 1 and "a supervisor's phone, not an agent's" in agent.stderr
    unknown = await asyncio.to_thread(
        run_cli, *common, "李班长", "--role", "supervisor", "--phone", "1001"
    )  # an agent's extension: not a supervisor's phone
    assert unknown.returncode == 1 and "not a supervisor's phone" in unknown.stderr


async def test_cli_binds_a_handler_to_a_department_phone(tmp_path: Path) -> None:
    """A handler works at its department's phone (rung first for its calls to citizens),
    never at a supervisor's."""
    config = tmp_path / "hotline.toml"
    packaged = (Path(__file__).parents[2] / "config" / "hotline.toml").read_text(encoding="utf-8")
    config.write_text(packaged + "".join(
        f'\n[[colleagues]]\nextension = "{ext}"\nname = "{name}"\nkind = "{kind}"\n'
        f'contact = "sip:{ext}@127.0.0.1:{port}"\n'
        for ext, name, kind, port in (("8101", "城管值班室", "department", 5092),
                                      ("8001", "张班长话机", "supervisor", 5091))
    ), encoding="utf-8")  # fmt: skip
    common = ("--config", str(config), "--state-dir", str(tmp_path), "user")
    first = await asyncio.to_thread(run_cli, *common, "add", "管理员", "--role", "admin")
    assert first.returncode == 0, first.stderr  # the database made
    engine = create_engine(f"sqlite:///{tmp_path / 'hotline.db'}")
    try:
        async with session_factory(engine)() as session, session.begin():
            await create_unit(session, "CG", "城市管理局", UnitKind.DEPARTMENT)
    finally:
        await engine.dispose()
    add = (*common, "add", "城管张", "--role", "handler", "--unit", "CG", "--phone")
    added = await asyncio.to_thread(run_cli, *add, "8101")
    assert added.returncode == 0, added.stderr
    assert "城管张 (handler, phone 8101)" in added.stdout
    wrong = await asyncio.to_thread(run_cli, *add, "8001")
    assert wrong.returncode == 1 and "not a department's phone" in wrong.stderr


def test_cli_rejects_bad_settings_naming_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[sip]\nport = 99999\n", encoding="utf-8")
    result = run_cli("--config", str(bad), "config", "check")
    assert result.returncode == 2
    assert "sip.port" in result.stderr


async def test_an_asterisk_left_running_is_adopted_not_doubled(tmp_path: Path) -> None:
    """A backend that crashed and restarts finds its Asterisk (and its calls) still there."""
    settings = e2e_settings(tmp_path)
    layout = Layout(tmp_path / "asterisk")
    write_config(settings, layout)
    first = AsteriskProcess(layout)
    await first.start()
    try:
        second = AsteriskProcess(layout)  # as a restarted backend would
        await second.start()
        assert second.adopted_pid == first.pid and second.running
        assert await second.healthy()
        await second.stop()
        assert first.process is not None
        await asyncio.wait_for(first.process.wait(), 10)  # stopped through the adopter
        assert not second.running
    finally:
        await first.stop()
