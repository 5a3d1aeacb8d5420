"""Per extension (issue 5): the recording policy (none | all | inbound | outbound) and
voicemail when a direct call is not answered."""

from __future__ import annotations

from peewee import SqliteDatabase

STATEMENTS = (
    """ALTER TABLE "extension" ADD COLUMN "recording" TEXT NOT NULL DEFAULT 'none'""",
    """ALTER TABLE "extension" ADD COLUMN "voicemail" INTEGER NOT NULL DEFAULT 0""",
)


def apply(database: SqliteDatabase) -> None:
    for statement in STATEMENTS:
        database.execute_sql(statement)
