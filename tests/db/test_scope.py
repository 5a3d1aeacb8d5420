"""The scope of a role (pbxd/services/scope.py) as the history services apply it."""

from __future__ import annotations

import pytest

from pbxd.services import (
    NotFound,
    OutOfScope,
    QueueEventEntry,
    Role,
    Scope,
    Services,
    scope_for,
)
from pbxd.services.history import QueueEventType
from pbxd.services.scope import team_members

from .historydata import T0, direct_call, queue_call


@pytest.fixture
def center(services: Services) -> Services:
    """Queues 600 (static 1001, dynamic 1003) and 601 (static 1002); 1004 in no queue.

    minute 1: queue 600, taken by 1001      minute 4: 1001 -> 1004 (CDR row only)
    minute 2: queue 601, taken by 1002      minute 5: 1004 -> 13800138000, recorded
    minute 3: queue 601, taken by 1001      minute 6: 1003 -> 1004, recorded
    """
    for number in ("1001", "1002", "1003", "1004"):
        services.extensions.create(number, f"Agent {number}", f"secret-{number}-pw")
    services.queues.create({"number": "600", "members": ["1001"]})
    services.queues.create({"number": "601", "members": ["1002"]})
    services.agents.login("1003", ["600"])
    history = services.history
    history.record_call(queue_call(1, agent="1001", queue="600", recording="q1.wav"))
    history.record_call(queue_call(2, agent="1002", queue="601", recording="q2.wav"))
    history.record_call(queue_call(3, agent="1001", queue="601", recording="q3.wav"))
    services.cdr.record(direct_call(4, "1001", "1004").cdr)
    history.record_call(direct_call(5, "1004", "13800138000", recorded=True))
    history.record_call(direct_call(6, "1003", "1004", recorded=True))
    history.append_events(
        [
            QueueEventEntry(T0, QueueEventType.PAUSE, agent="1003", data={"reason": "x"}),
            QueueEventEntry(T0, QueueEventType.PAUSE, agent="1002", data={"reason": "y"}),
        ]
    )
    return services


def cdr_minutes(services: Services, scope: Scope) -> list[int]:
    return sorted(view.start.minute for view in services.cdr.query(scope=scope))


def recording_minutes(services: Services, scope: Scope) -> list[int]:
    return sorted(view.start.minute for view in services.recordings.search(scope=scope).items)


def test_team_members_are_static_and_logged_in_agents(center: Services) -> None:
    assert team_members(["600"]) == {"1001", "1003"}
    assert team_members(["600", "601"]) == {"1001", "1002", "1003"}
    assert team_members([]) == frozenset()


def test_a_supervisor_sees_his_queues_calls_and_his_agents_direct_calls(center: Services) -> None:
    leader = center.users.create_user("lead", "lead-pass-1", Role.SUPERVISOR, queues=["600"])
    scope = scope_for(leader)
    assert (scope.queues, scope.agents) == ({"600"}, {"1001", "1003"})
    # Not minute 3: a call of queue 601, even though his agent 1001 took it.
    assert cdr_minutes(center, scope) == [1, 4, 6]
    assert recording_minutes(center, scope) == [1, 6]
    assert center.history.call_legs("call-1@pbx", scope=scope).legs
    for hidden in ("call-2@pbx", "call-3@pbx", "call-5@pbx"):
        with pytest.raises(NotFound):
            center.history.call_legs(hidden, scope=scope)
    q3 = center.recordings.search(queue="601", agent="1001").items[0]
    with pytest.raises(NotFound):
        center.recordings.audio(q3.id, scope=scope)
    with pytest.raises(NotFound):
        center.recordings.set_note(q3.id, "x", scope=scope)
    events = center.history.queue_events(scope=scope)
    assert {(e.queue, e.agent) for e in events} <= {("600", None), ("600", "1001"), (None, "1003")}
    assert (None, "1003") in {(e.queue, e.agent) for e in events}
    exported = center.reports.export_cdr(scope=scope)
    assert sorted(row.start.minute for row in exported) == [1, 4, 6]


def test_a_supervisor_without_queues_sees_nothing(center: Services) -> None:
    idle = scope_for(center.users.create_user("idle", "idle-pass-1", Role.SUPERVISOR))
    assert cdr_minutes(center, idle) == recording_minutes(center, idle) == []
    assert center.history.queue_events(scope=idle) == []
    assert center.reports.export_cdr(scope=idle) == []


def test_an_agent_sees_the_calls_he_took_part_in(center: Services) -> None:
    agent = scope_for(center.users.create_user("a1", "a1-pass-12", Role.AGENT, extension="1001"))
    assert cdr_minutes(center, agent) == [1, 3, 4]
    assert recording_minutes(center, agent) == [1, 3]
    assert cdr_minutes(center, Scope.everything()) == [1, 2, 3, 4, 5, 6]
    assert recording_minutes(center, Scope.everything()) == [1, 2, 3, 5, 6]


def test_single_objects() -> None:
    team = Scope.team({"600"}, {"1001", "1003"}, extension="1009")
    assert [team.sees_box(box) for box in ("600", "1001", "1009", "601", "1002")] == [
        True, True, True, False, False]  # fmt: skip
    assert [team.sees_agent(ext) for ext in ("1001", "1009", "1002")] == [True, True, False]
    own = Scope.own("1001")
    assert (own.sees_box("1001"), own.sees_box("600"), own.sees_agent("1003")) == (
        True, False, False)  # fmt: skip
    assert Scope.everything().sees_box("601") and Scope.everything().sees_agent("1002")
    # A supervisor logs his agents in/out of his own queues; himself of any.
    assert team.action_queues("1001", None) == ["600"]
    assert team.action_queues("1001", ["600"]) == ["600"]
    with pytest.raises(OutOfScope) as caught:
        team.action_queues("1001", ["601"])
    assert caught.value.field == "queues"
    assert team.action_queues("1009", ["601"]) == ["601"]
    assert Scope.everything().action_queues("1001", None) is None


def test_report_filters() -> None:
    team = Scope.team({"600", "602"}, {"1001"})
    assert team.report_filters("total", None, None) == ({"600", "602"}, None)
    assert team.report_filters("agent", None, None) == ({"600", "602"}, {"1001"})
    assert team.report_filters("queue", frozenset({"600"}), None) == ({"600"}, None)
    for queues, agents, field in (({"601"}, None, "queue"), (None, {"1002"}, "agent")):
        with pytest.raises(OutOfScope) as caught:
            team.report_filters("agent", queues and frozenset(queues), agents and
                                frozenset(agents))  # fmt: skip
        assert caught.value.field == field
    assert Scope.team((), ()).report_filters("agent", None, None) == (frozenset(), frozenset())
    assert Scope.own("1001").report_filters("agent", None, None) == (None, {"1001"})
    with pytest.raises(OutOfScope):
        Scope.own("1001").report_filters("total", None, None)
    with pytest.raises(OutOfScope):
        Scope.own(None).report_filters("agent", None, None)
    assert Scope.everything().report_filters("queue", None, None) == (None, None)
