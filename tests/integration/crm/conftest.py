"""CRM integration fixtures: every test runs once on SQLite and once on a private PostgreSQL.

The PostgreSQL server is started for the session on a free loopback port in a temporary
directory (initdb refuses root, so it runs as the postgres user when we are root) and is
stopped and removed at the end. Each test gets a fresh database cloned from a migrated template.
"""

import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from glob import glob
from pathlib import Path

import psycopg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.api import create_app
from crm.db.engine import create_engine, session_factory
from crm.db.migrate import upgrade
from crm.segmenter import Segmenter
from hotline_cli.demo.ports import free_tcp_port
from tests.integration.crm.crm_support import Api, FakeClock, seed


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"))), None
    )
    if found is None:
        raise RuntimeError(f"PostgreSQL server binary {name} not found")
    return found


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL (without database name) of a private PostgreSQL server for this test session."""
    root = Path(tempfile.mkdtemp(prefix="crm-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data, port = root / "data", free_tcp_port()
    subprocess.run(
        _as_postgres([_pg_bin("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                      "-E", "UTF8", "--locale=C", "--no-sync"]),
        check=True, capture_output=True,
    )  # fmt: skip
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off"
    )
    subprocess.run(
        _as_postgres([_pg_bin("pg_ctl"), "-D", str(data), "-o", options,
                      "-l", str(root / "server.log"), "-w", "start"]),
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            check=False, capture_output=True,
        )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_template(postgres_url: str) -> str:
    """A migrated database to clone per test (CREATE DATABASE ... TEMPLATE is fast)."""
    with psycopg.connect(f"{postgres_url}/postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE crm_template")
    engine = create_sync_engine(
        f"postgresql+psycopg://{postgres_url.split('://', 1)[1]}/crm_template"
    )
    with engine.begin() as conn:
        upgrade(conn)
    engine.dispose()
    return "crm_template"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("crm-sqlite") / "template.db"
    engine = create_sync_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        upgrade(conn)
    engine.dispose()
    return path


_db_numbers = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated, empty database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "crm.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    server = request.getfixturevalue("postgres_url")
    template = request.getfixturevalue("postgres_template")
    name = f"crm_test_{next(_db_numbers)}"
    # FILE_COPY: PostgreSQL 15's default (WAL_LOG) writes the template's every page through
    # the WAL, three times slower for a database this small; the server runs fsync=off, so
    # the checkpoint FILE_COPY asks for costs nothing.
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
    yield f"{server}/{name}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def segmenter() -> Segmenter:
    return Segmenter()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def api(engine: AsyncEngine, clock: FakeClock, segmenter: Segmenter) -> AsyncIterator[Api]:
    sessions = session_factory(engine)
    seeded = await seed(sessions)
    app = create_app(sessions, centre_code="SZ12345", clock=clock, segmenter=segmenter,
                     max_body_bytes=64 * 1024, supervisor_phones=["8001"],
                     department_phones=["8101"])  # fmt: skip
    async with TestClient(TestServer(app)) as client:
        yield Api(client, seeded, clock)
