"""Bring a database to the newest schema by running the packaged alembic migrations.

Configured in code (no alembic.ini) so it works from an installed wheel and from tests alike.
"""

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

SCRIPT_LOCATION = "crm:migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    return config


def upgrade(connection: Connection, revision: str = "head") -> None:
    command.upgrade(alembic_config(connection), revision)


def downgrade(connection: Connection, revision: str) -> None:
    command.downgrade(alembic_config(connection), revision)


async def migrate(engine: AsyncEngine) -> None:
    """Upgrade to head inside one transaction."""
    async with engine.begin() as conn:
        await conn.run_sync(upgrade)
