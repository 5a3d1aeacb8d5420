"""What a finished call leaves behind: the call detail record, computed from its timestamps."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Disposition(enum.Enum):
    ANSWERED = "ANSWERED"
    NO_ANSWER = "NO ANSWER"
    BUSY = "BUSY"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class HangupSide(enum.Enum):
    CALLER = "caller"
    CALLEE = "callee"
    SYSTEM = "system"


@dataclass(frozen=True)
class CallRecord:
    call_id: str
    caller: str
    callee: str
    start: datetime
    answer: datetime | None
    end: datetime
    duration: int  # seconds from the INVITE to the end
    billsec: int  # seconds from the answer to the end; 0 when unanswered
    disposition: Disposition
    hangup_side: HangupSide

    @classmethod
    def of(
        cls,
        call_id: str,
        caller: str,
        callee: str,
        start: datetime,
        answer: datetime | None,
        end: datetime,
        disposition: Disposition,
        hangup_side: HangupSide,
    ) -> CallRecord:
        duration = round((end - start).total_seconds())
        billsec = round((end - answer).total_seconds()) if answer is not None else 0
        return cls(
            call_id, caller, callee, start, answer, end, duration, billsec, disposition, hangup_side
        )
