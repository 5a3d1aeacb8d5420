"""Call-center history (docs/CALLCENTER.md "History"): what every report is rebuilt from.

Call control hands one `CallHistory` per finished call to `HistoryService.record_call` on its
database worker thread (commits fsync: keep them off the event loop). The CDR row, the
call-center detail (queue, wait, agent, recording, survey), every leg, the call's queue
events and its recordings are written in one transaction: a kill -9 or a power cut leaves
the whole call or none of it. Agent events that belong to no call (LOGIN, PAUSE ...) go
through `append_events`, also one transaction per batch. Nothing is ever updated.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from ..db import db
from ..db.models import CallDetail, CallLeg, Cdr, QueueEvent
from .cdr import (
    CALL_ID_MAX_LEN,
    PARTY_MAX_LEN,
    CdrEntry,
    Disposition,
    HangupSide,
    insert_cdr,
)
from .errors import NotFound, ValidationError
from .recordings import NAME_MAX_LEN, RecordingEntry, RecordingService
from .scope import Scope
from .validation import (
    in_window,
    require_aware,
    require_int,
    require_member,
    require_page,
    require_text,
)

QUERY_MAX_LIMIT = 10000
DATA_MAX_BYTES = 4096
LEG_ID_MAX_LEN = 128


class Direction(StrEnum):
    INBOUND = "inbound"  # from a trunk
    OUTBOUND = "outbound"  # to a trunk
    INTERNAL = "internal"  # extension to extension


class PeerKind(StrEnum):
    EXTENSION = "extension"
    TRUNK = "trunk"


class QueueEventType(StrEnum):
    # Caller events (with a call_id and a queue).
    ENTER = "ENTER"
    RING = "RING"
    RING_NO_ANSWER = "RING_NO_ANSWER"
    CONNECT = "CONNECT"
    COMPLETE_CALLER = "COMPLETE_CALLER"
    COMPLETE_AGENT = "COMPLETE_AGENT"
    ABANDON = "ABANDON"
    EXIT_TIMEOUT = "EXIT_TIMEOUT"
    EXIT_FULL = "EXIT_FULL"
    EXIT_EMPTY = "EXIT_EMPTY"
    TRANSFER_OVERFLOW = "TRANSFER_OVERFLOW"
    TRANSFER_RETURN = "TRANSFER_RETURN"  # a blind transfer nobody took: back in the queue
    SURVEY = "SURVEY"
    # The agent handed the caller on (agent call controls): data "blind|extension:3102|..."
    TRANSFER = "TRANSFER"
    # Agent events (an agent, maybe a queue, no call).
    LOGIN = "LOGIN"
    LOGOUT = "LOGOUT"
    PAUSE = "PAUSE"
    UNPAUSE = "UNPAUSE"
    WRAPUP_END = "WRAPUP_END"


AGENT_EVENTS = frozenset(
    {
        QueueEventType.LOGIN,
        QueueEventType.LOGOUT,
        QueueEventType.PAUSE,
        QueueEventType.UNPAUSE,
        QueueEventType.WRAPUP_END,
    }
)


class SurveyResult(StrEnum):
    VERY_SATISFIED = "very_satisfied"
    SATISFIED = "satisfied"
    UNSATISFIED = "unsatisfied"


class SurveyReason(StrEnum):
    SERVICE = "service"
    ATTITUDE = "attitude"
    OTHER = "other"


def require_survey(
    survey: object, reason: object
) -> tuple[SurveyResult | None, SurveyReason | None]:
    """A survey's answer and reason as members (plain strings accepted; each may be None)."""
    answer = require_member(SurveyResult, "survey", survey) if survey is not None else None
    why = require_member(SurveyReason, "survey_reason", reason) if reason is not None else None
    return answer, why


def _optional_name(name: str, value: object) -> None:
    if value is not None:
        require_text(name, value, max_len=NAME_MAX_LEN)


