"""Storage: peewee on SQLite in the data directory.

`db` is initialised once at start-up by `open_database(path)`; models bind to it. Connections
are per thread (peewee's default): the loop thread's is opened by `open_database`, another
thread (e.g. a CDR writer kept off the loop because commits fsync) connects on its first query
with the same pragmas. `close_database()` closes the calling thread's connection; a worker's
goes with its thread, so stop workers before closing.
"""

from __future__ import annotations

import logging
from pathlib import Path

from peewee import SqliteDatabase

from .errors import SchemaTooNew, StorageError
from .migrations import apply_migrations

__all__ = ["SchemaTooNew", "StorageError", "close_database", "db", "open_database"]

BUSY_TIMEOUT_MS = 5000

# Applied on every connection, in this order (journal_mode first: it needs no open transaction).
PRAGMAS = (
    ("journal_mode", "wal"),
    # WAL with synchronous=NORMAL may lose the last commits on power loss; FULL fsyncs the WAL
    # on every commit, so a committed CDR or extension survives a power cut.
    ("synchronous", "full"),
    ("foreign_keys", 1),
    ("busy_timeout", BUSY_TIMEOUT_MS),
)

db = SqliteDatabase(None)


class _RedactQueryParameters(logging.Filter):
    """peewee logs every query with its parameters at DEBUG, and those include extension
    secrets and password hashes: keep the SQL, drop the values."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, tuple) and len(record.msg) == 2:
            sql, params = record.msg
            record.msg = f"{sql} -- {len(params or ())} parameters not logged"
            record.args = None
        return True


_peewee_log = logging.getLogger("peewee")
if not any(isinstance(f, _RedactQueryParameters) for f in _peewee_log.filters):
    _peewee_log.addFilter(_RedactQueryParameters())


def open_database(path: Path) -> None:
    """Open (creating if needed) the database at `path` and bring its schema up to date.

    Re-opening an up-to-date database changes nothing. Raises `SchemaTooNew` when the file was
    migrated by a newer firmware (e.g. after an A/B rollback), `StorageError` when the file
    system cannot hold a WAL database.
    """
    db.init(str(path), pragmas=PRAGMAS, timeout=BUSY_TIMEOUT_MS / 1000)
    db.connect()
    try:
        journal_mode = db.pragma("journal_mode")
        if str(journal_mode).lower() != "wal":
            raise StorageError(f"{path}: WAL journal unavailable (journal_mode={journal_mode})")
        apply_migrations(db)
    except BaseException:
        db.close()
        raise


def close_database() -> None:
    """Close this thread's connection; a no-op when the database was never opened or is closed."""
    if not db.deferred and not db.is_closed():
        db.close()
