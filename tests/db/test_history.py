"""Call-center history: whole calls in one transaction, queries, recordings and voicemail
indexes, and what a kill -9 in the middle of a call's write leaves behind."""

from __future__ import annotations

import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from peewee import IntegrityError

from pbxd.db import db
from pbxd.db.models import CallDetail, CallLeg, Cdr, QueueEvent, Recording, VoicemailMessage
from pbxd.services import (
    NotFound,
    QueueEventEntry,
    RecordingEntry,
    Services,
    ValidationError,
    VoicemailEntry,
)
from pbxd.services.cdr import Disposition
from pbxd.services.history import QueueEventType, SurveyReason, SurveyResult

from .conftest import assert_models_match_schema, killed_afterwards, read_until, reopened_database
from .historydata import T0, queue_call, write_wav

HISTORY_MODELS = (Recording, CallDetail, CallLeg, QueueEvent, VoicemailMessage)


# The rows of one queue call (historydata.queue_call) with one recording.
ONE_CALL = {
    "cdr": 1,
    "recording": 1,
    "call_detail": 1,
    "call_leg": 2,
    "queue_event": 4,
    "voicemail_message": 0,
}


def counts() -> dict[str, int]:
    return {model._meta.table_name: model.select().count() for model in (Cdr, *HISTORY_MODELS)}


def test_live_history_models_match_migrated_schema(db_path: Path) -> None:
    assert_models_match_schema(HISTORY_MODELS)
    assert {"queue_event_time", "queue_event_queue_time", "queue_event_agent_time"} <= {
        index.name for index in db.get_indexes("queue_event")
    }
    assert "recording_start" in {index.name for index in db.get_indexes("recording")}


def test_a_whole_call_is_written_and_read_back(services: Services, tmp_path: Path) -> None:
    call = queue_call(0, recording="2024/05/01/call-0.wav", recordings_dir=tmp_path / "recordings")
    cdr_id = services.history.record_call(call)

    assert counts() == ONE_CALL
    legs = services.history.call_legs("call-0@pbx")
    assert [(leg.leg, leg.direction, leg.peer_kind, leg.peer) for leg in legs.legs] == [
        ("a", "inbound", "trunk", "telecom"),
        ("b1", "internal", "extension", "1001"),
    ]
    (detail,) = legs.details
    recording = services.recordings.get(detail.recording)
    assert (detail.cdr_id, detail.queue, detail.wait, detail.agent, detail.survey) == (
        cdr_id,
        "600",
        8,
        "1001",
        SurveyResult.SATISFIED,
    )
    # The recording and the events took the call's id; the file is there with its real size.
    assert recording.call_id == "call-0@pbx" and recording.available
    assert recording.size == (tmp_path / "recordings/2024/05/01/call-0.wav").stat().st_size
    events = services.history.queue_events(call_id="call-0@pbx")
    assert [event.event for event in events] == ["ENTER", "RING", "CONNECT", "COMPLETE_CALLER"]
    assert events[2].data == {"wait": 8} and events[0].time == T0 + timedelta(seconds=2)


def test_abandoned_call_and_unsatisfied_survey(services: Services) -> None:
    services.history.record_call(queue_call(1, agent=None))
    assert Cdr.get().disposition == "ABANDONED"
    assert [e.event for e in services.history.queue_events(queue="600")] == ["ENTER", "ABANDON"]
    unhappy = replace(
        queue_call(2), survey=SurveyResult.UNSATISFIED, survey_reason=SurveyReason.ATTITUDE
    )
    services.history.record_call(unhappy)
    detail = services.history.call_legs("call-2@pbx").details[0]
    assert (detail.survey, detail.survey_reason) == ("unsatisfied", "attitude")


