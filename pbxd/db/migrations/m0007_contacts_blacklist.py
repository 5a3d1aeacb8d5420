"""The customer directory (issue 6 number masking, the seed of the CRM of issue 7) and the
blacklist (黑名单) of numbers whose calls are refused."""

from __future__ import annotations

from peewee import SqliteDatabase

# Times are UTC text 'YYYY-MM-DD HH:MM:SS.ffffff' (fixed width: text order is time order).
STATEMENTS = (
    # One row per customer number: the name a `name_only` user sees instead of the number.
    # `number` is matched exactly against the numbers of the call history.
    """CREATE TABLE "contact" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "number" TEXT NOT NULL UNIQUE,
        "name" TEXT NOT NULL,
        "company" TEXT NOT NULL DEFAULT '',
        "note" TEXT NOT NULL DEFAULT '',
        "created_at" TEXT NOT NULL,
        "updated_at" TEXT NOT NULL
    )""",
    'CREATE INDEX "contact_name" ON "contact" ("name")',
    # A number ("13800138000") or a prefix ending in "*" ("400*"); direction inbound (calls
    # from it are refused), outbound (calls to it are refused) or both. Hit counters live in
    # memory only (a refused call writes nothing to the flash).
    """CREATE TABLE "blacklist_entry" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "number" TEXT NOT NULL UNIQUE,
        "direction" TEXT NOT NULL,
        "note" TEXT NOT NULL DEFAULT '',
        "created_at" TEXT NOT NULL
    )""",
)


def apply(database: SqliteDatabase) -> None:
    for statement in STATEMENTS:
        database.execute_sql(statement)
