"""/api/v1/inbound-routes and /api/v1/trunks."""

from __future__ import annotations

from pbxd.services import Role

from .ccapi import CallCenterApiTestCase

ROUTES = "/api/v1/inbound-routes"
TRUNKS = "/api/v1/trunks"
OFFICE_HOURS = {
    "hours": [{"days": [1, 2, 3, 4, 5], "from": "09:00", "to": "18:00"}],
    "holidays": ["2026-10-01"],
    "timezone": "Asia/Shanghai",
}


class InboundRoutesApiTest(CallCenterApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.create("/api/v1/queues", {"number": "600"})

    def test_create_read_update_delete(self) -> None:
        body = {
            "did": "4008001234",
            "destination": "queue:600",
            "time_condition": OFFICE_HOURS,
            "closed_destination": "voicemail:600",
        }
        data = self.assert_created(self.call("POST", ROUTES, body, token=self.token), ROUTES)
        route_id = data["id"]
        assert data == {
            "id": route_id,
            "did": "4008001234",
            "destination": "queue:600",
            "time_condition": OFFICE_HOURS,
            "closed_destination": "voicemail:600",
        }
        fallback = self.create(ROUTES, {"did": "*", "destination": "extension:1001"})
        assert fallback["time_condition"] is None and fallback["closed_destination"] is None
        items = self.call("GET", ROUTES, token=self.token)[1]["items"]
        assert [item["did"] for item in items] == ["*", "4008001234"]
        assert self.services.inbound_routes.route_for("4008001234").id == route_id
        assert self.services.inbound_routes.route_for("999").did == "*"

        status, data, _ = self.call(
            "PUT",
            f"{ROUTES}/{route_id}",
            {"did": "+864008001234", "time_condition": None},
            token=self.token,
        )
        assert (status, data["did"], data["time_condition"]) == (200, "+864008001234", None)
        assert self.call("DELETE", f"{ROUTES}/{route_id}", token=self.token)[0] == 204
        self.error("GET", f"{ROUTES}/{route_id}", None, 404, "not_found")
        self.error("GET", f"{ROUTES}/abc", None, 404, "not_found")

    def test_validation(self) -> None:
        base = {"did": "*", "destination": "queue:600"}
        cases = [
            ({"destination": "queue:600"}, "did", "required"),
            ({"did": "*"}, "destination", "required"),
            ({**base, "did": "40-08"}, "did", "digits"),
            ({**base, "destination": None}, "destination", "kind:target"),
            ({**base, "destination": "queue:601"}, "destination", "no queue:601 exists"),
            ({**base, "closed_destination": "ivr:x"}, "closed_destination", "no ivr:x exists"),
            ({**base, "time_condition": []}, "time_condition", "object"),
            (
                {**base, "time_condition": {"hours": [{"days": [8], "from": "9", "to": "18:00"}]}},
                "time_condition",
                "time_condition.hours[0].days",
            ),
            (
                {**base, "time_condition": {"timezone": "Mars/Olympus"}},
                "time_condition",
                "unknown timezone",
            ),
            ({**base, "time_condition": {"holiday": []}}, "time_condition", "unknown field"),
        ]
        self.assert_invalid(ROUTES, cases)
        self.create(ROUTES, base)
        message = self.error("POST", ROUTES, base, 409, "exists", "did")
        assert "route for *" in message

    def test_roles(self) -> None:
        route = self.create(ROUTES, {"did": "*", "destination": "queue:600"})
        supervisor = self.user_token(Role.SUPERVISOR)
        assert self.call("GET", f"{ROUTES}/{route['id']}", token=supervisor)[0] == 200
        self.error("DELETE", f"{ROUTES}/{route['id']}", None, 403, "forbidden", token=supervisor)
        agent = self.user_token(Role.AGENT, "1001")
        self.error("GET", ROUTES, None, 403, "forbidden", token=agent)


class TrunksApiTest(CallCenterApiTestCase):
    def test_create_defaults_update_delete(self) -> None:
        body = {"name": "carrier", "host": "192.0.2.10"}
        data = self.assert_created(
            self.call("POST", TRUNKS, body, token=self.token), TRUNKS, "name"
        )
        assert data == {"name": "carrier", "host": "192.0.2.10", "port": 5060, "transport": "udp"}
        assert self.services.trunks.trunk_for_address("192.0.2.10").name == "carrier"
        assert self.services.trunks.trunk_for_address("192.0.2.11") is None

        status, data, _ = self.call(
            "PUT",
            f"{TRUNKS}/carrier",
            {"host": "2001:db8:0::1", "port": 5080, "transport": "tcp"},
            token=self.token,
        )
        assert status == 200, data
        assert data == {"name": "carrier", "host": "2001:db8::1", "port": 5080, "transport": "tcp"}
        # the address cache follows the change
        assert self.services.trunks.trunk_for_address("192.0.2.10") is None
        assert self.services.trunks.trunk_for_address("2001:db8::1").port == 5080
        assert self.call("GET", TRUNKS, token=self.token)[1] == {"items": [data]}
        assert self.call("DELETE", f"{TRUNKS}/carrier", token=self.token)[0] == 204
        assert self.services.trunks.trunk_for_address("2001:db8::1") is None
        self.error("GET", f"{TRUNKS}/carrier", None, 404, "not_found")

    def test_validation(self) -> None:
        base = {"name": "carrier", "host": "192.0.2.10"}
        cases = [
            ({"host": "192.0.2.10"}, "name", "required"),
            ({"name": "carrier"}, "host", "required"),
            ({**base, "name": "my carrier"}, "name", "letters"),
            ({**base, "host": "sip.example.com"}, "host", "not an IP address"),
            ({**base, "host": "0.0.0.0"}, "host", "cannot be a peer"),
            ({**base, "host": "224.0.0.1"}, "host", "cannot be a peer"),
            ({**base, "port": 0}, "port", "1..65535"),
            ({**base, "transport": "tls"}, "transport", "udp, tcp"),
            ({**base, "secret": "x"}, "secret", "unknown field"),
        ]
        self.assert_invalid(TRUNKS, cases)
        self.create(TRUNKS, base)
        self.error("POST", TRUNKS, base, 409, "exists", "name")
        message = self.error(
            "POST", TRUNKS, {"name": "backup", "host": "192.0.2.10"}, 409, "exists", "host"
        )
        assert "trunk carrier" in message
        self.error("PUT", f"{TRUNKS}/carrier", {"name": "x"}, 400, "invalid", "name")

    def test_only_admin_configures_trunks(self) -> None:
        supervisor = self.user_token(Role.SUPERVISOR)
        body = {"name": "carrier", "host": "192.0.2.10"}
        self.error("POST", TRUNKS, body, 403, "forbidden", token=supervisor)
        assert self.call("GET", TRUNKS, token=supervisor)[0] == 200
