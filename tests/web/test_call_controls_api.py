"""The agent's call controls (issue 7): GET /api/v1/agents/{extension}/call and POST
/call/hold, resume, mute, unmute, transfer, consult, consult/complete, consult/cancel,
conference, with a fake call controller: who may act on which call, the bodies, the errors
and their Chinese. The calls themselves (real phones) are in tests/integration/
test_agent_call_controls.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from pbxd.services import Role
from pbxd.services.calls import (
    BadTargetError,
    BusyError,
    CallPhase,
    ConsultState,
    ConsultView,
    ControlAction,
    ControlStateError,
    LiveCall,
    Misfit,
    UnreachableError,
)

from .apitest import ApiTestCase
from .test_calls_api import FakeController, live_call


def call_path(agent: str, action: str = "") -> str:
    return f"/api/v1/agents/{agent}/call" + (f"/{action}" if action else "")


class ControllingFake(FakeController):
    """FakeController with call controls: records them, changes the fake call's flags."""

    def __init__(self, *calls: LiveCall):
        super().__init__(*calls)
        self.controlled: list[tuple[str, ControlAction, str | None]] = []
        self.internal: set[str] = set()

    def on_internal_call(self, agent: str) -> bool:
        return agent in self.internal

    async def control(self, agent: str, action: ControlAction, target: str | None):
        if self.refuse is not None:
            raise self.refuse
        self.controlled.append((agent, action, target))
        call = self.calls[agent]
        if action in (ControlAction.TRANSFER, ControlAction.COMPLETE):
            del self.calls[agent]
            return None
        if action is ControlAction.HOLD:
            call = replace(call, held=True)
        elif action is ControlAction.CONSULT:
            assert target is not None
            view = ConsultView(target, ConsultState.RINGING, datetime.now(UTC))
            call = replace(call, held=True, phase=CallPhase.CONSULTING, consultation=view)
        self.calls[agent] = call
        return call


