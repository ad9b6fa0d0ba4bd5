"""Alembic environment: runs on the connection handed over by crm.db.migrate.

The CRM migrates itself at start-up, so there is no alembic.ini; the caller puts an open
connection in ``config.attributes["connection"]``.
"""

from alembic import context
from sqlalchemy.engine import Connection

from crm.db import (
    call_models,  # noqa: F401  (registers the call log's tables)
    callback_models,  # noqa: F401  (registers the queue callbacks)
    exchange_models,  # noqa: F401  (registers the emergency loop's tables)
    floor_models,  # noqa: F401  (registers the floor's trail)
    telephony_models,  # noqa: F401  (registers the telephony configuration's versions)
)
from crm.db.models import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_connection = context.config.attributes.get("connection")
if not isinstance(_connection, Connection):
    raise RuntimeError("run migrations through crm.db.migrate, which supplies a connection")
_run(_connection)
