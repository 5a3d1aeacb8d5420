"""What the call-center applications leave behind, in the history services' terms.

The queue cores stamp their events with the event loop's clock; the history keeps wall-clock
UTC. `wall_offset` (wall time minus loop time, read on the loop) converts one to the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
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

from .apps.queues import QueuedCall, QueueFinished, queue_call_record
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
    legs += agent_leg_entries(call, finished.ended_at)
    # The agent who took the call from the queue (after a transfer nobody took, the one
    # who took it the first time when nobody did since).
    agent = call.agent or next((r.extension for r in call.agent_legs if r.leg.answered), None)
    if call.forced_by is not None:  # 强拆: the COMPLETE row says who ended the call
        events = [forced_complete(e, call.forced_by) for e in events]
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
        agent=agent,
        survey=rating,
        survey_reason=reason,
        events=tuple(events),
        recordings=recording_entries(
            call.recording,
            recordings_dir,
            call.leg.number,
            agent or call.queue,
            queue=call.queue,
            agent=agent,
        ),
    )


def agent_leg_entries(call: QueuedCall, ended_at: datetime) -> list[LegEntry]:
    """A row per leg that ran to an agent: the one the queue connected, the extensions
    consulted or transferred to (agent call controls), each with its own times. Ids
    "agent-<extension>", "-2", "-3" ... when an extension had several legs."""
    entries = []
    seen: dict[str, int] = {}
    for record in call.agent_legs:
        leg = record.leg
        seen[record.extension] = count = seen.get(record.extension, 0) + 1
        if call.forced_by is not None and not record.transferred:
            side = HangupSide.SYSTEM  # a supervisor hung up (强拆)
        elif record.transferred:
            side = HangupSide.CALLEE  # he handed the caller on
        elif leg is call.agent_leg:  # the last one with the caller
            side = HangupSide.CALLEE if call.agent_hung_up else HangupSide.CALLER
        else:
            side = HangupSide.CALLEE if leg.ended_by_remote else HangupSide.CALLER
        if leg.answered:
            disposition = Disposition.ANSWERED
        elif leg.end_status == 486:
            disposition = Disposition.BUSY
        elif leg.ended_by_remote and leg.end_status not in (408, 480, None):
            disposition = Disposition.FAILED  # refused (603 ...) or unreachable
        else:
            disposition = Disposition.NO_ANSWER  # rang out, or stopped ringing
        entries.append(
            LegEntry(
                leg=f"agent-{record.extension}" + (f"-{count}" if count > 1 else ""),
                direction=Direction.OUTBOUND,
                party=record.extension,
                peer_kind=PeerKind.EXTENSION,
                peer=record.extension,
                start=leg.started_at,
                answer=leg.answered_at,
                end=leg.ended_at or ended_at,
                disposition=disposition,
                hangup_side=side,
            )
        )
    return entries


def forced_complete(event: QueueEventEntry, by: str) -> QueueEventEntry:
    """A COMPLETE row of a call a supervisor hung up: the system hung up, `by` asked."""
    if event.event not in ("COMPLETE_AGENT", "COMPLETE_CALLER"):
        return event
    return replace(event, data={**event.data, "hangup_side": "system", "by": by})


def extension_call_history(
    cdr: CdrEntry, recording: CallRecording, recordings_dir: Path
) -> CallHistory:
    """An extension-to-extension call recorded by the extensions' policy."""
    return CallHistory(
        cdr=cdr, recordings=recording_entries(recording, recordings_dir, cdr.caller, cdr.callee)
    )
