"""/api/v1/agents: login, logout, pause, unpause; an agent acts on his own extension only."""

from __future__ import annotations

from datetime import UTC, datetime

from pbxd.services import LiveAgent, Role, build_services

from .ccapi import CallCenterApiTestCase

AGENTS = "/api/v1/agents"
SINCE = "2024-05-01T08:00:00Z"  # the test wall clock


class AgentsApiTest(CallCenterApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.create("/api/v1/queues", {"number": "600", "members": ["1001"]})
        self.create("/api/v1/queues", {"number": "601"})

    def agent(self, extension: str) -> dict:
        status, data, _ = self.call("GET", f"{AGENTS}/{extension}", token=self.token)
        assert status == 200, data
        return data

    def test_static_member_is_logged_in_from_the_start(self) -> None:
        assert self.agent("1001") == {
            "extension": "1001",
            "name": "Agent 1001",
            "logged_in": True,
            "queues": [{"queue": "600", "static": True, "penalty": 0, "since": None}],
            "paused": False,
            "pause_reason": None,
            "paused_since": None,
            "state": "idle",
            "state_since": None,
            "call_queue": None,
        }
        assert (self.agent("1002")["logged_in"], self.agent("1002")["state"]) == (
            False,
            "logged_out",
        )
        items = self.call("GET", AGENTS, token=self.token)[1]["items"]
        assert [item["extension"] for item in items] == ["1001"]
        self.error("GET", f"{AGENTS}/1999", None, 404, "not_found")

    def test_login_pause_unpause_logout(self) -> None:
        status, data, _ = self.call(
            "POST", f"{AGENTS}/1002/login", {"queues": ["601"]}, token=self.token
        )
        assert status == 200, data
        assert data["logged_in"] is True
        assert data["queues"] == [{"queue": "601", "static": False, "penalty": 0, "since": SINCE}]

        data = self.call("POST", f"{AGENTS}/1002/pause", {"reason": "lunch"}, token=self.token)[1]
        assert (data["paused"], data["pause_reason"], data["paused_since"]) == (
            True,
            "lunch",
            SINCE,
        )
        assert (data["state"], data["state_since"]) == ("paused", SINCE)
        assert self.services.agents.for_queue("601") == []

        data = self.call("POST", f"{AGENTS}/1002/unpause", token=self.token)[1]
        assert (data["paused"], data["pause_reason"]) == (False, None)
        assert self.services.agents.for_queue("601") == [("1002", 0)]

        # no `queues`: every queue
        data = self.call("POST", f"{AGENTS}/1002/login", token=self.token)[1]
        assert [q["queue"] for q in data["queues"]] == ["600", "601"]
        data = self.call("POST", f"{AGENTS}/1002/logout", {"queues": ["600"]}, token=self.token)[1]
        assert [q["queue"] for q in data["queues"]] == ["601"]
        self.call("POST", f"{AGENTS}/1002/pause", token=self.token)
        data = self.call("POST", f"{AGENTS}/1002/logout", token=self.token)[1]
        assert (data["logged_in"], data["queues"], data["paused"]) == (False, [], False)
        items = self.call("GET", AGENTS, token=self.token)[1]["items"]
        assert [item["extension"] for item in items] == ["1001"]

    def test_action_errors(self) -> None:
        message = self.error("POST", f"{AGENTS}/1002/pause", {}, 409, "wrong_state")
        assert "not logged in" in message
        message = self.error(
            "POST", f"{AGENTS}/1002/login", {"queues": ["609"]}, 400, "invalid", "queues"
        )
        assert "no queue 609" in message
        self.error("POST", f"{AGENTS}/1002/login", {"queues": "600"}, 400, "invalid", "queues")
        self.error("POST", f"{AGENTS}/1002/login", {"queues": []}, 400, "invalid", "queues")
        self.error("POST", f"{AGENTS}/1002/login", {"queue": "600"}, 400, "invalid", "queue")
        self.error("POST", f"{AGENTS}/1002/pause", {"reason": 7}, 400, "invalid", "reason")
        self.error("POST", f"{AGENTS}/1999/login", {}, 404, "not_found")
        # a static member cannot log out of the queue that lists him
        message = self.error(
            "POST", f"{AGENTS}/1001/logout", {"queues": ["600"]}, 409, "wrong_state", "queues"
        )
        assert "static member of queue 600" in message
        data = self.call("POST", f"{AGENTS}/1001/logout", token=self.token)[1]
        assert data["queues"][0]["queue"] == "600"

    def test_agent_acts_on_himself_only_supervisor_on_his_team(self) -> None:
        agent = self.user_token(Role.AGENT, "1002")
        status, data, _ = self.call(
            "POST", f"{AGENTS}/1002/login", {"queues": ["601"]}, token=agent
        )
        assert (status, data["logged_in"]) == (200, True)
        assert self.call("POST", f"{AGENTS}/1002/pause", {"reason": "2"}, token=agent)[0] == 200
        assert self.call("POST", f"{AGENTS}/1002/unpause", token=agent)[0] == 200
        assert self.call("GET", f"{AGENTS}/1002", token=agent)[0] == 200
        assert self.call("POST", f"{AGENTS}/1002/logout", token=agent)[0] == 200
        for action in ("login", "logout", "pause", "unpause"):
            message = self.error(
                "POST", f"{AGENTS}/1001/{action}", {}, 403, "forbidden", token=agent
            )
            assert "own extension (1002)" in message
        self.error("GET", f"{AGENTS}/1001", None, 403, "forbidden", token=agent)
        self.error("GET", AGENTS, None, 403, "forbidden", token=agent)
        self.error("POST", "/api/v1/queues", {"number": "602"}, 403, "forbidden", token=agent)
        assert self.agent("1001")["paused"] is False

        unlinked = self.user_token(Role.AGENT, None, name="drifter")
        message = self.error("POST", f"{AGENTS}/1002/login", {}, 403, "forbidden", token=unlinked)
        assert "linked to no extension" in message

        # A supervisor acts on the agents of the queues he leads (1001 in 600), not on others
        # (tests/web/test_scope.py has the details).
        supervisor = self.supervisor_token("600", name="lead")
        assert self.call("GET", AGENTS, token=supervisor)[0] == 200
        data = self.call("POST", f"{AGENTS}/1001/pause", {"reason": "meeting"}, token=supervisor)[1]
        assert data["pause_reason"] == "meeting"
        self.error("POST", f"{AGENTS}/1003/login", {}, 403, "forbidden", token=supervisor)

    def test_listener_hears_each_change_and_state_survives_a_restart(self) -> None:
        heard = []
        self.services.agents.subscribe(
            lambda view: heard.append((view.extension, view.logged_in, view.paused))
        )
        self.call("POST", f"{AGENTS}/1002/login", {"queues": ["601"]}, token=self.token)
        self.call("POST", f"{AGENTS}/1002/pause", {"reason": "lunch"}, token=self.token)
        self.call("POST", f"{AGENTS}/1003/unpause", token=self.token)  # no change: no call
        assert heard == [("1002", True, False), ("1002", True, True)]

        self.services.close()
        self.services = build_services(self.data_dir, clock=self.wall)
        view = self.services.agents.get("1002")
        assert ([q.queue for q in view.queues], view.paused, view.pause_reason) == (
            ["601"],
            True,
            "lunch",
        )

    def test_deleting_a_queue_or_extension_drops_logins(self) -> None:
        self.call("POST", f"{AGENTS}/1002/login", {"queues": ["601"]}, token=self.token)
        assert self.call("DELETE", "/api/v1/queues/601", token=self.token)[0] == 204
        assert self.agent("1002")["logged_in"] is False
        self.call("POST", f"{AGENTS}/1003/login", {"queues": ["600"]}, token=self.token)
        assert self.call("DELETE", "/api/v1/extensions/1003", token=self.token)[0] == 204
        assert self.services.agents.for_queue("600") == [("1001", 0)]

    def test_live_state_comes_from_call_control(self) -> None:
        ringing_since = datetime(2024, 5, 1, 8, 0, 5, tzinfo=UTC)
        live = {"1001": LiveAgent("ringing", ringing_since, "600")}
        self.services.agents.show_live_state(live.get)
        data = self.agent("1001")
        assert (data["state"], data["state_since"], data["call_queue"]) == (
            "ringing",
            "2024-05-01T08:00:05Z",
            "600",
        )
        # an agent call control does not know yet: what the database says
        self.call("POST", f"{AGENTS}/1002/login", {"queues": ["601"]}, token=self.token)
        assert self.agent("1002")["state"] == "idle"
        self.services.agents.show_live_state(None)
        assert self.agent("1001")["state"] == "idle"