@dataclass(frozen=True)
class LegEntry:
    """One leg of a call: the caller's, each extension or agent rung, the trunk's."""

    leg: str  # unique within the call, e.g. the leg's SIP Call-ID or "a", "b1"
    direction: Direction
    party: str  # the number at the far end of this leg
    peer_kind: PeerKind
    peer: str  # the extension number or trunk name the leg runs to
    start: datetime
    answer: datetime | None
    end: datetime
    disposition: Disposition
    hangup_side: HangupSide

    def __post_init__(self) -> None:
        require_text("leg", self.leg, max_len=LEG_ID_MAX_LEN)
        for name, enum in (
            ("direction", Direction),
            ("peer_kind", PeerKind),
            ("disposition", Disposition),
            ("hangup_side", HangupSide),
        ):
            object.__setattr__(self, name, require_member(enum, name, getattr(self, name)))
        require_text("party", self.party, min_len=0, max_len=PARTY_MAX_LEN)
        require_text("peer", self.peer, max_len=PARTY_MAX_LEN)
        require_aware("start", self.start)
        require_aware("answer", self.answer, optional=True)
        require_aware("end", self.end)
        if self.end < self.start:
            raise ValidationError("end: before start", field="end")
        if self.answer is not None and not self.start <= self.answer <= self.end:
            raise ValidationError("answer: must lie between start and end", field="answer")
        if (self.answer is not None) != (self.disposition is Disposition.ANSWERED):
            raise ValidationError(
                "answer: set exactly when the disposition is ANSWERED", field="answer"
            )


@dataclass(frozen=True)
class QueueEventEntry:
    """One line of the queue event log. `data` is a small JSON object (event specifics:
    position, wait, ring time, pause reason, survey key ...)."""

    time: datetime
    event: QueueEventType
    call_id: str | None = None
    queue: str | None = None
    agent: str | None = None  # the agent's extension
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require_aware("time", self.time)
        object.__setattr__(self, "event", require_member(QueueEventType, "event", self.event))
        if self.call_id is not None:
            require_text("call_id", self.call_id, max_len=CALL_ID_MAX_LEN)
        _optional_name("queue", self.queue)
        _optional_name("agent", self.agent)
        if not isinstance(self.data, Mapping):
            raise ValidationError("data: expected a mapping", field="data")
        if len(self.data_json()) > DATA_MAX_BYTES:
            raise ValidationError(f"data: more than {DATA_MAX_BYTES} bytes of JSON", field="data")

    def data_json(self) -> str:
        try:
            return json.dumps(dict(self.data), ensure_ascii=False, allow_nan=False, sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"data: not JSON ({exc})", field="data") from None


