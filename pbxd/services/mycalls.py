"""An agent's own recent calls, and click-to-dial (点击拨号) from them or from a number.

`recent(extension)`: the newest calls of an extension: direct calls from and to it, and the
queue calls it took (the CDR and the call-center details). `dial(extension, number)` and
`dial_back(extension, call_id)` ask call control (the dialer attached at start) to ring the
extension first, then the number; the other party of a call comes from the CDR on the
server, so a masked number never has to travel to the page and back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from ..db import db
from ..db.models import CallDetail, Cdr
from .errors import NotFound, ServiceError, ValidationError

RECENT_MAX = 50

# (extension, number) -> the call id of the call being set up
Dialer = Callable[[str, str], Awaitable[str]]


class DialerNotRunning(ServiceError):
    status = 503
    code = "unavailable"


@dataclass(frozen=True)
class MyCall:
    call_id: str
    start: datetime
    direction: str  # "in" (the other party called) | "out"
    number: str  # the other party, unmasked: the web layer masks it
    queue: str | None
    duration: int
    answered: bool


class MyCallsService:
    def __init__(self) -> None:
        self._dialer: Dialer | None = None
        self._dialable: Callable[[str], bool] = lambda number: False

    def attach_dialer(self, dialer: Dialer | None, dialable: Callable[[str], bool]) -> None:
        """Call control's click-to-dial, and which numbers it reaches."""
        self._dialer = dialer
        self._dialable = dialable

    def recent(self, extension: str, limit: int = 20) -> list[MyCall]:
        limit = max(1, min(limit, RECENT_MAX))
        with db.atomic():
            rows: dict[int, Cdr] = {}
            for condition in (Cdr.caller == extension, Cdr.callee == extension):
                for row in Cdr.select().where(condition).order_by(Cdr.start.desc()).limit(limit):
                    rows[row.id] = row
            taken = (
                Cdr.select(Cdr, CallDetail.queue)
                .join(CallDetail)
                .where(CallDetail.agent == extension)
                .order_by(Cdr.start.desc())
                .limit(limit)
                .objects()  # the queue as an attribute of the row
            )
            queues = {}
            for row in taken:
                rows[row.id] = row
                queues[row.id] = row.queue
        calls = []
        for row in sorted(rows.values(), key=lambda r: (r.start, r.id), reverse=True)[:limit]:
            outgoing = row.caller == extension
            calls.append(
                MyCall(
                    call_id=row.call_id,
                    start=row.start,
                    direction="out" if outgoing else "in",
                    number=row.callee if outgoing else row.caller,
                    queue=queues.get(row.id),
                    duration=row.billsec,
                    answered=row.answer is not None,
                )
            )
        return calls

    async def dial(self, extension: str, number: str) -> str:
        if not isinstance(number, str) or not number or len(number) > 32:
            raise ValidationError("number: 1 to 32 characters", field="number")
        if self._dialer is None:
            raise DialerNotRunning("call control not running")
        if not self._dialable(number):
            raise ValidationError(f"number: {number} cannot be dialled from here", field="number")
        return await self._dialer(extension, number)

    async def dial_back(self, extension: str, call_id: str) -> str:
        """Call the other party of one of the extension's own calls again."""
        for call in self.recent(extension, RECENT_MAX):
            if call.call_id == call_id:
                return await self.dial(extension, call.number)
        raise NotFound(f"call {call_id} not found")
