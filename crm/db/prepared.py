"""Statements compiled once per dialect and run on the DBAPI connection of a transaction.

Registering an order is the hot path of every call. SQLAlchemy's execution pipeline (parameter
processing, execution context, result wrapping, greenlet hops) cost about 90 us a statement
here, several times SQLite's own work. The few fixed statements of that path are therefore
compiled once by SQLAlchemy, so their SQL text and type conversions still come from the models,
and run on the connection the session's transaction already holds: same transaction, same
constraints and triggers. SQLAlchemy's execution events (echo, before_cursor_execute) do not
see them.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positions: tuple[str, ...] | None  # parameter order for positional paramstyles
    fixed: dict[str, Any]  # values bound in the statement itself (literals, LIMIT), processed
    processors: dict[str, Callable[[Any], Any]]

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        params = dict(self.fixed)
        for name, value in values.items():
            process = self.processors.get(name)
            params[name] = value if process is None else process(value)
        if self.positions is None:
            return params
        return [params[name] for name in self.positions]


class Prepared:
    """A Core statement and its compiled form per dialect.

    `columns` names the VALUES of an INSERT; give every column that has a Python-side default,
    since no execution context is there to fill it in (a missing one fails loudly).
    """

    def __init__(self, statement: ClauseElement, columns: Sequence[str] | None = None) -> None:
        self._statement = statement
        self._columns = list(columns) if columns is not None else None
        self._compiled: dict[str, _Compiled] = {}

    def compiled(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = self._compile(dialect)
        return found

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = cast(
            SQLCompiler, self._statement.compile(dialect=dialect, column_keys=self._columns)
        )
        # what an execution context would otherwise supply: fail here, not with wrong rows
        if compiled.insert_prefetch or compiled.post_compile_params or compiled.escaped_bind_names:
            raise ValueError("give every defaulted column; no expanding IN or escaped names")
        fixed: dict[str, Any] = {}
        processors: dict[str, Callable[[Any], Any]] = {}
        for bind, name in compiled.bind_names.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if not bind.required:
                fixed[name] = process(bind.effective_value) if process else bind.effective_value
            elif process is not None:
                processors[name] = process
        positions = tuple(compiled.positiontup or ()) if compiled.positional else None
        return _Compiled(compiled.string, positions, fixed, processors)


class DriverConnection:
    """The DBAPI connection of a transaction: SQLite's inline connection or psycopg's async
    one, which share the cursor calls used here."""

    def __init__(self, dialect: Dialect, connection: Any) -> None:
        self.dialect = dialect
        self._connection = connection

    @classmethod
    async def of(cls, db: AsyncSession | AsyncConnection) -> "DriverConnection":
        """The connection of `db`'s transaction, begun here if need be (the caller commits).

        SQLAlchemy would not know of a transaction the driver opened behind its back, and would
        roll it back when the connection goes back to the pool.
        """
        connection = await db.connection() if isinstance(db, AsyncSession) else db
        if not connection.in_transaction():
            await connection.begin()
        raw = await connection.get_raw_connection()
        return cls(connection.dialect, raw.driver_connection)

    async def rows(self, statement: Prepared, values: Mapping[str, Any]) -> list[Any]:
        """Execute with `values` by bind name; returns the result rows as plain tuples."""
        compiled = statement.compiled(self.dialect)
        async with self._connection.cursor() as cursor:
            await cursor.execute(compiled.sql, compiled.parameters(values))
            return list(await cursor.fetchall()) if cursor.description else []
