"""Call-center history: call legs, queue and agent events, recordings, survey results,
voicemail messages (issue 5, docs/CALLCENTER.md "History").

Everything here is written by call control after the fact and only read by the API and the
reports: rows are appended, never rewritten, except a recording's note and a voicemail
message's new/old flag. Times are UTC text 'YYYY-MM-DD HH:MM:SS.ffffff' like m0001's.
"""

from __future__ import annotations

from peewee import SqliteDatabase

STATEMENTS = (
    # One row per recording file under <data-dir>/recordings/. Deleting a recording deletes the
    # row (and the file); the call row keeps its history and loses only the link.
    """CREATE TABLE "recording" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "call_id" TEXT,
        "path" TEXT NOT NULL UNIQUE,
        "format" TEXT NOT NULL,
        "channels" INTEGER NOT NULL,
        "duration" REAL NOT NULL,
        "size" INTEGER NOT NULL,
        "start" TEXT NOT NULL,
        "caller" TEXT NOT NULL,
        "callee" TEXT NOT NULL,
        "queue" TEXT,
        "agent" TEXT,
        "note" TEXT NOT NULL DEFAULT ''
    )""",
    'CREATE INDEX "recording_start" ON "recording" ("start")',
    'CREATE INDEX "recording_call_id" ON "recording" ("call_id")',
    'CREATE INDEX "recording_caller_start" ON "recording" ("caller", "start")',
    'CREATE INDEX "recording_callee_start" ON "recording" ("callee", "start")',
    'CREATE INDEX "recording_queue_start" ON "recording" ("queue", "start")',
    'CREATE INDEX "recording_agent_start" ON "recording" ("agent", "start")',
    # The call-center side of one CDR row: queue, wait, agent, recording, survey.
    """CREATE TABLE "call_detail" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "cdr_id" INTEGER NOT NULL UNIQUE REFERENCES "cdr" ("id") ON DELETE CASCADE,
        "call_id" TEXT NOT NULL,
        "queue" TEXT,
        "wait" INTEGER,
        "agent" TEXT,
        "recording_id" INTEGER REFERENCES "recording" ("id") ON DELETE SET NULL,
        "survey" TEXT,
        "survey_reason" TEXT
    )""",
    'CREATE INDEX "call_detail_call_id" ON "call_detail" ("call_id")',
    'CREATE INDEX "call_detail_recording_id" ON "call_detail" ("recording_id")',
    # One row per leg (the caller's, each agent or extension rung, the trunk's) of a call.
    """CREATE TABLE "call_leg" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "cdr_id" INTEGER NOT NULL REFERENCES "cdr" ("id") ON DELETE CASCADE,
        "call_id" TEXT NOT NULL,
        "leg" TEXT NOT NULL,
        "direction" TEXT NOT NULL,
        "party" TEXT NOT NULL,
        "peer_kind" TEXT NOT NULL,
        "peer" TEXT NOT NULL,
        "start" TEXT NOT NULL,
        "answer" TEXT,
        "end" TEXT NOT NULL,
        "disposition" TEXT NOT NULL,
        "hangup_side" TEXT NOT NULL
    )""",
    'CREATE INDEX "call_leg_cdr_id" ON "call_leg" ("cdr_id")',
    'CREATE INDEX "call_leg_call_id" ON "call_leg" ("call_id")',
    # "Recordings of calls extension X took part in" looks legs up by peer.
    'CREATE INDEX "call_leg_peer" ON "call_leg" ("peer_kind", "peer", "call_id")',
    # Append-only queue and agent event log; every report is a query over it.
    """CREATE TABLE "queue_event" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "time" TEXT NOT NULL,
        "call_id" TEXT,
        "queue" TEXT,
        "agent" TEXT,
        "event" TEXT NOT NULL,
        "data" TEXT NOT NULL DEFAULT '{}'
    )""",
    'CREATE INDEX "queue_event_time" ON "queue_event" ("time")',
    'CREATE INDEX "queue_event_queue_time" ON "queue_event" ("queue", "time")',
    'CREATE INDEX "queue_event_agent_time" ON "queue_event" ("agent", "time")',
    'CREATE INDEX "queue_event_call_id" ON "queue_event" ("call_id")',
    # Voicemail messages under <data-dir>/voicemail/.
    """CREATE TABLE "voicemail_message" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "box" TEXT NOT NULL,
        "caller" TEXT NOT NULL,
        "time" TEXT NOT NULL,
        "duration" REAL NOT NULL,
        "path" TEXT NOT NULL UNIQUE,
        "new" INTEGER NOT NULL DEFAULT 1
    )""",
    'CREATE INDEX "voicemail_message_box_time" ON "voicemail_message" ("box", "time")',
)


def apply(database: SqliteDatabase) -> None:
    for statement in STATEMENTS:
        database.execute_sql(statement)
