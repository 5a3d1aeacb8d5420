"""Call detail records: one row per finished call, written by call control."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum

from ..db.models import Cdr
from .errors import ValidationError
from .scope import Scope
from .validation import (
    in_window,
    require_aware,
    require_int,
    require_member,
    require_page,
    require_text,
)

QUERY_MAX_LIMIT = 1000
CALL_ID_MAX_LEN = 256
PARTY_MAX_LEN = 128


class Disposition(StrEnum):
    ANSWERED = "ANSWERED"
    NO_ANSWER = "NO ANSWER"
    BUSY = "BUSY"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    ABANDONED = "ABANDONED"  # a queue caller hung up before an agent answered


class HangupSide(StrEnum):
    CALLER = "caller"
    CALLEE = "callee"
    SYSTEM = "system"


@dataclass(frozen=True)
class CdrEntry:
    """A finished call, validated when built. Times must be aware; they are kept in UTC."""

    call_id: str
    caller: str
    callee: str
    start: datetime
    answer: datetime | None
    end: datetime
    duration: int  # seconds, start to end
    billsec: int  # seconds, answer to end; 0 when not answered
    disposition: Disposition
    hangup_side: HangupSide

    def __post_init__(self) -> None:
        require_text("call_id", self.call_id, max_len=CALL_ID_MAX_LEN)
        # An anonymous caller may come with an empty number.
        require_text("caller", self.caller, min_len=0, max_len=PARTY_MAX_LEN)
        require_text("callee", self.callee, min_len=0, max_len=PARTY_MAX_LEN)
        require_aware("start", self.start)
        require_aware("answer", self.answer, optional=True)
        require_aware("end", self.end)
        require_int("duration", self.duration, minimum=0)
        require_int("billsec", self.billsec, minimum=0, maximum=self.duration)
        # Accept the enum values as plain strings too; store the members.
        disposition = require_member(Disposition, "disposition", self.disposition)
        object.__setattr__(self, "disposition", disposition)
        object.__setattr__(
            self, "hangup_side", require_member(HangupSide, "hangup_side", self.hangup_side)
        )
        for name in ("start", "answer", "end"):  # one zone for everything stored and shown
            moment = getattr(self, name)
            if moment is not None:
                object.__setattr__(self, name, moment.astimezone(UTC))
        if self.end < self.start:
            raise ValidationError("end: before start", field="end")
        if self.answer is not None and not self.start <= self.answer <= self.end:
            raise ValidationError("answer: must lie between start and end", field="answer")
        if (self.answer is not None) != (self.disposition is Disposition.ANSWERED):
            raise ValidationError(
                "answer: set exactly when the disposition is ANSWERED", field="answer"
            )
        if self.answer is None and self.billsec != 0:
            raise ValidationError("billsec: must be 0 for a call not answered", field="billsec")


@dataclass(frozen=True)
class CdrView:
    id: int
    call_id: str
    caller: str
    callee: str
    start: datetime
    answer: datetime | None
    end: datetime
    duration: int
    billsec: int
    disposition: Disposition
    hangup_side: HangupSide


_ENTRY_FIELDS = tuple(field.name for field in fields(CdrEntry))


def _view(row: Cdr) -> CdrView:
    return CdrView(
        id=row.id,
        call_id=row.call_id,
        caller=row.caller,
        callee=row.callee,
        start=row.start,
        answer=row.answer,
        end=row.end,
        duration=row.duration,
        billsec=row.billsec,
        disposition=Disposition(row.disposition),
        hangup_side=HangupSide(row.hangup_side),
    )


def insert_cdr(entry: CdrEntry) -> Cdr:
    """Write `entry` as a CDR row (in the caller's transaction, if any)."""
    return Cdr.create(**{name: getattr(entry, name) for name in _ENTRY_FIELDS})


class CdrService:
    def record(self, entry: CdrEntry) -> CdrView:
        return _view(insert_cdr(entry))

    def query(
        self,
        start_from: datetime | None = None,
        start_to: datetime | None = None,
        number: str | None = None,
        limit: int = 100,
        offset: int = 0,
        *,
        scope: Scope | None = None,
    ) -> list[CdrView]:
        """Records with start_from <= start < start_to whose caller or callee is `number`,
        newest first; only those `scope` sees (None: every record)."""
        require_page(start_from, start_to, limit, offset, max_limit=QUERY_MAX_LIMIT)
        query = in_window(Cdr.select(), Cdr.start, start_from, start_to)
        condition = scope.cdr_condition() if scope is not None else None
        if condition is not None:
            query = query.where(condition)
        if number is not None:
            require_text("number", number, max_len=PARTY_MAX_LEN)
            query = query.where((Cdr.caller == number) | (Cdr.callee == number))
        query = query.order_by(Cdr.start.desc(), Cdr.id.desc()).limit(limit).offset(offset)
        return [_view(row) for row in query]
