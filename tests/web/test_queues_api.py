"""/api/v1/queues: defaults, validation across the dial plan, loops, deletion in use, roles."""

from __future__ import annotations

from pbxd.services import Role

from .ccapi import CallCenterApiTestCase

QUEUES = "/api/v1/queues"


class QueuesApiTest(CallCenterApiTestCase):
    def test_create_with_defaults_then_read_update_delete(self) -> None:
        body = {"number": "600", "name": "Sales", "members": [{"extension": "1001"}]}
        data = self.assert_created(
            self.call("POST", QUEUES, body, token=self.token), QUEUES, "number"
        )
        assert data == {
            "number": "600",
            "name": "Sales",
            "strategy": "ringall",
            "members": [{"extension": "1001", "penalty": 0}],
            "timeout": 15,
            "retry": 5,
            "wrapup": 10,
            "max_wait": 300,
            "max_length": 20,
            "overflow": None,
            "join_empty": True,
            "leave_when_empty": False,
            "welcome_prompt": None,
            "music": None,
            "announce_position": False,
            "announce_wait": False,
            "periodic_prompt": None,
            "periodic_interval": 60,
            "announce_agent_id": False,
            "recording": "none",
            "voicemail": False,
            "survey": False,
        }
        assert self.call("GET", f"{QUEUES}/600", token=self.token)[1] == data
        assert self.call("GET", QUEUES, token=self.token)[1] == {"items": [data]}

        status, updated, _ = self.call(
            "PUT",
            f"{QUEUES}/600",
            {
                "strategy": "leastrecent",
                "members": [{"extension": "1002", "penalty": 2}, "1003"],
                "overflow": "voicemail:600",
                "music": "jazz",
                "voicemail": True,
            },
            token=self.token,
        )
        assert status == 200, updated
        assert updated == {
            **data,
            "strategy": "leastrecent",
            "members": [{"extension": "1002", "penalty": 2}, {"extension": "1003", "penalty": 0}],
            "overflow": "voicemail:600",
            "music": "jazz",
            "voicemail": True,
        }
        # null clears an optional field
        status, cleared, _ = self.call(
            "PUT", f"{QUEUES}/600", {"music": None, "overflow": None}, token=self.token
        )
        assert (status, cleared["music"], cleared["overflow"]) == (200, None, None)

        assert self.call("DELETE", f"{QUEUES}/600", token=self.token)[:2] == (204, None)
        self.error("GET", f"{QUEUES}/600", None, 404, "not_found")
        self.error("DELETE", f"{QUEUES}/600", None, 404, "not_found")
        self.error("PUT", f"{QUEUES}/600", {"name": "x"}, 404, "not_found")
        # members are gone with the queue: the extension can be deleted now
        assert self.call("DELETE", "/api/v1/extensions/1002", token=self.token)[0] == 204

    def test_validation_names_the_field(self) -> None:
        base = {"number": "600"}
        cases = [
            ({"name": "no number"}, "number", "required"),
            ({**base, "number": "6"}, "number", "2 to 6 digits"),
            ({**base, "strategy": "roundrobin"}, "strategy", "ringall"),
            ({**base, "timeout": 0}, "timeout", "1..600"),
            ({**base, "timeout": "15"}, "timeout", "integer"),
            ({**base, "max_wait": -1}, "max_wait", "0..86400"),
            ({**base, "join_empty": "yes"}, "join_empty", "true or false"),
            ({**base, "recording": "some"}, "recording", "none"),
            ({**base, "members": "1001"}, "members", "array"),
            ({**base, "members": [{"extension": "1001", "level": 1}]}, "members", "each member"),
            ({**base, "members": ["1001", "1001"]}, "members", "twice"),
            ({**base, "members": [{"extension": "1001", "penalty": 101}]}, "members", "0..100"),
            ({**base, "members": ["1009"]}, "members", "no extension 1009"),
            ({**base, "overflow": "fax:1"}, "overflow", "unknown destination kind"),
            ({**base, "overflow": "queue"}, "overflow", "needs a target"),
            ({**base, "overflow": "queue:601"}, "overflow", "no queue:601 exists"),
            ({**base, "welcome_prompt": " "}, "welcome_prompt", "blank"),
            ({**base, "colour": "red"}, "colour", "unknown field"),
        ]
        self.assert_invalid(QUEUES, cases)
        assert self.call("GET", QUEUES, token=self.token)[1] == {"items": []}

    def test_numbers_are_unique_across_the_dial_plan(self) -> None:
        self.create(QUEUES, {"number": "600"})
        message = self.error("POST", QUEUES, {"number": "600"}, 409, "exists", "number")
        assert "queue 600" in message
        message = self.error("POST", QUEUES, {"number": "1001"}, 409, "exists", "number")
        assert "extension 1001" in message
        self.create("/api/v1/ring-groups", {"number": "700"})
        self.create("/api/v1/conferences", {"number": "800"})
        self.create("/api/v1/ivrs", {"name": "main", "number": "500", "prompt": "hello"})
        for number, owner in (("700", "ring group 700"), ("800", "conference 800")):
            assert owner in self.error("POST", QUEUES, {"number": number}, 409, "exists")
        assert "ivr main" in self.error("POST", QUEUES, {"number": "500"}, 409, "exists")
        # and the other way round: an extension may not take a queue's number
        body = {"number": "600", "name": "X", "secret": "secret-600-pw"}
        message = self.error("POST", "/api/v1/extensions", body, 409, "exists", "number")
        assert "queue 600" in message

    def test_number_cannot_change(self) -> None:
        self.create(QUEUES, {"number": "600"})
        self.error("PUT", f"{QUEUES}/600", {"number": "601"}, 400, "invalid", "number")
        self.error("PUT", f"{QUEUES}/600", {}, 400, "invalid")

    def test_automatic_loop_is_refused_with_its_path(self) -> None:
        self.create(QUEUES, {"number": "600"})
        self.create("/api/v1/ring-groups", {"number": "700", "failover": "queue:600"})
        message = self.error(
            "PUT", f"{QUEUES}/600", {"overflow": "ring_group:700"}, 400, "loop", "overflow"
        )
        assert "queue 600 -> ring_group 700 -> queue 600" in message
        assert self.call("GET", f"{QUEUES}/600", token=self.token)[1]["overflow"] is None
        # a queue overflowing into itself is a loop too
        message = self.error(
            "POST", QUEUES, {"number": "601", "overflow": "queue:601"}, 400, "loop"
        )
        assert "queue 601 -> queue 601" in message

    def test_delete_in_use_names_the_users(self) -> None:
        self.create(QUEUES, {"number": "600", "members": ["1001"]})
        self.create("/api/v1/ivrs", {"name": "main", "prompt": "hi", "keys": {"1": "queue:600"}})
        self.create("/api/v1/inbound-routes", {"did": "*", "destination": "queue:600"})
        self.create(QUEUES, {"number": "601", "overflow": "voicemail:600"})
        message = self.error("DELETE", f"{QUEUES}/600", None, 409, "in_use")
        for user in ("ivr main key 1", "route * destination", "queue 601 overflow"):
            assert user in message, message
        message = self.error("DELETE", "/api/v1/extensions/1001", None, 409, "in_use")
        assert "member of queue 600" in message
        assert self.services.extensions.get("1001").number == "1001"

    def test_roles(self) -> None:
        self.create(QUEUES, {"number": "600"})
        supervisor = self.user_token(Role.SUPERVISOR)
        agent = self.user_token(Role.AGENT, "1001")
        assert self.call("GET", QUEUES, token=supervisor)[0] == 200
        assert self.call("GET", f"{QUEUES}/600", token=supervisor)[0] == 200
        for token in (supervisor, agent):
            self.error("POST", QUEUES, {"number": "601"}, 403, "forbidden", token=token)
            self.error("PUT", f"{QUEUES}/600", {"name": "x"}, 403, "forbidden", token=token)
            self.error("DELETE", f"{QUEUES}/600", None, 403, "forbidden", token=token)
        self.error("GET", QUEUES, None, 403, "forbidden", token=agent)
        self.assert_error(self.call("GET", QUEUES), 401, "unauthorized")

    def test_changes_reach_subscribers(self) -> None:
        heard = []
        self.services.queues.subscribe(lambda *change: heard.append(change))
        self.create(QUEUES, {"number": "600"})
        self.call("PUT", f"{QUEUES}/600", {"name": "Support"}, token=self.token)
        self.error("PUT", f"{QUEUES}/600", {"timeout": 0}, 400, "invalid")
        self.call("DELETE", f"{QUEUES}/600", token=self.token)
        assert heard == [("queue", "600", False), ("queue", "600", False), ("queue", "600", True)]