def test_inconsistent_calls_are_refused_before_writing(services: Services) -> None:
    call = queue_call(0)
    with pytest.raises(ValidationError, match="survey_reason"):
        replace(call, survey=SurveyResult.SATISFIED, survey_reason="service")
    with pytest.raises(ValidationError, match="call_id"):
        other = QueueEventEntry(T0, QueueEventType.RING, call_id="another@pbx", queue="600")
        replace(call, events=(*call.events, other))
    with pytest.raises(ValidationError, match="leg ids"):
        replace(call, legs=(call.legs[0], call.legs[0]))
    with pytest.raises(ValidationError, match="answer"):
        replace(call.legs[1], disposition=Disposition.NO_ANSWER)
    with pytest.raises(ValidationError, match="event"):
        QueueEventEntry(T0, "COFFEE_BREAK")
    with pytest.raises(ValidationError, match="data"):
        QueueEventEntry(T0, QueueEventType.PAUSE, data={"reason": object()})
    for bad in ("../pbxd.sqlite3", "/etc/passwd", "a/../../b.wav", "a//b.wav", "./a.wav", ""):
        with pytest.raises(ValidationError, match="path"):
            RecordingEntry(bad, "wav-pcm16", 1, 1.0, T0, "1001", "1002")
    assert counts()["cdr"] == 0


def test_a_failure_half_way_leaves_no_half_call(services: Services) -> None:
    services.history.record_call(queue_call(0, recording="dup.wav"))
    before = counts()
    # The second call's recording path is taken: the insert fails after the CDR row went in.
    with pytest.raises(IntegrityError):
        services.history.record_call(queue_call(5, recording="dup.wav"))
    assert counts() == before
    with pytest.raises(NotFound):
        services.history.call_legs("call-5@pbx")


def test_agent_events_without_a_call(services: Services) -> None:
    appended = services.history.append_events(
        [
            QueueEventEntry(T0, QueueEventType.LOGIN, agent="1001", queue="600"),
            QueueEventEntry(T0 + timedelta(minutes=5), "PAUSE", agent="1001", data={"reason": 2}),
            QueueEventEntry(T0 + timedelta(minutes=9), QueueEventType.UNPAUSE, agent="1001"),
            QueueEventEntry(T0 + timedelta(minutes=9), QueueEventType.LOGIN, agent="1002"),
        ]
    )
    assert appended == 4
    mine = services.history.queue_events(agent="1001")
    assert [(e.event, e.call_id) for e in mine] == [
        ("LOGIN", None),
        ("PAUSE", None),
        ("UNPAUSE", None),
    ]
    window = services.history.queue_events(
        time_from=T0 + timedelta(minutes=5), time_to=T0 + timedelta(minutes=9)
    )
    assert [e.event for e in window] == ["PAUSE"]
    assert [e.event for e in services.history.queue_events(event="LOGIN", limit=1, offset=1)] == [
        "LOGIN"
    ]
    with pytest.raises(ValidationError):
        services.history.queue_events(limit=0)


def test_record_call_runs_on_a_worker_thread(services: Services) -> None:
    """As the daemon does: commits fsync, so they run on one writer thread off the loop."""

    def write(minute: int) -> int:
        try:
            return services.history.record_call(queue_call(minute, recording=f"r{minute}.wav"))
        finally:
            db.close()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cdr") as pool:
        ids = [pool.submit(write, minute).result(timeout=10) for minute in range(3)]
    assert len(set(ids)) == 3
    assert counts()["call_leg"] == 6 and counts()["recording"] == 3


def test_recording_search_filters_and_pages(services: Services) -> None:
    for minute, agent in enumerate(["1001", "1002", "1001", "1002", "1001"]):
        caller = "13900000000" if minute == 3 else "13800138000"
        services.history.record_call(
            queue_call(minute, agent=agent, caller=caller, recording=f"r{minute}.wav")
        )
    services.recordings.index(
        RecordingEntry("r9.wav", "wav-pcmu", 1, 3.0, T0 + timedelta(minutes=9), "1003", "1004")
    )

    def minutes(**filters) -> list[int]:
        return [view.start.minute for view in services.recordings.search(**filters).items]

    assert minutes() == [9, 4, 3, 2, 1, 0]
    assert minutes(agent="1002") == [3, 1]
    assert minutes(party="13900000000") == [3]
    assert minutes(queue="600", start_from=T0 + timedelta(minutes=2)) == [4, 3, 2]
    assert minutes(start_to=T0 + timedelta(minutes=1, seconds=10)) == [0]
    page = services.recordings.search(limit=2, offset=2)
    assert ([v.start.minute for v in page.items], page.total) == ([3, 2], 6)
    # An agent sees the calls he took part in: his legs, or as a party of the recording.
    assert minutes(participant="1002") == [3, 1]
    assert minutes(participant="1004") == [9]
    with pytest.raises(NotFound):
        services.recordings.get(
            services.recordings.search(agent="1001").items[0].id, participant="1002"
        )

    first = services.recordings.search(agent="1001").items[-1]
    services.recordings.set_note(first.id, "投诉: 客户要求回电 50% off_sale")
    assert minutes(text="回电") == [0]
    assert minutes(text="50%") == [0]
    assert minutes(text="%") == [0]  # LIKE wildcards are literal
    assert minutes(text="_sale") == [0]
    assert minutes(text="nothing") == []


