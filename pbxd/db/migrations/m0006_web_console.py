"""The web console's security base (issue 6): user language and number masking, the queues a
supervisor leads, browser sessions next to the bearer tokens, and the operation log."""

from __future__ import annotations

from peewee import SqliteDatabase

# Times are UTC text 'YYYY-MM-DD HH:MM:SS.ffffff' (fixed width: text order is time order).
STATEMENTS = (
    # Language of the console: zh-CN | en.
    """ALTER TABLE "user" ADD COLUMN "language" TEXT NOT NULL DEFAULT 'zh-CN'""",
    # How much of a caller's number the user sees: all | partial | name_only. Agents see
    # partial numbers by default, every other role the whole number.
    """ALTER TABLE "user" ADD COLUMN "masking" TEXT NOT NULL DEFAULT 'all'""",
    """UPDATE "user" SET "masking" = 'partial' WHERE "role" = 'agent'""",
    # The queues a supervisor leads (his scope for reports and recordings).
    """CREATE TABLE "user_queue" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "user_id" INTEGER NOT NULL REFERENCES "user" ("id") ON DELETE CASCADE,
        "queue_id" INTEGER NOT NULL REFERENCES "queue" ("id") ON DELETE CASCADE
    )""",
    'CREATE UNIQUE INDEX "user_queue_user_id_queue_id" ON "user_queue" ("user_id", "queue_id")',
    'CREATE INDEX "user_queue_queue_id" ON "user_queue" ("queue_id")',
    # Browser sessions: the cookie is never stored, only its sha256; the CSRF token is sent to
    # the page, so it is kept as is (it is worthless without the cookie).
    """CREATE TABLE "web_session" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "token_hash" TEXT NOT NULL UNIQUE,
        "user_id" INTEGER NOT NULL REFERENCES "user" ("id") ON DELETE CASCADE,
        "csrf_token" TEXT NOT NULL,
        "created_at" TEXT NOT NULL,
        "last_seen_at" TEXT NOT NULL,
        "expires_at" TEXT NOT NULL
    )""",
    'CREATE INDEX "web_session_user_id" ON "web_session" ("user_id")',
    'CREATE INDEX "web_session_expires_at" ON "web_session" ("expires_at")',
    # Who did what through the API. No foreign key on purpose: a row outlives its user, and
    # failed logins name users that may not exist. `detail` is a JSON object without values.
    """CREATE TABLE "operation_log" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "time" TEXT NOT NULL,
        "username" TEXT NOT NULL,
        "role" TEXT,
        "client_ip" TEXT NOT NULL,
        "action" TEXT NOT NULL,
        "target" TEXT NOT NULL,
        "detail" TEXT NOT NULL DEFAULT '{}'
    )""",
    'CREATE INDEX "operation_log_time" ON "operation_log" ("time")',
    'CREATE INDEX "operation_log_username_time" ON "operation_log" ("username", "time")',
    'CREATE INDEX "operation_log_action_time" ON "operation_log" ("action", "time")',
)


def apply(database: SqliteDatabase) -> None:
    for statement in STATEMENTS:
        database.execute_sql(statement)
