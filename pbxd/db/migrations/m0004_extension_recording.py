"""Recording policy per extension (issue 5): none | all | inbound | outbound."""

from __future__ import annotations

from peewee import SqliteDatabase

STATEMENTS = ("""ALTER TABLE "extension" ADD COLUMN "recording" TEXT NOT NULL DEFAULT 'none'""",)


def apply(database: SqliteDatabase) -> None:
    for statement in STATEMENTS:
        database.execute_sql(statement)
