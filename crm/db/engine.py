"""The CRM's database engine: SQLite file by default, PostgreSQL by URL.

SQLite allows one writer; a single pooled connection in WAL mode avoids "database is locked"
between our own requests, and its calls run inline on the loop (see inline_sqlite).
"""

from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from crm.db import inline_sqlite

SessionFactory = async_sessionmaker[AsyncSession]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=NORMAL",
        "PRAGMA foreign_keys=ON",
        "PRAGMA busy_timeout=5000",
    ):
        cursor.execute(pragma)
    cursor.close()


def async_url(url: str) -> str:
    """Pick the async driver for a plain URL ('sqlite:///x.db', 'postgresql://...')."""
    if url.startswith("sqlite:"):
        return "sqlite+aiosqlite:" + url.removeprefix("sqlite:")
    if url.startswith(("postgresql:", "postgres:")):
        return "postgresql+psycopg:" + url.split(":", 1)[1]
    return url


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """The engine every part uses. Its errors never carry the statement's parameters
    (caller numbers and names), since they are logged (hide_parameters)."""
    url = async_url(url)
    kwargs["hide_parameters"] = True
    if url.startswith("sqlite"):
        path = make_url(url).database or ":memory:"
        engine = create_async_engine(
            url, async_creator=inline_sqlite.creator(path), pool_size=1, max_overflow=0, **kwargs
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, **kwargs)


def session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False)


def bound_engine(sessions: SessionFactory) -> AsyncEngine:
    """The engine a session factory opens its sessions on."""
    bind = sessions.kw.get("bind")
    if not isinstance(bind, AsyncEngine):
        raise TypeError("the session factory must be bound to an AsyncEngine")
    return bind
