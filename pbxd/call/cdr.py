"""What a finished call leaves behind: its call detail record, computed from its timestamps."""

from __future__ import annotations

from datetime import datetime

from pbxd.services.cdr import CdrEntry, Disposition, HangupSide

__all__ = ["Disposition", "HangupSide", "call_record"]


def call_record(
    call_id: str,
    caller: str,
    callee: str,
    start: datetime,
    answer: datetime | None,
    end: datetime,
    disposition: Disposition,
    hangup_side: HangupSide,
) -> CdrEntry:
    """duration runs from the INVITE to the end, billsec from the answer (0 if unanswered)."""
    duration = round((end - start).total_seconds())
    billsec = round((end - answer).total_seconds()) if answer is not None else 0
    return CdrEntry(
        call_id, caller, callee, start, answer, end, duration, billsec, disposition, hangup_side
    )
