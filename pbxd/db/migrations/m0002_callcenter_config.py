"""Call-center configuration: queues and members, IVRs, inbound routes, trunks, ring groups,
conference rooms, the persisted part of agent state, and the link from a user to the
extension he works at (issue 5, docs/CALLCENTER.md).

Destinations are `kind:target` text (pbxd/callcenter/destinations.py); booleans are 0/1.
Members reference `extension.number` without ON DELETE: the service refuses to delete an
extension that is a member (naming the queue), and the database refuses it too if a bug lets
one through.
"""

from __future__ import annotations

from peewee import SqliteDatabase

STATEMENTS: tuple[str, ...] = (
    """CREATE TABLE "queue" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "number" TEXT NOT NULL UNIQUE,
        "name" TEXT NOT NULL,
        "strategy" TEXT NOT NULL,
        "timeout" INTEGER NOT NULL,
        "retry" INTEGER NOT NULL,
        "wrapup" INTEGER NOT NULL,
        "max_wait" INTEGER NOT NULL,
        "max_length" INTEGER NOT NULL,
        "overflow" TEXT,
        "join_empty" INTEGER NOT NULL,
        "leave_when_empty" INTEGER NOT NULL,
        "welcome_prompt" TEXT,
        "music" TEXT,
        "announce_position" INTEGER NOT NULL,
        "announce_wait" INTEGER NOT NULL,
        "periodic_prompt" TEXT,
        "periodic_interval" INTEGER NOT NULL,
        "announce_agent_id" INTEGER NOT NULL,
        "recording" TEXT NOT NULL,
        "voicemail" INTEGER NOT NULL,
        "survey" INTEGER NOT NULL,
        "created_at" TEXT NOT NULL,
        "updated_at" TEXT NOT NULL
    )""",
    """CREATE TABLE "queue_member" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "queue_id" INTEGER NOT NULL REFERENCES "queue" ("id") ON DELETE CASCADE,
        "extension" TEXT NOT NULL REFERENCES "extension" ("number"),
        "penalty" INTEGER NOT NULL,
        "position" INTEGER NOT NULL
    )""",
    'CREATE UNIQUE INDEX "queue_member_queue_extension" '
    'ON "queue_member" ("queue_id", "extension")',
    'CREATE INDEX "queue_member_extension" ON "queue_member" ("extension")',
    """CREATE TABLE "ring_group" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "number" TEXT NOT NULL UNIQUE,
        "name" TEXT NOT NULL,
        "strategy" TEXT NOT NULL,
        "timeout" INTEGER NOT NULL,
        "failover" TEXT,
        "created_at" TEXT NOT NULL,
        "updated_at" TEXT NOT NULL
    )""",
    """CREATE TABLE "ring_group_member" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "ring_group_id" INTEGER NOT NULL REFERENCES "ring_group" ("id") ON DELETE CASCADE,
        "extension" TEXT NOT NULL REFERENCES "extension" ("number"),
        "position" INTEGER NOT NULL
    )""",
    'CREATE UNIQUE INDEX "ring_group_member_group_extension" '
    'ON "ring_group_member" ("ring_group_id", "extension")',
    'CREATE INDEX "ring_group_member_extension" ON "ring_group_member" ("extension")',
    """CREATE TABLE "conference" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "number" TEXT NOT NULL UNIQUE,
        "name" TEXT NOT NULL,
        "pin" TEXT,
        "moderator_pin" TEXT,
        "max_members" INTEGER NOT NULL,
        "created_at" TEXT NOT NULL,
        "updated_at" TEXT NOT NULL
    )""",
    # keys: JSON object {"1": "queue:600", "*": "repeat", ...}
    """CREATE TABLE "ivr" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "name" TEXT NOT NULL UNIQUE,
        "number" TEXT UNIQUE,
        "prompt" TEXT NOT NULL,
        "keys" TEXT NOT NULL,
        "dial_extension" INTEGER NOT NULL,
        "timeout" INTEGER NOT NULL,
        "retries" INTEGER NOT NULL,
        "invalid_prompt" TEXT,
        "timeout_destination" TEXT,
        "invalid_destination" TEXT,
        "created_at" TEXT NOT NULL,
        "updated_at" TEXT NOT NULL
    )""",
    # time_condition: JSON object {"hours": [...], "holidays": [...], "timezone": ...} or NULL
    """CREATE TABLE "inbound_route" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "did" TEXT NOT NULL UNIQUE,
        "destination" TEXT NOT NULL,
        "time_condition" TEXT,
        "closed_destination" TEXT,
        "created_at" TEXT NOT NULL,
        "updated_at" TEXT NOT NULL
    )""",
    """CREATE TABLE "trunk" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "name" TEXT NOT NULL UNIQUE,
        "host" TEXT NOT NULL UNIQUE,
        "port" INTEGER NOT NULL,
        "transport" TEXT NOT NULL,
        "created_at" TEXT NOT NULL,
        "updated_at" TEXT NOT NULL
    )""",
    # Pause state of an agent (every queue at once). Queue memberships are not here: static
    # ones are the queue's members (always logged in), dynamic ones are agent_login rows.
    """CREATE TABLE "agent" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "extension" TEXT NOT NULL UNIQUE
            REFERENCES "extension" ("number") ON DELETE CASCADE,
        "paused" INTEGER NOT NULL,
        "pause_reason" TEXT,
        "paused_since" TEXT
    )""",
    # Dynamic memberships: which queues a logged-in agent joined by login.
    """CREATE TABLE "agent_login" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "extension" TEXT NOT NULL REFERENCES "extension" ("number") ON DELETE CASCADE,
        "queue_id" INTEGER NOT NULL REFERENCES "queue" ("id") ON DELETE CASCADE,
        "since" TEXT NOT NULL
    )""",
    'CREATE UNIQUE INDEX "agent_login_extension_queue" ON "agent_login" ("extension", "queue_id")',
    'CREATE INDEX "agent_login_queue_id" ON "agent_login" ("queue_id")',
    # The extension an agent user works at: he may log himself in, out, pause and unpause.
    # SQLite allows ADD COLUMN with REFERENCES only with a NULL default, which is what we want.
    'ALTER TABLE "user" ADD COLUMN "extension" TEXT '
    'REFERENCES "extension" ("number") ON DELETE SET NULL',
    'CREATE UNIQUE INDEX "user_extension" ON "user" ("extension")',
)


def apply(database: SqliteDatabase) -> None:
    for statement in STATEMENTS:
        database.execute_sql(statement)
