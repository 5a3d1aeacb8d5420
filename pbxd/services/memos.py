"""Memos (备忘录, issue 7): notes on a customer's number, written from the screen pop.

Any logged-in user may read and add the memos of any number (an agent is about to talk to
that customer); the author is the session's user, never a field of the request. A memo is
history: it is not changed once written, travels in no configuration backup and outlives its
author (it keeps his username and extension as text). The number is matched exactly, like
the contacts' (`13800138000` and `+8613800138000` are two customers).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..db import db
from ..db.models import Memo
from .clock import Clock, utc_now
from .contacts import require_phone_number
from .dispositions import require_call_id
from .errors import ValidationError
from .users import UserView
from .validation import require_int, require_text

log = logging.getLogger(__name__)

CONTENT_MAX_LEN = 2000
LIST_MAX_LIMIT = 100


@dataclass(frozen=True)
class MemoView:
    id: int
    number: str
    author: str  # username
    author_extension: str | None
    call_id: str | None
    content: str
    created_at: datetime


@dataclass(frozen=True)
class MemoPage:
    items: list[MemoView]
    total: int  # memos of the number, all pages together


def memo_view(row: Memo) -> MemoView:
    return MemoView(
        id=row.id,
        number=row.number,
        author=row.author,
        author_extension=row.author_extension,
        call_id=row.call_id,
        content=row.content,
        created_at=row.created_at,
    )


def newest_memos(number: str, limit: int) -> list[MemoView]:
    """The `limit` newest memos of `number` (one index range, newest first)."""
    query = (
        Memo.select()
        .where(Memo.number == number)
        .order_by(Memo.created_at.desc(), Memo.id.desc())
        .limit(limit)
    )
    return [memo_view(row) for row in query]


class MemoService:
    """Synchronous; no state but the clock."""

    def __init__(self, clock: Clock = utc_now):
        self._clock = clock

    def add(self, number: Any, content: Any, user: UserView, *, call_id: Any = None) -> MemoView:
        """A new memo on `number` by `user` (1 to 2000 characters, not blank); `call_id`:
        the call it is written during, if any."""
        number = require_phone_number("number", number)
        content = require_text("content", content, max_len=CONTENT_MAX_LEN)
        if not content.strip():
            raise ValidationError("content: must not be blank", field="content")
        if call_id is not None:
            call_id = require_call_id(call_id)
        with db.atomic():
            row = Memo.create(
                number=number,
                author=user.username,
                author_extension=user.extension,
                call_id=call_id,
                content=content,
                created_at=self._clock(),
            )
        log.info("memo %s on a customer number added by %s", row.id, user.username)
        return memo_view(row)

    def list(self, number: Any, *, limit: int = 20, offset: int = 0) -> MemoPage:
        """The memos of `number`, newest first."""
        number = require_text("number", number, max_len=64)
        require_int("limit", limit, minimum=1, maximum=LIST_MAX_LIMIT)
        require_int("offset", offset, minimum=0)
        query = Memo.select().where(Memo.number == number)
        total = query.count()
        rows = query.order_by(Memo.created_at.desc(), Memo.id.desc()).limit(limit).offset(offset)
        return MemoPage([memo_view(row) for row in rows], total)
