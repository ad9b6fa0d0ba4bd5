"""Telling a lost race on a unique or foreign key from a bug, on both databases.

Two requests creating the same unit code both pass the "does it exist?" check; the database
refuses the second. Through the ORM that arrives as SQLAlchemy's IntegrityError, through
`crm.db.prepared` as the driver's own (sqlite3's or psycopg's).
"""

import sqlite3

import psycopg
from sqlalchemy.exc import IntegrityError

INTEGRITY_ERRORS = (IntegrityError, sqlite3.IntegrityError, psycopg.IntegrityError)
_PG_CONFLICTS = {"23505", "23503"}  # unique_violation, foreign_key_violation
_SQLITE_CONFLICTS = {
    "SQLITE_CONSTRAINT_UNIQUE",
    "SQLITE_CONSTRAINT_PRIMARYKEY",
    "SQLITE_CONSTRAINT_FOREIGNKEY",
}


def is_conflict(exc: BaseException) -> bool:
    """A unique or foreign key violation: the data changed under us, not a broken statement."""
    driver = exc.orig if isinstance(exc, IntegrityError) else exc
    if isinstance(driver, psycopg.Error):
        return driver.sqlstate in _PG_CONFLICTS
    if isinstance(driver, sqlite3.Error):
        return getattr(driver, "sqlite_errorname", "") in _SQLITE_CONFLICTS
    return False
