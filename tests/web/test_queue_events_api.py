from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote, urlencode

from pbxd.services import QueueEventEntry, Role
from pbxd.services.history import QueueEventType

from ..db.historydata import T0, queue_call
from .apitest import ApiTestCase


class QueueEventsApiTest(ApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.admin = self.login()
        self.services.history.append_events(
            [QueueEventEntry(T0, QueueEventType.LOGIN, agent="1001", queue="600")]
        )
        self.services.history.record_call(queue_call(1, agent="1001"))
        self.services.history.record_call(queue_call(2, agent=None, queue="601"))
        self.services.history.append_events(
            [
                QueueEventEntry(
                    T0 + timedelta(minutes=3), "PAUSE", agent="1001", data={"reason": "lunch"}
                )
            ]
        )

    def events(self, token: str | None = None, **params: str) -> list[tuple[str, str | None]]:
        status, data, _ = self.call(
            "GET", "/api/v1/queue-events?" + urlencode(params), token=token or self.admin
        )
        assert status == 200, data
        return [(item["event"], item["agent"]) for item in data["items"]]

    def test_events_oldest_first_with_filters(self) -> None:
        status, data, _ = self.call("GET", "/api/v1/queue-events?limit=2", token=self.admin)
        assert status == 200
        assert data["items"][0] == {
            "id": data["items"][0]["id"],
            "time": "2024-05-01T08:00:00Z",
            "call_id": None,
            "queue": "600",
            "agent": "1001",
            "event": "LOGIN",
            "data": {},
        }
        assert data["items"][1]["call_id"] == "call-1@pbx"
        assert self.events(queue="601") == [("ENTER", None), ("ABANDON", None)]
        assert self.events(agent="1001", event="CONNECT") == [("CONNECT", "1001")]
        assert self.events(**{"from": "2024-05-01T08:02:00Z"}) == [
            ("ENTER", None),
            ("ABANDON", None),
            ("PAUSE", "1001"),
        ]
        assert self.events(to="2024-05-01T08:01:00Z") == [("LOGIN", "1001")]
        assert self.events(call_id="call-2@pbx") == [("ENTER", None), ("ABANDON", None)]
        assert self.events(limit="1", offset="6") == [("ABANDON", None)]
        # The supervisor of queue 600 sees the pause of its agent 1001 (no queue on the event).
        self.create_queue("600", "1001")
        status, data, _ = self.call(
            "GET", "/api/v1/queue-events?event=PAUSE", token=self.supervisor_token("600")
        )
        assert (status, data["items"][0]["data"]) == (200, {"reason": "lunch"})

    def test_bad_parameters_and_roles(self) -> None:
        cases = [
            ({"event": "NAP"}, "event"),
            ({"from": "8 am"}, "from"),
            ({"limit": "10001"}, "limit"),
            ({"agnet": "1001"}, "agnet"),
        ]
        self.assert_bad_params("/api/v1/queue-events", cases, self.admin)
        agent = self.token_for(Role.AGENT)
        self.assert_error(self.call("GET", "/api/v1/queue-events", token=agent), 403, "forbidden")
        result = self.call("GET", "/api/v1/cdr/call-1@pbx/legs", token=agent)
        self.assert_error(result, 403, "forbidden")


class CallLegsApiTest(ApiTestCase):
    def test_legs_and_details_of_a_call(self) -> None:
        self.create_queue("600", "1001")
        token = self.supervisor_token("600")  # the call is one of his queue's
        self.services.history.record_call(queue_call(1, agent="1001"))
        status, data, _ = self.call(
            "GET", "/api/v1/cdr/" + quote("call-1@pbx") + "/legs", token=token
        )
        assert status == 200
        assert data["call_id"] == "call-1@pbx"
        assert data["details"] == [
            {
                "cdr_id": data["details"][0]["cdr_id"],
                "queue": "600",
                "wait": 8,
                "agent": "1001",
                "recording": None,
                "survey": "satisfied",
                "survey_reason": None,
            }
        ]
        assert [
            (leg["leg"], leg["direction"], leg["party"], leg["peer_kind"], leg["peer"])
            for leg in data["items"]
        ] == [
            ("a", "inbound", "13800138000", "trunk", "telecom"),
            ("b1", "internal", "1001", "extension", "1001"),
        ]
        assert data["items"][1]["answer"] == "2024-05-01T08:01:10Z"
        assert data["items"][1]["disposition"] == "ANSWERED"
        # The CDR list shows the same call, with the new ABANDONED disposition allowed.
        self.services.history.record_call(queue_call(2, agent=None))
        status, data, _ = self.call("GET", "/api/v1/cdr", token=token)
        assert [item["disposition"] for item in data["items"]] == ["ABANDONED", "ANSWERED"]

    def test_unknown_call_is_a_json_404(self) -> None:
        token = self.login()
        result = self.call("GET", "/api/v1/cdr/nope%2F..%2Fx/legs", token=token)
        self.assert_error(result, 404, "not_found")