class CallControlsApiTest(ApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.admin = self.login()
        self.create_queue("600", "1001", "1003")
        self.create_queue("601", "1004")
        self.create_extensions("1002", "1005")
        self.leader = self.user_token(
            Role.SUPERVISOR, "1002", "leader", queues=["600"], masking="partial"
        )
        self.other = self.user_token(Role.SUPERVISOR, "1005", "other", queues=["601"])
        self.agent = self.user_token(Role.AGENT, "1001", "agent")
        self.agent4 = self.user_token(Role.AGENT, "1004", "agent4")
        self.controller = ControllingFake(
            live_call("1001", "600", "13812345678"), live_call("1004", "601", "13900001111")
        )
        self.services.calls.attach(self.controller)

    def post(self, agent: str, action: str, body=None, token: str | None = None, **kw):
        return self.call("POST", call_path(agent, action), body, token=token or self.agent, **kw)

    def test_the_agent_reads_and_controls_his_own_call(self) -> None:
        status, data, _ = self.call("GET", call_path("1001"), token=self.agent)
        assert status == 200, data
        call = data["call"]
        assert (data["agent"], call["queue"], call["held"], call["muted"], call["phase"]) == (
            "1001", "600", False, False, "talking",
        )  # fmt: skip
        assert call["consultation"] is None
        status, data, _ = self.post("1001", "hold")
        assert (status, data["call"]["held"]) == (200, True), data
        status, data, _ = self.post("1001", "consult", {"to": "1003"})
        assert status == 200, data
        consultation = data["call"]["consultation"]
        assert (data["call"]["phase"], consultation["target"], consultation["state"]) == (
            "consulting", "1003", "ringing",
        )  # fmt: skip
        assert consultation["since"].endswith("Z")
        for action in ("resume", "mute", "unmute", "conference", "consult/cancel"):
            status, data, _ = self.post("1001", action)
            assert status == 200, (action, data)
        status, data, _ = self.post("1001", "consult/complete")
        assert (status, data) == (200, {"agent": "1001", "call": None})
        assert [(a, str(act), t) for a, act, t in self.controller.controlled] == [
            ("1001", "hold", None),
            ("1001", "consult", "1003"),
            ("1001", "resume", None),
            ("1001", "mute", None),
            ("1001", "unmute", None),
            ("1001", "conference", None),
            ("1001", "consult/cancel", None),
            ("1001", "consult/complete", None),
        ]
        status, data, _ = self.call("GET", call_path("1001"), token=self.agent)
        assert (status, data) == (200, {"agent": "1001", "call": None})  # no call: null

    def test_who_may_control_which_call(self) -> None:
        # another agent's call: never, whatever his queue
        error = self.assert_error(self.post("1004", "hold"), 403, "forbidden")
        assert error["message"] == "agent 1004 is not you: an agent controls his own calls"
        self.assert_error(self.call("GET", call_path("1004"), token=self.agent), 403, "forbidden")
        # a supervisor: the calls of his queues' agents; an admin: any
        status, data, _ = self.post("1001", "mute", token=self.leader)
        assert status == 200, data
        assert data["call"]["customer"] == "138****5678"  # masked by the reader's masking
        self.assert_error(self.post("1001", "mute", token=self.other), 403, "forbidden")
        self.assert_error(self.post("1004", "mute", token=self.leader), 403, "forbidden")
        status, data, _ = self.post("1004", "transfer", {"to": "600"}, token=self.admin)
        assert (status, data["call"]) == (200, None), data
        assert self.controller.controlled[-1] == ("1004", ControlAction.TRANSFER, "600")
        # the operation log says who did what (field names only)
        status, data, _ = self.call("GET", "/api/v1/operation-log", token=self.admin)
        rows = [r for r in data["items"] if "/call/" in r["action"]]
        assert [(r["username"], r["action"], r["detail"]["fields"]) for r in rows] == [
            ("admin", "POST /api/v1/agents/{extension}/call/transfer", ["to"]),
            ("leader", "POST /api/v1/agents/{extension}/call/mute", []),
        ]

    def test_no_call_an_internal_call_and_not_running(self) -> None:
        del self.controller.calls["1001"]
        error = self.assert_error(self.post("1001", "hold"), 409, "no_call")
        assert error["message"] == "agent 1001 has no call in progress"
        self.controller.internal.add("1001")
        error = self.assert_error(self.post("1001", "transfer", {"to": "1003"}), 409,
                                  "internal_call")  # fmt: skip
        assert error["message"] == (
            "agent 1001 is on an internal call: it cannot be held, transferred or muted"
        )
        assert self.controller.controlled == []
        self.services.calls.attach(None)
        self.assert_error(self.post("1001", "hold"), 503, "not_running")
        self.assert_error(self.call("GET", call_path("1001"), token=self.agent), 503, "not_running")

    def test_bodies(self) -> None:
        for action, body, field in (
            ("transfer", {}, "to"),
            ("transfer", {"to": 1003}, "to"),
            ("consult", {"to": "10a3"}, "to"),
            ("consult", {"to": "1" * 33}, "to"),
            ("consult", {"to": "1003", "x": 1}, "x"),
            ("hold", {"to": "1003"}, "to"),  # hold takes no number
        ):
            error = self.assert_error(self.post("1001", action, body), 400, "invalid")
            assert error["field"] == field, (action, body, error)
        self.assert_error(self.post("1001", "park"), 404, "not_found")
        assert self.controller.controlled == []

    def test_what_call_control_refuses(self) -> None:
        cases = (
            (ControlStateError("x", action="consult/complete", phase="talking",
                               why=Misfit.NO_CONSULTATION),  # fmt: skip
             409, "call_state", "agent 1001 has no consultation in progress"),
            (ControlStateError("x", action="consult/complete", phase="consult_ringing",
                               why=Misfit.NOT_ANSWERED),  # fmt: skip
             409, "call_state", "the extension agent 1001 consults has not answered yet"),
            (BadTargetError("x", own=True), 422, "bad_target",
             "1003 is a party of the call already"),
            (BadTargetError("x", kind="ring_group"), 422, "bad_target",
             "1003 is a ring_group: a call is transferred to an extension or a queue"),
            (BadTargetError("x"), 422, "bad_target",
             "1003 is no extension or queue of this system"),
            (BusyError("x"), 409, "target_unavailable", "extension 1003 is on a customer call"),
            (UnreachableError("x", registered=False), 409, "target_unavailable",
             "extension 1003 is not registered: no phone to ring"),
        )  # fmt: skip
        for refusal, status, code, message in cases:
            self.controller.refuse = refusal
            error = self.assert_error(self.post("1001", "transfer", {"to": "1003"}), status, code)
            assert error["message"] == message, refusal

    def test_refusals_in_chinese(self) -> None:
        chinese = {"Accept-Language": "zh-CN"}
        self.controller.refuse = ControlStateError(
            "x", action="hold", phase="conference", why=Misfit.CONFERENCE
        )
        status, data, _ = self.post("1001", "hold", headers=chinese)
        assert (status, data["error"]["message"]) == (
            409, "坐席 1001 正在三方通话：请先退出（完成转移）或挂断第三方（取消）",
        )  # fmt: skip
        self.controller.refuse = BadTargetError("x", kind="ring_group")
        status, data, _ = self.post("1001", "transfer", {"to": "700"}, headers=chinese)
        assert (status, data["error"]["message"]) == (422, "700 是振铃组：通话只能转移到分机或队列")
        status, data, _ = self.post("1001", "consult", {"to": "x"}, headers=chinese)
        assert (status, data["error"]["message"]) == (400, "目标号码：应为分机号或队列号（数字）")
