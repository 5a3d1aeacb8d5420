"""Call-center history: /api/v1/queue-events and /api/v1/cdr/{call_id}/legs.

A supervisor sees the events and calls of his team (pbxd/services/scope.py). A leg's `party`
(the number at its far end) is masked by the user's `masking`; `peer` is an extension number
or a trunk name, ours. Queue event data holds positions, waits, ring times, pause reasons and
destinations, never a caller's number: nothing to mask there.
"""

from __future__ import annotations

from typing import Any

from ..services import Masker
from ..services.history import CallDetailView, LegView, QueueEventView
from .base import ADMIN_OR_SUPERVISOR, BaseHandler
from .params import paging_params, time_param
from .schemas import iso_utc

DEFAULT_EVENT_LIMIT = 1000


def queue_event_json(view: QueueEventView) -> dict[str, Any]:
    return {
        "id": view.id,
        "time": iso_utc(view.time),
        "call_id": view.call_id,
        "queue": view.queue,
        "agent": view.agent,
        "event": str(view.event),
        "data": view.data,
    }


def leg_json(view: LegView, masker: Masker) -> dict[str, Any]:
    return {
        "id": view.id,
        "leg": view.leg,
        "direction": str(view.direction),
        "party": masker.number(view.party),
        "peer_kind": str(view.peer_kind),
        "peer": view.peer,
        "start": iso_utc(view.start),
        "answer": iso_utc(view.answer) if view.answer is not None else None,
        "end": iso_utc(view.end),
        "disposition": str(view.disposition),
        "hangup_side": str(view.hangup_side),
    }


def call_detail_json(view: CallDetailView) -> dict[str, Any]:
    return {
        "cdr_id": view.cdr_id,
        "queue": view.queue,
        "wait": view.wait,
        "agent": view.agent,
        "recording": view.recording,
        "survey": str(view.survey) if view.survey is not None else None,
        "survey_reason": str(view.survey_reason) if view.survey_reason is not None else None,
    }


class QueueEventsHandler(BaseHandler):
    access = {"GET": ADMIN_OR_SUPERVISOR}

    def get(self) -> None:
        params = self.query_params(
            {"from", "to", "queue", "agent", "event", "call_id", "limit", "offset"}
        )
        time_from, time_to = time_param(params, "from"), time_param(params, "to")
        limit, offset = paging_params(params, DEFAULT_EVENT_LIMIT)
        views = self.services.history.queue_events(
            time_from=time_from,
            time_to=time_to,
            queue=params.get("queue"),
            agent=params.get("agent"),
            event=params.get("event"),
            call_id=params.get("call_id"),
            limit=limit,
            offset=offset,
            scope=self.scope(),
        )
        self.reply({"items": [queue_event_json(view) for view in views]})


class CallLegsHandler(BaseHandler):
    access = {"GET": ADMIN_OR_SUPERVISOR}

    def get(self, call_id: str) -> None:
        legs = self.services.history.call_legs(call_id, scope=self.scope())
        masker = self.masker()
        self.reply(
            {
                "call_id": legs.call_id,
                "details": [call_detail_json(view) for view in legs.details],
                "items": [leg_json(view, masker) for view in legs.legs],
            }
        )
