"""The wallboard core (pbxd/callcenter/wallboard.py): today's figures from the queue log, and the
board of a live CallCenter driven with a scripted clock. No I/O, no sleeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pbxd.callcenter.agents import LogEvent
from pbxd.callcenter.queue import CallCenter, QueueConfig
from pbxd.callcenter.strategies import Member
from pbxd.callcenter.wallboard import (
    DEFAULT_SERVICE_LEVEL_SECONDS,
    DailyCounters,
    QueueTally,
    build_wallboard,
    event_wait,
)

# Loop time T0 is wall time AT0: 2024-05-01 10:00 in Shanghai.
T0 = 1000.0
AT0 = datetime(2024, 5, 1, 2, 0, tzinfo=UTC)


def wall(loop_time: float) -> datetime:
    return AT0 + timedelta(seconds=loop_time - T0)


def count(counters: DailyCounters, actions: list) -> None:
    """What the runtime's feed does: every queue-log row of a batch, at its wall time."""
    for action in actions:
        if isinstance(action, LogEvent):
            counters.add(wall(action.time), action.queue, action.event, action.data)


def board(center: CallCenter, counters: DailyCounters, now: float, names=None):
    return build_wallboard(
        center,
        counters,
        now=now,
        at=wall(now),
        queue_names=names or {"600": "Sales", "700": "Support"},
        agent_names={"1001": "Nina", "1002": "Li Lei"},
    )


def center_with_queues() -> CallCenter:
    center = CallCenter()
    center.add_queue(QueueConfig("600", members=(Member("1001"),), timeout=10, retry=2))
    center.add_queue(QueueConfig("700", members=(Member("1002"),), timeout=10, retry=2))
    return center


# --- today's figures -------------------------------------------------------------------------


def test_waits_are_read_from_the_rows_the_queue_writes() -> None:
    assert event_wait("CONNECT", "12|3") == 12
    assert event_wait("ABANDON", "2|3|41") == 41
    assert event_wait("EXIT_TIMEOUT", "1|1|300") == 300
    assert event_wait("ABANDON", "2|3") is None
    assert event_wait("CONNECT", "soon|3") is None
    assert event_wait("ENTER", "1") is None


def test_service_level_counts_answers_within_the_threshold() -> None:
    counters = DailyCounters()
    at = AT0
    for _ in range(5):
        counters.add(at, "600", "ENTER", "1")
    counters.add(at, "600", "CONNECT", "5|2")  # in time
    counters.add(at, "600", "CONNECT", "20|2")  # exactly the threshold: in time
    counters.add(at, "600", "CONNECT", "31|9")  # late
    counters.add(at, "600", "ABANDON", "1|1|4")  # gave up before the threshold: not held
    counters.add(at, "600", "ABANDON", "1|1|45")  # gave up after it: held against the queue
    counters.add(at, "600", "RING_NO_ANSWER", "9000")  # not a figure
    tally = counters.tally("600", at)
    assert (tally.entered, tally.answered, tally.abandoned, tally.timed_out) == (5, 3, 2, 0)
    # 2 answered in time / (3 answered + 1 late abandon)
    assert tally.service_level == 0.5
    assert counters.tally("700", at) == QueueTally()
    assert QueueTally().service_level is None
    assert counters.threshold("600") == DEFAULT_SERVICE_LEVEL_SECONDS


def test_a_timed_out_caller_counts_against_the_service_level() -> None:
    counters = DailyCounters(service_level_seconds=lambda queue: 60.0)
    counters.add(AT0, "600", "CONNECT", "50|1")
    counters.add(AT0, "600", "EXIT_TIMEOUT", "1|1|120")
    assert counters.tally("600", AT0).service_level == 0.5


