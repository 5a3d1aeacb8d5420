"""/api/v1/calls/live, /api/v1/agents/{extension}/monitor and /hangup (issue 7), with a fake
call controller attached to the service: who may act on which call, masking, the errors, the
operation log. The calls themselves (real phones) are in tests/integration/
test_supervisor_monitor.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pbxd.services import Role
from pbxd.services.calls import (
    LiveCall,
    MonitorMode,
    MonitorState,
    MonitorView,
    NoCallError,
    OwnCallError,
    UnreachableError,
)

from .apitest import ApiTestCase

LIVE = "/api/v1/calls/live"


def monitor_path(agent: str) -> str:
    return f"/api/v1/agents/{agent}/monitor"


def hangup_path(agent: str) -> str:
    return f"/api/v1/agents/{agent}/hangup"


class FakeController:
    """Calls in progress by agent; records what it was asked."""

    def __init__(self, *calls: LiveCall):
        self.calls = {call.agent: call for call in calls}
        self.monitored: list[tuple[str, str, MonitorMode]] = []
        self.hung_up: list[tuple[str, str]] = []
        self.refuse: Exception | None = None

    def live_calls(self) -> list[LiveCall]:
        return list(self.calls.values())

    def call_of(self, agent: str) -> LiveCall | None:
        return self.calls.get(agent)

    async def monitor(self, agent: str, supervisor: str, mode: MonitorMode) -> MonitorView:
        if self.refuse is not None:
            raise self.refuse
        self.monitored.append((agent, supervisor, mode))
        return MonitorView(agent, supervisor, mode, MonitorState.RINGING, datetime.now(UTC))

    def hang_up(self, agent: str, by: str) -> None:
        if agent not in self.calls:
            raise NoCallError(agent)
        self.hung_up.append((agent, by))
        del self.calls[agent]


def live_call(agent: str, queue: str | None, customer: str, seconds_ago: int = 30) -> LiveCall:
    return LiveCall(
        id=f"call-{agent}",
        queue=queue,
        agent=agent,
        customer=customer,
        connected_at=datetime.now(UTC) - timedelta(seconds=seconds_ago),
        recording=True,
    )


class CallsApiTest(ApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.admin = self.login()
        self.create_queue("600", "1001", "1003")
        self.create_queue("601", "1004")
        self.create_extensions("1002", "1005", "1006")
        # leader leads 600 and works at 1002; partial masking
        self.leader = self.user_token(
            Role.SUPERVISOR, "1002", "leader", queues=["600"], masking="partial"
        )
        self.other = self.user_token(Role.SUPERVISOR, "1005", "other", queues=["601"])
        self.agent = self.user_token(Role.AGENT, "1001", "agent")
        self.controller = FakeController(
            live_call("1001", "600", "13812345678", seconds_ago=60),
            live_call("1004", "601", "13900001111"),
        )
        self.services.calls.attach(self.controller)

    def test_without_call_control_every_call_answers_503(self) -> None:
        self.services.calls.attach(None)
        for method, path, body in (
            ("GET", LIVE, None),
            ("POST", monitor_path("1001"), {"mode": "listen"}),
            ("POST", hangup_path("1001"), None),
        ):
            error = self.assert_error(
                self.call(method, path, body, token=self.admin), 503, "not_running"
            )
            assert error["message"] == "call control not running"

    def test_live_calls_by_scope_masked_by_role(self) -> None:
        status, data, _ = self.call("GET", LIVE, token=self.admin)
        assert status == 200
        assert [(c["agent"], c["queue"], c["customer"]) for c in data["items"]] == [
            ("1001", "600", "13812345678"),  # longest first
            ("1004", "601", "13900001111"),
        ]
        first = data["items"][0]
        assert first["recording"] is True and first["monitors"] == []
        assert 59 <= first["duration"] <= 62 and first["connected_at"].endswith("Z")
        status, data, _ = self.call("GET", LIVE, token=self.leader)
        assert [(c["agent"], c["customer"]) for c in data["items"]] == [("1001", "138****5678")]
        self.assert_error(self.call("GET", LIVE, token=self.agent), 403, "forbidden")

    def test_an_internal_caller_is_not_masked_and_monitors_are_listed(self) -> None:
        call = replace(
            live_call("1003", "600", "1006"),
            monitors=(
                MonitorView(
                    "1003", "1002", MonitorMode.WHISPER, MonitorState.CONNECTED, datetime.now(UTC)
                ),
            ),
        )
        self.controller.calls["1003"] = call
        status, data, _ = self.call("GET", LIVE, token=self.leader)
        [item] = [c for c in data["items"] if c["agent"] == "1003"]
        assert item["customer"] == "1006"  # an extension of ours: never masked
        assert [(m["supervisor"], m["mode"], m["state"]) for m in item["monitors"]] == [
            ("1002", "whisper", "connected")
        ]

    def test_a_supervisor_monitors_his_agent_from_his_own_extension(self) -> None:
        status, data, _ = self.call(
            "POST", monitor_path("1001"), {"mode": "whisper"}, token=self.leader
        )
        assert status == 200, data
        assert (data["agent"], data["supervisor"], data["mode"], data["state"]) == (
            "1001",
            "1002",
            "whisper",
            "ringing",
        )
        assert self.controller.monitored == [("1001", "1002", MonitorMode.WHISPER)]
        status, data, _ = self.call(
            "GET", "/api/v1/operation-log?username=leader", token=self.admin
        )
        rows = [r for r in data["items"] if r["action"].endswith("/monitor")]
        assert [(r["action"], r["target"], r["detail"]) for r in rows] == [
            (
                "POST /api/v1/agents/{extension}/monitor",
                "/api/v1/agents/1001/monitor",
                {"mode": "whisper", "supervisor": "1002", "status": 200},
            ),
        ]

    def test_who_may_monitor_which_call(self) -> None:
        body = {"mode": "listen"}
        # another queue's supervisor: his scope does not cover the agent
        error = self.assert_error(
            self.call("POST", monitor_path("1001"), body, token=self.other), 403, "forbidden"
        )
        assert error["message"] == "agent 1001 is not a member of your queues"
        # agents never (the role), whatever the call
        self.assert_error(
            self.call("POST", monitor_path("1003"), body, token=self.agent), 403, "forbidden"
        )
        # his agent, but on a call of a queue he does not lead
        self.services.agents.login("1003", ["601"])
        self.controller.calls["1003"] = live_call("1003", "601", "13700000000")
        error = self.assert_error(
            self.call("POST", monitor_path("1003"), body, token=self.leader), 403, "forbidden"
        )
        assert error["message"] == ("agent 1003 is on a call of queue 601, not one of your queues")
        # his agent with no call
        del self.controller.calls["1003"]
        error = self.assert_error(
            self.call("POST", monitor_path("1003"), body, token=self.leader), 409, "no_call"
        )
        assert error["message"] == "agent 1003 has no call in progress"
        # an admin may monitor any agent, from his own extension: he has none
        error = self.assert_error(
            self.call("POST", monitor_path("1004"), body, token=self.admin), 422, "no_extension"
        )
        assert self.controller.monitored == []

    def test_bad_modes_and_bodies(self) -> None:
        for body, field in (
            ({"mode": "spy"}, "mode"),
            ({"mode": 1}, "mode"),
            ({}, "mode"),
            ({"mode": "listen", "x": 1}, "x"),
        ):
            error = self.assert_error(
                self.call("POST", monitor_path("1001"), body, token=self.leader), 400, "invalid"
            )
            assert error["field"] == field, (body, error)

    def test_what_call_control_refuses(self) -> None:
        cases = (
            (OwnCallError("x"), "extension 1002 cannot monitor its own call"),
            (
                UnreachableError("x", registered=False),
                "extension 1002 is not registered: no phone to ring",
            ),
            (UnreachableError("x", registered=True), "extension 1002 cannot be rung now"),
        )
        for refusal, message in cases:
            self.controller.refuse = refusal
            error = self.assert_error(
                self.call("POST", monitor_path("1001"), {"mode": "barge"}, token=self.leader),
                409,
                "monitor_refused",
            )
            assert error["message"] == message

    def test_refusals_in_chinese(self) -> None:
        self.controller.refuse = UnreachableError("x", registered=False)
        status, data, _ = self.call(
            "POST",
            monitor_path("1001"),
            {"mode": "listen"},
            token=self.leader,
            headers={"Accept-Language": "zh-CN"},
        )
        assert (status, data["error"]["message"]) == (409, "分机 1002 未注册：没有可呼叫的话机")
        status, data, _ = self.call(
            "POST",
            monitor_path("1004"),
            {"mode": "listen"},
            token=self.admin,
            headers={"Accept-Language": "zh-CN"},
        )
        assert (status, data["error"]["message"]) == (
            422,
            "用户 admin 未关联分机：监听时系统会呼叫您自己的分机",
        )

    def test_hang_up_an_agents_call(self) -> None:
        self.assert_error(
            self.call("POST", hangup_path("1004"), token=self.leader), 403, "forbidden"
        )
        status, _, _ = self.call("POST", hangup_path("1001"), token=self.leader)
        assert status == 204
        assert self.controller.hung_up == [("1001", "leader")]
        self.assert_error(self.call("POST", hangup_path("1001"), token=self.leader), 409, "no_call")
        status, _, _ = self.call("POST", hangup_path("1004"), token=self.admin)
        assert status == 204
        status, data, _ = self.call("GET", "/api/v1/operation-log", token=self.admin)
        actions = [
            (r["username"], r["target"])
            for r in data["items"]
            if r["action"] == "POST /api/v1/agents/{extension}/hangup"
        ]
        assert actions == [
            ("admin", "/api/v1/agents/1004/hangup"),
            ("leader", "/api/v1/agents/1001/hangup"),
        ]


class PhoneMonitorAuthorizationTest(ApiTestCase):
    """The feature codes' check (*90<agent> from a desk phone): CallControlService."""

    def setUp(self) -> None:
        super().setUp()
        self.create_queue("600", "1001")
        self.create_queue("601", "1004")
        self.create_extensions("1002", "1005", "1006")
        users = self.services.users
        users.create_user(
            "leader", "leader-pass", Role.SUPERVISOR, extension="1002", queues=["600"]
        )
        users.create_user("other", "other-pass", Role.SUPERVISOR, extension="1005", queues=["601"])
        users.create_user("agent", "agent-pass", Role.AGENT, extension="1004")
        self.services.calls.attach(FakeController(live_call("1001", "600", "13812345678")))

    def attempt(self, extension: str, agent: str = "1001") -> str | None:
        """None when allowed, else the refusal's code."""
        try:
            self.services.calls.authorize_phone(
                extension, agent, MonitorMode.LISTEN, code=f"*90{agent}", source="127.0.0.9"
            )
        except Exception as exc:  # a ServiceError
            return exc.code  # type: ignore[attr-defined]
        return None

    def test_only_the_agents_supervisor_or_an_admin_may_and_every_attempt_is_logged(self) -> None:
        assert self.attempt("1002") is None  # leader of 600
        assert self.attempt("1005") == "forbidden"  # leads another queue
        assert self.attempt("1004") == "forbidden"  # an agent
        assert self.attempt("1006") == "forbidden"  # no user at all
        assert self.attempt("1002", agent="1009") == "forbidden"  # not of his team
        rows = self.services.oplog.search(limit=10)
        assert [
            (r.username, r.action, r.target, r.client_ip, r.detail.get("reason"))
            for r in reversed(rows)
        ] == [
            ("leader", "phone_monitor", "*901001", "127.0.0.9", None),
            ("other", "phone_monitor_refused", "*901001", "127.0.0.9", "forbidden"),
            ("agent", "phone_monitor_refused", "*901001", "127.0.0.9", "forbidden"),
            ("extension 1006", "phone_monitor_refused", "*901001", "127.0.0.9", "forbidden"),
            ("leader", "phone_monitor_refused", "*901009", "127.0.0.9", "forbidden"),
        ]