@dataclass(frozen=True)
class CallHistory:
    """Everything one finished call leaves behind, written by `HistoryService.record_call`.

    Events and recordings without a call_id get the call's; one with another call_id is
    refused. `recording` in the call detail is the first of `recordings`.
    """

    cdr: CdrEntry
    legs: tuple[LegEntry, ...] = ()
    queue: str | None = None
    wait: int | None = None  # seconds the caller waited in `queue`
    agent: str | None = None  # extension of the agent who took the call
    survey: SurveyResult | None = None
    survey_reason: SurveyReason | None = None  # only with UNSATISFIED
    events: tuple[QueueEventEntry, ...] = ()
    recordings: tuple[RecordingEntry, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.cdr, CdrEntry):
            raise ValidationError("cdr: expected a CdrEntry", field="cdr")
        call_id = self.cdr.call_id
        for name in ("legs", "events", "recordings"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if len({leg.leg for leg in self.legs}) != len(self.legs):
            raise ValidationError("legs: leg ids must be unique within the call", field="legs")
        _optional_name("queue", self.queue)
        _optional_name("agent", self.agent)
        if self.wait is not None:
            require_int("wait", self.wait, minimum=0)
        survey, reason = require_survey(self.survey, self.survey_reason)
        object.__setattr__(self, "survey", survey)
        object.__setattr__(self, "survey_reason", reason)
        if reason is not None and survey is not SurveyResult.UNSATISFIED:
            raise ValidationError(
                "survey_reason: only for an unsatisfied survey", field="survey_reason"
            )
        for kind, items in (("events", self.events), ("recordings", self.recordings)):
            for item in items:
                if item.call_id not in (None, call_id):
                    raise ValidationError(
                        f"{kind}: call_id {item.call_id!r} is not the call's {call_id!r}",
                        field=kind,
                    )


@dataclass(frozen=True)
class LegView:
    id: int
    call_id: str
    leg: str
    direction: Direction
    party: str
    peer_kind: PeerKind
    peer: str
    start: datetime
    answer: datetime | None
    end: datetime
    disposition: Disposition
    hangup_side: HangupSide


@dataclass(frozen=True)
class CallDetailView:
    cdr_id: int
    call_id: str
    queue: str | None
    wait: int | None
    agent: str | None
    recording: int | None  # recording id; None when there was none or it was deleted
    survey: SurveyResult | None
    survey_reason: SurveyReason | None


@dataclass(frozen=True)
class QueueEventView:
    id: int
    time: datetime
    call_id: str | None
    queue: str | None
    agent: str | None
    event: QueueEventType
    data: dict[str, Any]


@dataclass(frozen=True)
class CallLegs:
    call_id: str
    details: list[CallDetailView]  # one per CDR row of that call id (usually one)
    legs: list[LegView]


def _event_row(event: QueueEventEntry, call_id: str | None) -> dict[str, Any]:
    return {
        "time": event.time,
        "call_id": event.call_id if event.call_id is not None else call_id,
        "queue": event.queue,
        "agent": event.agent,
        "event": str(event.event),
        "data": event.data_json(),
    }


class HistoryService:
    """Writers are safe on a worker thread (no state; peewee connects per thread)."""

    def __init__(self, recordings: RecordingService):
        self._recordings = recordings

    # -- writing (call control, on the database worker thread) --

    def record_call(self, call: CallHistory) -> int:
        """Write the whole call in one transaction; returns the CDR row id."""
        entry = call.cdr
        with db.atomic():
            cdr = insert_cdr(entry)
            recording_ids = [
                self._recordings.insert_row(
                    recording
                    if recording.call_id is not None
                    else replace(recording, call_id=entry.call_id)
                ).id
                for recording in call.recordings
            ]
            CallDetail.create(
                cdr=cdr.id,
                call_id=entry.call_id,
                queue=call.queue,
                wait=call.wait,
                agent=call.agent,
                recording=recording_ids[0] if recording_ids else None,
                survey=None if call.survey is None else str(call.survey),
                survey_reason=None if call.survey_reason is None else str(call.survey_reason),
            )
            if call.legs:
                CallLeg.insert_many(
                    [
                        {
                            "cdr": cdr.id,
                            "call_id": entry.call_id,
                            "leg": leg.leg,
                            "direction": str(leg.direction),
                            "party": leg.party,
                            "peer_kind": str(leg.peer_kind),
                            "peer": leg.peer,
                            "start": leg.start,
                            "answer": leg.answer,
                            "end": leg.end,
                            "disposition": str(leg.disposition),
                            "hangup_side": str(leg.hangup_side),
                        }
                        for leg in call.legs
                    ]
                ).execute()
            if call.events:
                QueueEvent.insert_many(
                    [_event_row(event, entry.call_id) for event in call.events]
                ).execute()
        return cdr.id

    def append_events(self, events: Iterable[QueueEventEntry]) -> int:
        """Append events that belong to no finished call (agent LOGIN, PAUSE ...), in one
        transaction; returns how many."""
        rows = [_event_row(event, None) for event in events]
        if rows:
            with db.atomic():
                QueueEvent.insert_many(rows).execute()
        return len(rows)

    # -- reading (API, reports) --

    def call_legs(self, call_id: str, *, scope: Scope | None = None) -> CallLegs:
        """The legs and call-center details of a call; NotFound when no CDR has that id (or
        none that `scope` sees: only the rows it sees are shown)."""
        require_text("call_id", call_id, max_len=CALL_ID_MAX_LEN)
        rows = Cdr.select(Cdr.id).where(Cdr.call_id == call_id)
        condition = scope.cdr_condition() if scope is not None else None
        if condition is not None:
            rows = rows.where(condition)
        cdr_ids = [row.id for row in rows]
        if not cdr_ids:
            raise NotFound(f"call {call_id} not found")
        details = CallDetail.select().where(CallDetail.cdr.in_(cdr_ids)).order_by(CallDetail.id)
        legs = CallLeg.select().where(CallLeg.cdr.in_(cdr_ids)).order_by(CallLeg.start, CallLeg.id)
        return CallLegs(
            call_id=call_id,
            details=[_detail_view(row) for row in details],
            legs=[_leg_view(row) for row in legs],
        )

    def queue_events(
        self,
        *,
        time_from: datetime | None = None,
        time_to: datetime | None = None,
        queue: str | None = None,
        agent: str | None = None,
        event: QueueEventType | str | None = None,
        call_id: str | None = None,
        limit: int = 1000,
        offset: int = 0,
        scope: Scope | None = None,
    ) -> list[QueueEventView]:
        """Events with time_from <= time < time_to, oldest first (the order reports replay);
        only those `scope` sees (None: every event)."""
        require_page(time_from, time_to, limit, offset, max_limit=QUERY_MAX_LIMIT)
        query = in_window(QueueEvent.select(), QueueEvent.time, time_from, time_to)
        condition = scope.queue_event_condition() if scope is not None else None
        if condition is not None:
            query = query.where(condition)
        if queue is not None:
            _optional_name("queue", queue)
            query = query.where(QueueEvent.queue == queue)
        if agent is not None:
            _optional_name("agent", agent)
            query = query.where(QueueEvent.agent == agent)
        if event is not None:
            query = query.where(
                QueueEvent.event == str(require_member(QueueEventType, "event", event))
            )
        if call_id is not None:
            require_text("call_id", call_id, max_len=CALL_ID_MAX_LEN)
            query = query.where(QueueEvent.call_id == call_id)
        query = query.order_by(QueueEvent.time, QueueEvent.id).limit(limit).offset(offset)
        return [_event_view(row) for row in query]


def _leg_view(row: CallLeg) -> LegView:
    return LegView(
        id=row.id,
        call_id=row.call_id,
        leg=row.leg,
        direction=Direction(row.direction),
        party=row.party,
        peer_kind=PeerKind(row.peer_kind),
        peer=row.peer,
        start=row.start,
        answer=row.answer,
        end=row.end,
        disposition=Disposition(row.disposition),
        hangup_side=HangupSide(row.hangup_side),
    )


def _detail_view(row: CallDetail) -> CallDetailView:
    return CallDetailView(
        cdr_id=row.cdr_id,
        call_id=row.call_id,
        queue=row.queue,
        wait=row.wait,
        agent=row.agent,
        recording=row.recording_id,
        survey=SurveyResult(row.survey) if row.survey is not None else None,
        survey_reason=SurveyReason(row.survey_reason) if row.survey_reason is not None else None,
    )


def _event_view(row: QueueEvent) -> QueueEventView:
    try:
        data = json.loads(row.data)
    except ValueError:
        data = {}
    return QueueEventView(
        id=row.id,
        time=row.time.astimezone(UTC),
        call_id=row.call_id,
        queue=row.queue,
        agent=row.agent,
        event=QueueEventType(row.event),
        data=data if isinstance(data, dict) else {},
    )
