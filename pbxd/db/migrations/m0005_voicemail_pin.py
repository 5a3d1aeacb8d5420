"""Per extension (issue 5): the mailbox PIN that opens its voicemail from any phone (*98)."""

from __future__ import annotations

from peewee import SqliteDatabase


def apply(database: SqliteDatabase) -> None:
    database.execute_sql("""ALTER TABLE "extension" ADD COLUMN "voicemail_pin" TEXT""")
