"""The agent's screen pop (来电弹屏, issue 7): memos (备忘录) on a customer's number, the wrap-up
disposition an agent gives each call (话后小结), and the list of disposition codes.

`disposition_code` is configuration (it travels in the backup); `memo` and `call_disposition`
are history: written while the center works, never replaced by a restore. That is why they
hold names (a username, an extension number, a code) and no foreign keys: a restore replaces
the user rows and the codes, and the history must outlive them as it outlives a deleted user.
"""

from __future__ import annotations

from datetime import UTC, datetime

from peewee import SqliteDatabase

# Times are UTC text 'YYYY-MM-DD HH:MM:SS.ffffff' (fixed width: text order is time order).
STATEMENTS = (
    # The codes an agent picks from at wrap-up, in `position` order; an inactive code is no
    # longer offered but keeps its labels for the calls that carry it.
    """CREATE TABLE "disposition_code" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "code" TEXT NOT NULL UNIQUE,
        "label_zh" TEXT NOT NULL,
        "label_en" TEXT NOT NULL,
        "position" INTEGER NOT NULL,
        "active" INTEGER NOT NULL DEFAULT 1,
        "created_at" TEXT NOT NULL,
        "updated_at" TEXT NOT NULL
    )""",
    # A note on a customer, written from the screen pop. `number` is matched exactly, like
    # contacts; `author` is a username, `author_extension` where he worked then.
    """CREATE TABLE "memo" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "number" TEXT NOT NULL,
        "author" TEXT NOT NULL,
        "author_extension" TEXT,
        "call_id" TEXT,
        "content" TEXT NOT NULL,
        "created_at" TEXT NOT NULL
    )""",
    # The screen pop reads the newest memos of one number.
    'CREATE INDEX "memo_number_created_at" ON "memo" ("number", "created_at")',
    # One disposition per call (the CDR's call_id) and agent (his extension), changed in
    # place while he wraps up or later; `author` is the user who set it last (the agent, or a
    # supervisor correcting it).
    """CREATE TABLE "call_disposition" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "call_id" TEXT NOT NULL,
        "agent" TEXT NOT NULL,
        "code" TEXT NOT NULL,
        "note" TEXT NOT NULL DEFAULT '',
        "author" TEXT NOT NULL,
        "created_at" TEXT NOT NULL,
        "updated_at" TEXT NOT NULL
    )""",
    'CREATE UNIQUE INDEX "call_disposition_call_id_agent" ON "call_disposition" '
    '("call_id", "agent")',
    'CREATE INDEX "call_disposition_agent_created_at" ON "call_disposition" '
    '("agent", "created_at")',
)

# The codes a new (or upgraded) device starts with: (code, zh-CN label, en label).
DEFAULT_CODES = (
    ("resolved", "已解决", "Resolved"),
    ("inquiry", "业务咨询", "Inquiry"),
    ("callback", "需要回访", "Call back"),
    ("complaint", "投诉", "Complaint"),
    ("sales_lead", "销售线索", "Sales lead"),
    ("wrong_number", "打错电话", "Wrong number"),
    ("other", "其他", "Other"),
)


def apply(database: SqliteDatabase) -> None:
    for statement in STATEMENTS:
        database.execute_sql(statement)
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    for position, (code, label_zh, label_en) in enumerate(DEFAULT_CODES, 1):
        database.execute_sql(
            'INSERT INTO "disposition_code" (code, label_zh, label_en, position, active, '
            "created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?)",
            (code, label_zh, label_en, position, now, now),
        )
