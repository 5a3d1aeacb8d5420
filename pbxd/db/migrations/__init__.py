"""Numbered schema migrations.

Each module `mNNNN_<what>.py` defines `apply(database)` with plain SQL (or models frozen inside
the module): never import the live models here, they describe the newest schema only.
Applied versions are recorded in `schema_version`; each migration runs in its own
`BEGIN IMMEDIATE` transaction, so a crash leaves the schema at the previous version and two
processes opening the same file do not apply a migration twice.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType

from peewee import SqliteDatabase

from ..errors import SchemaTooNew, StorageError

_MODULE_NAME = re.compile(r"m(?P<version>\d{4})_(?P<name>\w+)")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    module: ModuleType


def known_migrations() -> list[Migration]:
    """The migrations shipped with this firmware, by version; versions must run 1, 2, 3 ..."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        match = _MODULE_NAME.fullmatch(info.name)
        if match:
            module = importlib.import_module(f"{__name__}.{info.name}")
            found.append(Migration(int(match["version"]), match["name"], module))
    found.sort(key=lambda migration: migration.version)
    versions = [migration.version for migration in found]
    if versions != list(range(1, len(found) + 1)):
        raise StorageError(f"migration versions must be 1..n without gaps, found {versions}")
    return found


def applied_versions(database: SqliteDatabase) -> set[int]:
    cursor = database.execute_sql("SELECT version FROM schema_version")
    return {row[0] for row in cursor.fetchall()}


def apply_migrations(database: SqliteDatabase) -> list[int]:
    """Apply the missing migrations; returns the versions applied now (empty when up to date)."""
    database.execute_sql(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER NOT NULL PRIMARY KEY,"
        " name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL)"
    )
    migrations = known_migrations()
    newest_known = migrations[-1].version if migrations else 0
    applied_now = []
    for migration in migrations:
        with database.atomic("IMMEDIATE"):
            # Read inside the write lock: another process may have migrated meanwhile.
            applied = applied_versions(database)
            if applied and max(applied) > newest_known:
                raise SchemaTooNew(
                    f"database schema version {max(applied)} is newer than this firmware "
                    f"knows ({newest_known})"
                )
            if migration.version in applied:
                continue
            migration.module.apply(database)
            database.execute_sql(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, datetime.now(UTC).isoformat()),
            )
            applied_now.append(migration.version)
    return applied_now
