"""What the call-center applications leave behind, in the history services' terms.

The queue cores stamp their events with the event loop's clock; the history keeps wall-clock
UTC. `wall_offset` (wall time minus loop time, read on the loop) converts one to the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from pbxd.callcenter.agents import LogEvent
from pbxd.services.cdr import CdrEntry, Disposition, HangupSide
from pbxd.services.history import (
    CallHistory,
    Direction,
    LegEntry,
    PeerKind,
    QueueEventEntry,
)

from .apps.queues import QueueFinished, queue_call_record
from .recording import CallRecording, recording_entries


def queue_event_entry(
    event: LogEvent, wall_offset: float, call_id: str | None = None
) -> QueueEventEntry:
    data = {"data": event.data} if event.data else {}
    return QueueEventEntry(
        time=datetime.fromtimestamp(event.time + wall_offset, UTC),
        event=event.event,
        call_id=(call_id if call_id is not None else event.call_id) or None,
        queue=event.queue or None,
        agent=event.agent or None,
        data=data,
    )


def queue_call_history(
    finished: QueueFinished,
    survey: tuple[str | None, str | None],
    recordings_dir: Path,
    events: Iterable[QueueEventEntry],
    surveyed_at: datetime | None = None,
) -> CallHistory:
    """`surveyed_at`: when the survey was answered (default: when the caller left the queue)."""
    surveyed_at = surveyed_at or finished.ended_at
    call = finished.call
    cdr = queue_call_record(finished)
    legs = [
        LegEntry(
            leg="caller",
            direction=Direction.INBOUND,
            party=call.leg.number,
            peer_kind=PeerKind.TRUNK if call.leg.trunk else PeerKind.EXTENSION,
            peer=call.leg.trunk or call.leg.number,
            start=call.leg.started_at,
            answer=call.leg.answered_at,
            end=finished.ended_at,
            # pbxd answered the caller's leg itself (to queue it): the leg is ANSWERED even
            # when no agent took the call (the call's CDR row says that).
            disposition=Disposition.ANSWERED if call.leg.answered_at else cdr.disposition,
            hangup_side=cdr.hangup_side,
        )
    ]
    agent_leg = call.agent_leg
    if agent_leg is not None and call.agent is not None:
        legs.append(
            LegEntry(
                leg=f"agent-{call.agent}",
                direction=Direction.OUTBOUND,
                party=call.agent,
                peer_kind=PeerKind.EXTENSION,
                peer=call.agent,
                start=agent_leg.started_at,
                answer=agent_leg.answered_at,
                end=agent_leg.ended_at or finished.ended_at,
                disposition=Disposition.ANSWERED,
                hangup_side=HangupSide.CALLEE if call.agent_hung_up else HangupSide.CALLER,
            )
        )
    wait_end = call.connected_at or finished.ended_at
    rating, reason = survey
    if rating is not None:  # the queue log has the answer too: reports of agents' service
        answered = {"rating": rating, **({"reason": reason} if reason else {})}
        events = [*events, QueueEventEntry(time=max(surveyed_at, finished.ended_at),
                                           event="SURVEY", call_id=None, queue=call.queue,
                                           agent=call.agent, data=answered)]  # fmt: skip
    return CallHistory(
        cdr=cdr,
        legs=tuple(legs),
        queue=call.queue,
        wait=max(0, round((wait_end - call.joined_at).total_seconds())),
        agent=call.agent,
        survey=rating,
        survey_reason=reason,
        events=tuple(events),
        recordings=recording_entries(
            call.recording,
            recordings_dir,
            call.leg.number,
            call.agent or call.queue,
            queue=call.queue,
            agent=call.agent,
        ),
    )


def extension_call_history(
    cdr: CdrEntry, recording: CallRecording, recordings_dir: Path
) -> CallHistory:
    """An extension-to-extension call recorded by the extensions' policy."""
    return CallHistory(
        cdr=cdr, recordings=recording_entries(recording, recordings_dir, cdr.caller, cdr.callee)
    )
