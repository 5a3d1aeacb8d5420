from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from pbxd.services import CdrEntry, Disposition, Services, ValidationError

from .historydata import T0, cdr_entry


def entry(
    minute: int, caller: str = "1001", callee: str = "1002", answered: bool = True, **changes
) -> CdrEntry:
    missed = None if answered else Disposition.NO_ANSWER
    return replace(cdr_entry(minute, caller, callee, talk=60, missed=missed), **changes)


def test_record_returns_the_stored_view(services: Services) -> None:
    view = services.cdr.record(entry(0))
    assert view.id > 0
    assert (view.caller, view.callee, view.duration, view.billsec) == ("1001", "1002", 65, 60)
    assert view.start == T0 and view.start.tzinfo is UTC
    assert view.disposition is Disposition.ANSWERED


def test_times_in_other_zones_are_stored_as_the_same_instant(services: Services) -> None:
    beijing = timezone(timedelta(hours=8))
    local = entry(
        0,
        start=T0.astimezone(beijing),
        answer=None,
        end=T0.astimezone(beijing) + timedelta(seconds=65),
        billsec=0,
        disposition="NO ANSWER",
    )
    view = services.cdr.record(local)
    assert view.start == T0 and view.start.utcoffset() == timedelta(0)
    assert services.cdr.query(start_from=T0, start_to=T0 + timedelta(seconds=1)) == [view]


def test_query_is_newest_first_with_paging(services: Services) -> None:
    for minute in (5, 1, 3, 2, 4):
        services.cdr.record(entry(minute))
    starts = [view.start.minute for view in services.cdr.query()]
    assert starts == [5, 4, 3, 2, 1]
    assert [v.start.minute for v in services.cdr.query(limit=2, offset=1)] == [4, 3]
    assert services.cdr.query(offset=10) == []


def test_query_time_range_is_half_open(services: Services) -> None:
    for minute in range(5):
        services.cdr.record(entry(minute))
    found = services.cdr.query(
        start_from=T0 + timedelta(minutes=1), start_to=T0 + timedelta(minutes=3)
    )
    assert [view.start.minute for view in found] == [2, 1]


def test_query_number_matches_caller_or_callee(services: Services) -> None:
    services.cdr.record(entry(0, caller="1001", callee="1002"))
    services.cdr.record(entry(1, caller="1003", callee="1001"))
    services.cdr.record(entry(2, caller="1002", callee="1003"))
    assert [v.start.minute for v in services.cdr.query(number="1001")] == [1, 0]
    assert [v.start.minute for v in services.cdr.query(number="1003")] == [2, 1]
    assert services.cdr.query(number="1009") == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"start": datetime(2024, 5, 1)}, "start"),
        ({"end": T0 - timedelta(seconds=1)}, "end"),
        ({"disposition": "HUNG UP"}, "disposition"),
        ({"hangup_side": "network"}, "hangup_side"),
        ({"billsec": 66}, "billsec"),
        ({"duration": -1}, "duration"),
        ({"duration": True}, "duration"),
        ({"answer": None}, "answer"),
        ({"disposition": Disposition.BUSY}, "answer"),
        ({"answer": T0 - timedelta(seconds=1)}, "answer"),
        ({"call_id": ""}, "call_id"),
    ],
)
def test_entries_are_validated_when_built(changes: dict, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        entry(0, **changes)
    assert caught.value.field == field


def test_unanswered_call_needs_zero_billsec() -> None:
    with pytest.raises(ValidationError) as caught:
        entry(0, answered=False, billsec=3)
    assert caught.value.field == "billsec"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"offset": -1}, "offset"),
        ({"start_from": datetime(2024, 5, 1)}, "from"),
        ({"number": "x" * 129}, "number"),
    ],
)
def test_query_validation(services: Services, kwargs: dict, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        services.cdr.query(**kwargs)
    assert caught.value.field == field


def test_record_from_a_writer_thread(services: Services) -> None:
    # The daemon keeps fsync-ing commits off the event loop on one writer thread.
    with ThreadPoolExecutor(max_workers=1) as writer:
        views = [writer.submit(services.cdr.record, entry(minute)) for minute in range(3)]
        ids = [future.result(timeout=10).id for future in views]
    assert [view.id for view in services.cdr.query()] == ids[::-1]
