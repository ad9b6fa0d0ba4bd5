"""An aiosqlite-shaped connection that runs SQLite calls inline on the event loop.

aiosqlite hands every call to a private thread, and SQLAlchemy's adapter makes about four calls
per statement (open cursor, execute, fetch, close): each request paid a dozen thread round trips
that cost far more than the SQLite work itself (~80 orders/s). SQLite is an in-process library
whose calls on a local file take microseconds, so the embedded default runs them directly; it
is handed to SQLAlchemy through `create_async_engine(async_creator=...)`. Long analytical
queries would block the loop: deployments that need them use PostgreSQL.
"""

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

Params = Sequence[Any] | dict[str, Any]


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> "InlineCursor":
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Params = ()) -> "InlineCursor":
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Params]) -> "InlineCursor":
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """The subset of aiosqlite.Connection that SQLAlchemy's aiosqlite dialect uses."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection: sqlite3.Connection | None = connection

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor())

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, name: str, num_params: int, func: Callable[..., Any],
                              **kwargs: Any) -> None:  # fmt: skip
        self._conn.create_function(name, num_params, func, **kwargs)

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def stop(self) -> None:
        """Forced close, used when SQLAlchemy terminates a connection."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def creator(path: str) -> Callable[[], Any]:
    """An `async_creator` for create_async_engine opening `path` with sqlite3."""

    async def connect() -> InlineConnection:
        # the pool may hand the connection to another task, never to another thread
        return InlineConnection(sqlite3.connect(path, check_same_thread=False))

    return connect