def test_figures_are_of_the_local_day() -> None:
    counters = DailyCounters("Asia/Shanghai")
    before_midnight = datetime(2024, 5, 1, 15, 59, tzinfo=UTC)  # 23:59 in Shanghai
    after_midnight = datetime(2024, 5, 1, 16, 1, tzinfo=UTC)  # 00:01 on May 2nd
    counters.add(before_midnight, "600", "ABANDON", "1|1|30")
    assert counters.tally("600", before_midnight).abandoned == 1
    # A new day shows zeros before any row of it ...
    assert counters.tally("600", after_midnight) == QueueTally()
    # ... and its first row starts it afresh; a late row of the day before no longer counts.
    assert counters.add(after_midnight, "600", "ENTER", "1")
    assert not counters.add(before_midnight, "600", "ABANDON", "1|1|30")
    assert counters.tally("600", after_midnight) == QueueTally(entered=1)
    assert counters.day_start(after_midnight) == datetime(2024, 5, 1, 16, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        counters.add(datetime(2024, 5, 1, 12), "600", "ENTER", "1")


# --- the board -------------------------------------------------------------------------------


def test_waiting_callers_paused_agent_and_time_in_state() -> None:
    center, counters = center_with_queues(), DailyCounters()
    count(counters, center.pause("1001", T0, "lunch"))
    count(counters, center.join("600", "call-a", T0 + 5))
    count(counters, center.join("600", "call-b", T0 + 12))
    snapshot = board(center, counters, T0 + 35)
    data = snapshot.to_json()
    assert data["type"] == "wallboard" and data["day"] == "2024-05-01"
    assert data["time"] == "2024-05-01T02:00:35.000Z"
    sales = data["queues"][0]
    assert sales["number"] == "600" and sales["name"] == "Sales"
    assert sales["waiting"] == 2
    assert sales["longest_wait_seconds"] == 30
    assert sales["oldest_joined_at"] == "2024-05-01T02:00:05.000Z"
    assert (sales["entered"], sales["answered"], sales["abandoned"]) == (2, 0, 0)
    assert sales["service_level"] is None and sales["service_level_seconds"] == 20.0
    assert (sales["agents_logged_in"], sales["agents_idle"], sales["agents_paused"]) == (1, 0, 1)
    nina = data["agents"][0]
    assert nina == {
        "extension": "1001",
        "name": "Nina",
        "state": "paused",
        "since": "2024-05-01T02:00:00.000Z",
        "queue": None,
        "queues": ["600"],
        "paused": True,
        "pause_reason": "lunch",
    }
    support = data["queues"][1]
    assert (support["waiting"], support["longest_wait_seconds"]) == (0, 0)
    assert support["oldest_joined_at"] is None
    assert (support["agents_logged_in"], support["agents_idle"]) == (1, 1)


def test_a_call_answered_and_a_caller_who_gives_up() -> None:
    center, counters = center_with_queues(), DailyCounters()
    count(counters, center.pause("1001", T0, "break"))
    count(counters, center.join("600", "call-a", T0 + 1))
    count(counters, center.join("600", "call-b", T0 + 2))
    count(counters, center.unpause("1001", T0 + 10))  # rings 1001 for the head caller
    ringing = board(center, counters, T0 + 11)
    agent = ringing.agent_json(ringing.agent("1001"))
    assert (agent["state"], agent["queue"]) == ("ringing", "600")
    count(counters, center.agent_answer("call-a", "1001", T0 + 14))
    count(counters, center.caller_hangup("call-b", T0 + 40))  # waited 38 s: a late abandon
    after = board(center, counters, T0 + 41).to_json()
    sales = after["queues"][0]
    assert (sales["waiting"], sales["answered"], sales["abandoned"]) == (0, 1, 1)
    assert sales["service_level"] == 0.5  # answered after 13 s; the other gave up after 38 s
    nina = after["agents"][0]
    assert (nina["state"], nina["queue"], nina["paused"]) == ("on_call", "600", False)
    assert nina["since"] == "2024-05-01T02:00:14.000Z"


def test_boards_compare_by_what_they_show() -> None:
    center, counters = center_with_queues(), DailyCounters()
    count(counters, center.pause("1001", T0))
    count(counters, center.join("600", "call-a", T0 + 1))
    first, later = board(center, counters, T0 + 2), board(center, counters, T0 + 9)
    assert first == later  # nothing changed: no push needed, the page ticks the wait itself
    assert first.to_json()["queues"][0]["longest_wait_seconds"] == 1
    assert later.to_json()["queues"][0]["longest_wait_seconds"] == 8
    count(counters, center.caller_hangup("call-a", T0 + 10))
    assert board(center, counters, T0 + 10) != later


def test_a_supervisor_sees_his_queues_and_their_agents() -> None:
    center, counters = center_with_queues(), DailyCounters()
    center.add_queue(QueueConfig("800", timeout=10))
    count(counters, center.login("1001", ["700"], T0))  # 1001: static in 600, dynamic in 700
    count(counters, center.join("600", "call-a", T0 + 1))  # rings 1001 for queue 600
    names = {"600": "Sales", "700": "Support", "800": "VIP"}
    whole = board(center, counters, T0 + 2, names)
    assert [q.number for q in whole.queues] == ["600", "700", "800"]
    support = whole.for_queues({"700"})
    assert [q.number for q in support.queues] == ["700"]
    agents = {a.extension: a for a in support.agents}
    assert set(agents) == {"1001", "1002"}
    assert agents["1001"].queues == ("700",)
    assert agents["1001"].call_queue is None  # a call of queue 600 is not his to see
    assert agents["1001"].state == "ringing"
    vip = whole.for_queues({"800"})
    assert [q.number for q in vip.queues] == ["800"] and vip.agents == ()
    assert whole.for_queues(set()).queues == ()


def test_queues_no_longer_configured_leave_the_board() -> None:
    center, counters = center_with_queues(), DailyCounters()
    count(counters, center.login("1001", ["700"], T0))
    shown = board(center, counters, T0 + 1, {"600": "Sales", "1000": "Big"})
    assert [q.number for q in shown.queues] == ["600", "1000"]  # numeric order
    nina = shown.agent("1001")
    assert nina is not None and nina.queues == ("600",)
    big = shown.to_json()["queues"][1]
    assert big["waiting"] == 0 and big["agents_logged_in"] == 0
    assert shown.agent("1002") is not None and shown.agent("1002").queues == ()
