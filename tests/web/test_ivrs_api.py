"""/api/v1/ivrs: keys, defaults, chosen versus automatic loops, numbers, deletion in use."""

from __future__ import annotations

from pbxd.services import Role

from .ccapi import CallCenterApiTestCase

IVRS = "/api/v1/ivrs"


class IvrsApiTest(CallCenterApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.create("/api/v1/queues", {"number": "600"})

    def test_create_defaults_update_delete(self) -> None:
        body = {"name": "main", "prompt": "welcome", "keys": {"*": "repeat", "1": " queue:600"}}
        data = self.assert_created(self.call("POST", IVRS, body, token=self.token), IVRS, "name")
        assert data == {
            "name": "main",
            "number": None,
            "prompt": "welcome",
            "keys": {"1": "queue:600", "*": "repeat"},
            "dial_extension": False,
            "timeout": 5,
            "retries": 2,
            "invalid_prompt": None,
            "timeout_destination": None,
            "invalid_destination": None,
        }
        self.create(IVRS, {"name": "sales", "prompt": "sales-menu", "keys": {"0": "ivr:main"}})
        status, data, _ = self.call(
            "PUT",
            f"{IVRS}/main",
            {
                "number": "500",
                "keys": {"1": "queue:600", "2": "ivr:sales", "#": "extension:1001"},
                "dial_extension": True,
                "timeout_destination": "voicemail:1001",
                "invalid_destination": "hangup",
            },
            token=self.token,
        )
        assert status == 200, data
        assert data["keys"] == {"1": "queue:600", "2": "ivr:sales", "#": "extension:1001"}
        assert (data["number"], data["timeout_destination"]) == ("500", "voicemail:1001")
        items = self.call("GET", IVRS, token=self.token)[1]["items"]
        assert [item["name"] for item in items] == ["main", "sales"]
        # an IVR's number is in the dial plan
        body = {"number": "500", "name": "X", "secret": "secret-500-pw"}
        message = self.error("POST", "/api/v1/extensions", body, 409, "exists", "number")
        assert "ivr main" in message
        # keeping its own number on update is fine
        assert self.call("PUT", f"{IVRS}/main", {"number": "500"}, token=self.token)[0] == 200

        message = self.error("DELETE", f"{IVRS}/sales", None, 409, "in_use")
        assert "ivr main key 2" in message
        message = self.error("DELETE", f"{IVRS}/main", None, 409, "in_use")
        assert "ivr sales key 0" in message
        assert self.call("PUT", f"{IVRS}/sales", {"keys": {}}, token=self.token)[0] == 200
        assert self.call("DELETE", f"{IVRS}/main", token=self.token)[0] == 204
        assert self.call("DELETE", f"{IVRS}/sales", token=self.token)[0] == 204
        self.error("GET", f"{IVRS}/main", None, 404, "not_found")

    def test_validation(self) -> None:
        base = {"name": "main", "prompt": "welcome"}
        cases = [
            ({"prompt": "welcome"}, "name", "required"),
            ({"name": "main"}, "prompt", "required"),
            ({**base, "name": "main menu"}, "name", "letters, digits"),
            ({**base, "prompt": None}, "prompt", "required"),
            ({**base, "number": "5"}, "number", "2 to 6 digits"),
            ({**base, "keys": ["1"]}, "keys", "object"),
            ({**base, "keys": {"A": "hangup"}}, "keys", "not a key"),
            ({**base, "keys": {"12": "hangup"}}, "keys", "not a key"),
            ({**base, "keys": {"1": "queue:601"}}, "keys", "no queue:601 exists"),
            ({**base, "keys": {"1": 600}}, "keys", "kind:target"),
            ({**base, "timeout": 0}, "timeout", "1..60"),
            ({**base, "retries": 11}, "retries", "0..10"),
            ({**base, "dial_extension": 1}, "dial_extension", "true or false"),
            ({**base, "timeout_destination": "ivr:other"}, "timeout_destination", "no ivr:other"),
            ({**base, "invalid_destination": "hangup:now"}, "invalid_destination", "no target"),
        ]
        self.assert_invalid(IVRS, cases)
        self.create("/api/v1/conferences", {"number": "800"})
        message = self.error("POST", IVRS, {**base, "number": "800"}, 409, "exists", "number")
        assert "conference 800" in message
        self.create(IVRS, base)
        self.error("POST", IVRS, base, 409, "exists", "name")
        self.error("PUT", f"{IVRS}/main", {"name": "other"}, 400, "invalid", "name")

    def test_keys_may_loop_automatic_steps_may_not(self) -> None:
        # A key back to the same menu, or between menus, is the caller's choice: allowed.
        self.create(IVRS, {"name": "main", "prompt": "p", "keys": {"9": "ivr:main"}})
        self.create(IVRS, {"name": "sales", "prompt": "p", "keys": {"0": "ivr:main"}})
        self.call("PUT", f"{IVRS}/main", {"keys": {"1": "ivr:sales"}}, token=self.token)
        # A timeout that falls back into the menu that sent the caller: refused.
        self.call("PUT", f"{IVRS}/main", {"timeout_destination": "ivr:sales"}, token=self.token)
        message = self.error(
            "PUT",
            f"{IVRS}/sales",
            {"invalid_destination": "ivr:main"},
            400,
            "loop",
            "invalid_destination",
        )
        assert "ivr main -> ivr sales -> ivr main" in message or (
            "ivr sales -> ivr main -> ivr sales" in message
        )
        message = self.error(
            "POST",
            IVRS,
            {"name": "again", "prompt": "p", "timeout_destination": "ivr:again"},
            400,
            "loop",
        )
        assert "ivr again -> ivr again" in message
        # through a queue overflow
        self.call("PUT", "/api/v1/queues/600", {"overflow": "ivr:main"}, token=self.token)
        message = self.error(
            "PUT", f"{IVRS}/main", {"timeout_destination": "queue:600"}, 400, "loop"
        )
        assert "ivr main -> queue 600 -> ivr main" in message

    def test_supervisor_reads_agent_does_not(self) -> None:
        self.create(IVRS, {"name": "main", "prompt": "p"})
        supervisor = self.user_token(Role.SUPERVISOR)
        agent = self.user_token(Role.AGENT, "1001")
        assert self.call("GET", f"{IVRS}/main", token=supervisor)[0] == 200
        self.error("PUT", f"{IVRS}/main", {"prompt": "x"}, 403, "forbidden", token=supervisor)
        self.error("GET", IVRS, None, 403, "forbidden", token=agent)
        self.error("POST", IVRS, {"name": "x", "prompt": "p"}, 403, "forbidden", token=agent)