def test_recording_delete_removes_file_and_row_and_unlinks_the_call(
    services: Services, tmp_path: Path
) -> None:
    services.history.record_call(
        queue_call(0, recording="a.wav", recordings_dir=tmp_path / "recordings")
    )
    view = services.recordings.search().items[0]
    services.recordings.delete(view.id)
    assert not (tmp_path / "recordings/a.wav").exists()
    assert Recording.select().count() == 0
    assert services.history.call_legs("call-0@pbx").details[0].recording is None
    with pytest.raises(NotFound):
        services.recordings.delete(view.id)


def test_missing_recording_file_is_reported(services: Services) -> None:
    view = services.recordings.index(
        RecordingEntry("gone.wav", "wav-pcm16", 1, 1.0, T0, "1001", "1002")
    )
    assert view.available is False and view.size == 0
    with pytest.raises(NotFound, match="missing"):
        services.recordings.audio(view.id)


def test_voicemail_index(services: Services, tmp_path: Path) -> None:
    write_wav(tmp_path / "voicemail/1001/msg1.wav", 0.5, channels=1)
    first = services.voicemail.add(VoicemailEntry("1001", "13800138000", T0, 0.5, "1001/msg1.wav"))
    second = services.voicemail.add(
        VoicemailEntry("1001", "1002", T0 + timedelta(minutes=1), 2.0, "1001/msg2.wav")
    )
    services.voicemail.add(VoicemailEntry("1002", "1001", T0, 1.0, "1002/msg1.wav"))
    assert [m.id for m in services.voicemail.messages("1001")] == [second.id, first.id]
    assert (services.voicemail.counts("1001").new, services.voicemail.counts("1001").old) == (2, 0)
    services.voicemail.mark("1001", first.id, new=False)
    assert services.voicemail.counts("1001").old == 1
    assert services.voicemail.audio("1001", first.id).size > 44
    with pytest.raises(NotFound):
        services.voicemail.get("1002", first.id)  # another box's message
    services.voicemail.delete("1001", first.id)
    assert not (tmp_path / "voicemail/1001/msg1.wav").exists()
    assert [m.id for m in services.voicemail.messages("1001")] == [second.id]
    with pytest.raises(ValidationError):
        services.voicemail.messages("../1001")


# -- kill -9 in the middle of a call's transaction ------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from pbxd.services import build_services
    from pbxd.services.recordings import RecordingService
    from tests.db.historydata import queue_call

    services = build_services(Path(sys.argv[1]))
    services.history.record_call(queue_call(0, recording="done.wav"))
    print("committed", flush=True)

    insert_row = RecordingService.insert_row
    def stall(self, entry):
        row = insert_row(self, entry)  # the CDR row and the recording are in, the rest not
        print("in transaction", flush=True)
        time.sleep(60)
        return row
    RecordingService.insert_row = stall
    services.history.record_call(queue_call(1, recording="cut.wav"))
    """
)


def test_kill_9_mid_call_keeps_committed_calls_whole_and_drops_the_open_one(
    tmp_path: Path,
) -> None:
    with killed_afterwards(WRITER, tmp_path) as process:
        read_until(process, b"committed\nin transaction\n", time.monotonic() + 30)

    with reopened_database(tmp_path / "pbxd.sqlite3"):
        assert counts() == ONE_CALL
        assert {
            row.call_id for model in (Cdr, CallLeg, QueueEvent, Recording) for row in model.select()
        } == {"call-0@pbx"}
