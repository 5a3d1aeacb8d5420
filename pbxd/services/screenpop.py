"""The screen pop (来电弹屏, issue 7): what an agent's screen shows about a number when it rings
or when he dials it.

`ScreenPopService.pop(number, user)` gathers, for the exact number (matched like contacts):
the customer's name and company from the directory, how many calls the CDR holds from or to
the number, the last LAST_CALLS of them (when, direction, queue, agent, durations, result and
their wrap-up dispositions) and the newest MEMOS memos. Every customer number and every
number in free text (memos, notes) is masked by the user's `masking`, as everywhere else.

Any logged-in user may pop any number: an agent is about to talk to that person, so the pop
is about the customer, not limited to the calls of the agent's scope. It carries only what
helps the conversation (no recordings, no other customers' numbers).

It runs while the phone rings, so every part is an index lookup (measured in
benchmarks/screenpop_bench.py): the count walks the (caller, start) and (callee, start)
indexes, the last calls are the top of each index merged, memos the top of (number,
created_at).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from peewee import fn

from ..db import db
from ..db.models import CallDetail, CallLeg, Cdr
from .cdr import CALL_ID_MAX_LEN, PARTY_MAX_LEN, Disposition
from .contacts import ContactService
from .dispositions import DispositionService
from .errors import NotFound
from .masking import Masker
from .memos import newest_memos
from .users import Masking, UserView
from .validation import require_text

LAST_CALLS = 5
MEMOS = 10


class PopDirection(StrEnum):
    INBOUND = "inbound"  # the number called us
    OUTBOUND = "outbound"  # we called the number


@dataclass(frozen=True)
class PopDisposition:
    agent: str
    code: str
    label_zh: str | None
    label_en: str | None
    note: str  # masked
    updated_at: datetime


@dataclass(frozen=True)
class PopCall:
    call_id: str
    start: datetime
    direction: PopDirection
    queue: str | None
    agent: str | None  # the extension that took a queue call
    duration: int  # seconds, start to end
    billsec: int  # seconds talked
    result: Disposition  # the CDR's: ANSWERED, NO ANSWER ...
    dispositions: tuple[PopDisposition, ...]


@dataclass(frozen=True)
class PopMemo:
    id: int
    author: str
    author_extension: str | None
    call_id: str | None
    content: str  # masked
    created_at: datetime


@dataclass(frozen=True)
class ScreenPop:
    number: str  # masked; name_only: **** (the name is beside it)
    known: bool  # the directory has the number
    name: str | None
    company: str | None
    note: str | None  # the contact's note, masked
    previous_calls: int  # CDR rows from or to the number
    last_calls: tuple[PopCall, ...]  # newest first, at most LAST_CALLS
    memos: tuple[PopMemo, ...]  # newest first, at most MEMOS


class ScreenPopService:
    """Synchronous reads, for the loop thread (a pop is a handful of index lookups)."""

    def __init__(self, contacts: ContactService, dispositions: DispositionService):
        self._contacts = contacts
        self._dispositions = dispositions
        # (call id, extension) -> the number that extension talks to, while the call is up
        self._live_other_party: Callable[[str, str], str | None] = lambda call_id, ext: None

    def set_live_calls(self, other_party: Callable[[str, str], str | None]) -> None:
        """Call control's view of the calls that are up (pbxd/call/directory.py)."""
        self._live_other_party = other_party

    def number_of(self, call_id: Any, user: UserView) -> str:
        """The number `user`'s extension talks to (or talked to) in the call `call_id`: the
        page pops and writes memos by call id, so a masked number never has to come back
        from it. NotFound unless the call is one of his own."""
        call_id = require_text("call_id", call_id, max_len=CALL_ID_MAX_LEN)
        extension = user.extension
        number = self._live_other_party(call_id, extension) if extension else None
        if number is None and extension:
            row = Cdr.get_or_none(Cdr.call_id == call_id)
            if row is not None and extension in (row.caller, row.callee):
                number = row.callee if row.caller == extension else row.caller
            elif row is not None and _took(row, extension):
                number = row.caller
        if number is None:
            raise NotFound(f"call {call_id} not found")
        return number

    def masker_for(self, user: UserView) -> Masker:
        return self._contacts.masker(user.masking or Masking.ALL)

    def pop(self, number: Any, user: UserView, *, masker: Masker | None = None) -> ScreenPop:
        """The pop of `number` as `user` may see it; `masker`: the request's, when the caller
        has one (else built from the user's masking)."""
        number = require_text("number", number, max_len=PARTY_MAX_LEN)
        masker = masker if masker is not None else self.masker_for(user)
        with db.atomic():  # one snapshot while call control writes
            contact = self._contacts.lookup(number)
            previous = (
                Cdr.select(fn.COUNT(Cdr.id))
                .where((Cdr.caller == number) | (Cdr.callee == number))
                .scalar()
            )
            calls = self._last_calls(number)
            details = {
                cdr_id: (queue, agent)
                for cdr_id, queue, agent in CallDetail.select(
                    CallDetail.cdr, CallDetail.queue, CallDetail.agent
                )
                .where(CallDetail.cdr.in_([row["id"] for row in calls]))
                .tuples()
            }
            dispositions = self._dispositions.for_calls(row["call_id"] for row in calls)
            memos = newest_memos(number, MEMOS)
        last_calls = []
        for row in calls:
            queue, agent = details.get(row["id"], (None, None))
            last_calls.append(
                PopCall(
                    call_id=row["call_id"],
                    start=row["start"],
                    direction=PopDirection.INBOUND
                    if row["caller"] == number
                    else PopDirection.OUTBOUND,
                    queue=queue,
                    agent=agent,
                    duration=row["duration"],
                    billsec=row["billsec"],
                    result=Disposition(row["disposition"]),
                    dispositions=tuple(
                        PopDisposition(
                            agent=view.agent,
                            code=view.code,
                            label_zh=view.label_zh,
                            label_en=view.label_en,
                            note=masker.text(view.note) or "",
                            updated_at=view.updated_at,
                        )
                        for view in dispositions.get(row["call_id"], ())
                    ),
                )
            )
        return ScreenPop(
            # The name is right beside it: name_only shows the placeholder here.
            number=masker.number(number, with_name=False) or "",
            known=contact is not None,
            name=contact.name if contact else None,
            company=contact.company if contact else None,
            note=masker.text(contact.note) if contact else None,
            previous_calls=int(previous or 0),
            last_calls=tuple(last_calls),
            memos=tuple(
                PopMemo(
                    id=memo.id,
                    author=memo.author,
                    author_extension=memo.author_extension,
                    call_id=memo.call_id,
                    content=masker.text(memo.content) or "",
                    created_at=memo.created_at,
                )
                for memo in memos
            ),
        )

    @staticmethod
    def _last_calls(number: str) -> list[dict[str, Any]]:
        """The LAST_CALLS newest CDR rows from or to `number`: the top of the caller index
        and the top of the callee index, merged (an OR would sort every call of the number)."""
        columns = (Cdr.id, Cdr.call_id, Cdr.caller, Cdr.callee, Cdr.start, Cdr.duration,
                   Cdr.billsec, Cdr.disposition)  # fmt: skip
        rows: dict[int, dict[str, Any]] = {}
        for column in (Cdr.caller, Cdr.callee):
            query = (
                Cdr.select(*columns)
                .where(column == number)
                .order_by(Cdr.start.desc(), Cdr.id.desc())
                .limit(LAST_CALLS)
                .dicts()
            )
            for row in query:
                rows[row["id"]] = row
        newest = sorted(rows.values(), key=lambda row: (row["start"], row["id"]), reverse=True)
        return newest[:LAST_CALLS]


def _took(row: Cdr, extension: str) -> bool:
    """Whether `extension` took (or was handed) the queue call of CDR row `row`."""
    agent = CallDetail.select().where((CallDetail.cdr == row) & (CallDetail.agent == extension))
    leg = CallLeg.select().where((CallLeg.cdr == row) & (CallLeg.party == extension))
    return agent.exists() or leg.exists()
