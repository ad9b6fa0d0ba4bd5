"""The CRM's database fixtures (SQLite and a private PostgreSQL), for the call log's tests."""

from tests.integration.crm.conftest import (  # noqa: F401
    database_url,
    engine,
    postgres_template,
    postgres_url,
    sqlite_template,
)
