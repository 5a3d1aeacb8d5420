"""/api/v1/ring-groups and /api/v1/conferences."""

from __future__ import annotations

from pbxd.services import Role

from .ccapi import CallCenterApiTestCase

GROUPS = "/api/v1/ring-groups"
ROOMS = "/api/v1/conferences"


class RingGroupsApiTest(CallCenterApiTestCase):
    def test_create_defaults_update_delete(self) -> None:
        body = {"number": "700", "members": ["1002", "1001"]}
        data = self.assert_created(
            self.call("POST", GROUPS, body, token=self.token), GROUPS, "number"
        )
        assert data == {
            "number": "700",
            "name": "",
            "strategy": "ringall",
            "members": ["1002", "1001"],
            "timeout": 20,
            "failover": None,
        }
        status, data, _ = self.call(
            "PUT",
            f"{GROUPS}/700",
            {"strategy": "order", "members": ["1003"], "timeout": 10, "failover": "voicemail:1001"},
            token=self.token,
        )
        assert status == 200, data
        assert (data["strategy"], data["members"], data["failover"]) == (
            "order",
            ["1003"],
            "voicemail:1001",
        )
        # 1002 is no member any more; 1003 is, and 1001's mailbox is the failover
        assert self.call("DELETE", "/api/v1/extensions/1002", token=self.token)[0] == 204
        message = self.error("DELETE", "/api/v1/extensions/1003", None, 409, "in_use")
        assert "member of ring group 700" in message
        message = self.error("DELETE", "/api/v1/extensions/1001", None, 409, "in_use")
        assert "ring_group 700 failover" in message
        self.create("/api/v1/inbound-routes", {"did": "*", "destination": "ring_group:700"})
        message = self.error("DELETE", f"{GROUPS}/700", None, 409, "in_use")
        assert "route * destination" in message

    def test_validation_and_loops(self) -> None:
        base = {"number": "700"}
        cases = [
            ({**base, "strategy": "random"}, "strategy", "ringall, order"),
            ({**base, "members": ["1001", "1001"]}, "members", "twice"),
            ({**base, "members": ["1009"]}, "members", "no extension 1009"),
            ({**base, "members": [1001]}, "members", "2 to 6 digits"),
            ({**base, "timeout": 601}, "timeout", "1..600"),
            ({**base, "failover": "ring_group:701"}, "failover", "no ring_group:701"),
        ]
        self.assert_invalid(GROUPS, cases)
        self.create(GROUPS, {"number": "700"})
        self.create(GROUPS, {"number": "701", "failover": "ring_group:700"})
        message = self.error(
            "PUT", f"{GROUPS}/700", {"failover": "ring_group:701"}, 400, "loop", "failover"
        )
        assert "ring_group 700 -> ring_group 701 -> ring_group 700" in message
        message = self.error("POST", GROUPS, {"number": "1001"}, 409, "exists", "number")
        assert "extension 1001" in message


class ConferencesApiTest(CallCenterApiTestCase):
    def test_create_defaults_update_delete(self) -> None:
        data = self.create(ROOMS, {"number": "800", "name": "Team"})
        assert data == {
            "number": "800",
            "name": "Team",
            "pin": None,
            "moderator_pin": None,
            "max_members": 10,
        }
        status, data, _ = self.call(
            "PUT", f"{ROOMS}/800", {"pin": "1234", "moderator_pin": "9999"}, token=self.token
        )
        assert (status, data["pin"], data["moderator_pin"]) == (200, "1234", "9999")
        self.create(
            "/api/v1/ivrs", {"name": "main", "prompt": "p", "keys": {"8": "conference:800"}}
        )
        message = self.error("DELETE", f"{ROOMS}/800", None, 409, "in_use")
        assert "ivr main key 8" in message
        self.call("DELETE", "/api/v1/ivrs/main", token=self.token)
        assert self.call("DELETE", f"{ROOMS}/800", token=self.token)[0] == 204

    def test_validation(self) -> None:
        base = {"number": "800"}
        cases = [
            ({**base, "pin": 1234}, "pin", "1 to 12 digits"),
            ({**base, "pin": "12a4"}, "pin", "1 to 12 digits"),
            ({**base, "pin": "1234", "moderator_pin": "1234"}, "moderator_pin", "differ"),
            ({**base, "max_members": 1}, "max_members", "2..32"),
            ({**base, "max_members": 100}, "max_members", "2..32"),
        ]
        self.assert_invalid(ROOMS, cases)
        self.create(GROUPS, {"number": "800"})
        assert "ring group 800" in self.error("POST", ROOMS, base, 409, "exists", "number")

    def test_roles(self) -> None:
        self.create(ROOMS, {"number": "800"})
        agent = self.user_token(Role.AGENT, "1001")
        supervisor = self.user_token(Role.SUPERVISOR)
        self.error("GET", ROOMS, None, 403, "forbidden", token=agent)
        assert self.call("GET", ROOMS, token=supervisor)[0] == 200
        self.error("POST", ROOMS, {"number": "801"}, 403, "forbidden", token=supervisor)
