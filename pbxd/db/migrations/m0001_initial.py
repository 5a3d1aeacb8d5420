"""Users, API tokens, extensions and call detail records."""

from __future__ import annotations

from peewee import SqliteDatabase

# Times are UTC text 'YYYY-MM-DD HH:MM:SS.ffffff' (fixed width: text order is time order).
STATEMENTS = (
    """CREATE TABLE "user" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "username" TEXT NOT NULL UNIQUE,
        "password_hash" TEXT NOT NULL,
        "role" TEXT NOT NULL,
        "created_at" TEXT NOT NULL
    )""",
    """CREATE TABLE "api_token" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "token_hash" TEXT NOT NULL UNIQUE,
        "user_id" INTEGER NOT NULL REFERENCES "user" ("id") ON DELETE CASCADE,
        "created_at" TEXT NOT NULL,
        "expires_at" TEXT NOT NULL
    )""",
    'CREATE INDEX "api_token_user_id" ON "api_token" ("user_id")',
    'CREATE INDEX "api_token_expires_at" ON "api_token" ("expires_at")',
    """CREATE TABLE "extension" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "number" TEXT NOT NULL UNIQUE,
        "name" TEXT NOT NULL,
        "secret" TEXT NOT NULL,
        "created_at" TEXT NOT NULL,
        "updated_at" TEXT NOT NULL
    )""",
    """CREATE TABLE "cdr" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "call_id" TEXT NOT NULL,
        "caller" TEXT NOT NULL,
        "callee" TEXT NOT NULL,
        "start" TEXT NOT NULL,
        "answer" TEXT,
        "end" TEXT NOT NULL,
        "duration" INTEGER NOT NULL,
        "billsec" INTEGER NOT NULL,
        "disposition" TEXT NOT NULL,
        "hangup_side" TEXT NOT NULL
    )""",
    'CREATE INDEX "cdr_start" ON "cdr" ("start")',
    # (party, start) serves "caller = ? OR callee = ? ORDER BY start" from two index scans.
    'CREATE INDEX "cdr_caller_start" ON "cdr" ("caller", "start")',
    'CREATE INDEX "cdr_callee_start" ON "cdr" ("callee", "start")',
    'CREATE INDEX "cdr_call_id" ON "cdr" ("call_id")',
)


def apply(database: SqliteDatabase) -> None:
    for statement in STATEMENTS:
        database.execute_sql(statement)
