"""The operation log (操作日志): what is recorded, what never is, search and CSV export."""

from __future__ import annotations

import csv
import io
import json
from urllib.parse import urlencode

from tornado.httpclient import HTTPResponse

from pbxd.db import db
from pbxd.db.models import OperationLogEntry
from pbxd.services import Role

from .apitest import ADMIN_PASSWORD
from .sessiontest import SessionTestCase

LOG = "/api/v1/operation-log"
SECRET = "s3cret-Never-Logged"
PIN = "97531864"


def log_table_text() -> str:
    """Every value of every operation_log row, as stored."""
    rows = db.execute_sql('SELECT * FROM "operation_log"').fetchall()
    return repr(rows)


class RecordingTest(SessionTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.token = self.login()

    def test_a_configuration_change_is_logged_with_field_names_but_no_values(self) -> None:
        body = {"number": "1001", "name": "Alice", "secret": SECRET, "voicemail_pin": PIN}
        status, _, _ = self.call("POST", "/api/v1/extensions", body, token=self.token)
        assert status == 201
        browser = self.browser()
        status, _, _ = browser.call(
            "PUT", "/api/v1/extensions/1001", {"secret": SECRET + "-2", "voicemail_pin": PIN}
        )
        assert status == 200
        assert browser.call("DELETE", "/api/v1/extensions/1001")[0] == 204

        status, data, _ = self.call("GET", f"{LOG}?username=admin", token=self.token)
        assert status == 200
        changes = [item for item in data["items"] if item["action"] not in ("login",)]
        assert [(item["action"], item["target"], item["detail"]) for item in changes] == [
            ("DELETE /api/v1/extensions/{number}", "/api/v1/extensions/1001",
             {"fields": [], "status": 204}),
            ("PUT /api/v1/extensions/{number}", "/api/v1/extensions/1001",
             {"fields": ["secret", "voicemail_pin"], "status": 200}),
            ("POST /api/v1/extensions", "/api/v1/extensions",
             {"fields": ["name", "number", "secret", "voicemail_pin"], "status": 201}),
        ]  # fmt: skip
        assert {(item["username"], item["role"], item["client_ip"]) for item in changes} == {
            ("admin", "admin", "127.0.0.1")
        }
        # Neither the secrets nor the PIN are anywhere in the table, nor the admin password.
        stored = log_table_text()
        for value in (SECRET, PIN, ADMIN_PASSWORD, "Alice"):
            assert value not in stored
        assert "s3cret" not in stored.lower()

    def test_reads_and_refused_writes_are_not_logged(self) -> None:
        self.call("GET", "/api/v1/extensions", token=self.token)
        self.call("POST", "/api/v1/extensions", {"number": "1"}, token=self.token)  # 400
        agent = self.token_for(Role.AGENT)
        self.call("POST", "/api/v1/extensions", {"number": "1001"}, token=agent)  # 403
        self.call("DELETE", "/api/v1/extensions/4711", token=self.token)  # 404
        self.call("POST", "/api/v1/nowhere", {}, token=self.token)
        actions = [row.action for row in OperationLogEntry.select()]
        assert actions == ["login", "login"]  # the admin's and the agent's bearer logins

    def test_logins_and_logouts_are_logged_with_their_outcome(self) -> None:
        self.call("POST", "/api/v1/auth/login", {"username": "ghost", "password": "pw-guess-1"})
        token = self.login()
        self.call("POST", "/api/v1/auth/logout", token=token)
        rows = [
            (row.action, row.username, row.role, json.loads(row.detail))
            for row in OperationLogEntry.select().order_by(OperationLogEntry.id)
        ]
        assert rows == [
            ("login", "admin", "admin", {"via": "token"}),  # setUp
            ("login_failed", "ghost", None, {"via": "token"}),
            ("login", "admin", "admin", {"via": "token"}),
            ("logout", "admin", "admin", {"via": "token"}),
        ]
        assert "pw-guess-1" not in log_table_text()

    def test_agent_queue_logins_are_logged(self) -> None:
        # 操作日志: "记录各个坐席登录退出等操作" -- an agent's queue login is a logged write.
        self.create_extensions("1001")
        self.services.queues.create({"number": "600", "name": "Sales", "members": []})
        agent = self.user_token(Role.AGENT, extension="1001", name="nina")
        body = {"queues": ["600"]}
        status, _, _ = self.call("POST", "/api/v1/agents/1001/login", body, token=agent)
        assert status < 300
        row = OperationLogEntry.get(OperationLogEntry.action.startswith("POST"))
        assert (row.username, row.role, row.action, row.target) == (
            "nina",
            "agent",
            "POST /api/v1/agents/{extension}/login",
            "/api/v1/agents/1001/login",
        )

    def test_a_failing_log_does_not_fail_the_change(self) -> None:
        def broken(**_: object) -> None:
            raise RuntimeError("disk full")

        self.services.oplog.record = broken  # type: ignore[method-assign]
        body = {"number": "1001", "name": "Alice", "secret": SECRET}
        with self.assertLogs("pbxd.web.base", "ERROR"):
            status, _, _ = self.call("POST", "/api/v1/extensions", body, token=self.token)
        assert status == 201


class SearchTest(SessionTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.token = self.login()  # 08:00
        self.create_extensions("1001", "1002")
        for number in ("1001", "1002"):
            self.wall.advance(hours=1)
            self.call("PUT", f"/api/v1/extensions/{number}", {"name": "X"}, token=self.token)

    def search(self, **params: object) -> dict:
        status, data, _ = self.call("GET", f"{LOG}?{urlencode(params)}", token=self.token)
        assert status == 200, data
        return data

    def test_filters_and_pages(self) -> None:
        everything = self.search()
        assert everything["total"] == 3
        assert [item["time"] for item in everything["items"]] == [
            "2024-05-01T10:00:00Z",
            "2024-05-01T09:00:00Z",
            "2024-05-01T08:00:00Z",
        ]
        assert [item["target"] for item in self.search(start="2024-05-01T09:00:00Z")["items"]] == [
            "/api/v1/extensions/1002",
            "/api/v1/extensions/1001",
        ]
        window = self.search(start="2024-05-01T16:30:00+08:00", end="2024-05-01T17:30:00+08:00")
        assert [item["target"] for item in window["items"]] == ["/api/v1/extensions/1001"]
        assert self.search(action="login")["total"] == 1
        assert self.search(action="PUT /api/v1/extensions/{number}")["total"] == 2
        assert self.search(username="nobody") == {"items": [], "total": 0}
        page = self.search(limit=1, offset=1)
        assert page["total"] == 3 and len(page["items"]) == 1
        assert page["items"][0]["target"] == "/api/v1/extensions/1001"

    def test_bad_parameters_name_their_field(self) -> None:
        self.assert_bad_params(
            LOG,
            [
                ({"format": "xml"}, "format"),
                ({"limit": "0"}, "limit"),
                ({"limit": "1001"}, "limit"),
                ({"limit": "-1"}, "limit"),
                ({"offset": "x"}, "offset"),
                ({"start": "yesterday"}, "start"),
                ({"end": "2024-05-01T08:00:00"}, "end"),
                ({"user": "admin"}, "user"),
            ],
            self.token,
        )

    def test_only_admins_read_the_log(self) -> None:
        for role in (Role.SUPERVISOR, Role.AGENT):
            token = self.token_for(role)
            self.assert_error(self.call("GET", LOG, token=token), 403, "forbidden")
            self.assert_error(self.call("GET", f"{LOG}?format=csv", token=token), 403, "forbidden")
        self.assert_error(self.call("GET", LOG), 401, "unauthorized")
        browser = self.browser()
        assert browser.call("GET", LOG)[0] == 200

    def fetch_csv(self, query: str) -> HTTPResponse:
        response = self.fetch(f"{LOG}?{query}", headers={"Authorization": f"Bearer {self.token}"})
        assert response.code == 200, response.body
        return response

    def test_csv_export(self) -> None:
        self.call("POST", "/api/v1/auth/login", {"username": "=cmd|x", "password": "pw-guess"})
        response = self.fetch_csv("format=csv&limit=1")
        assert response.headers["Content-Type"] == "text/csv; charset=UTF-8"
        assert response.headers["Content-Disposition"] == (
            'attachment; filename="operation-log.csv"'
        )
        assert response.body.startswith("\ufeff".encode())
        rows = list(csv.reader(io.StringIO(response.body.decode("utf-8-sig"))))
        assert rows[0] == ["time", "username", "role", "client_ip", "action", "target", "detail"]
        assert len(rows) == 1 + 4  # every row: limit pages the JSON only
        assert rows[1] == [
            "2024-05-01T10:00:00Z", "'=cmd|x", "", "127.0.0.1", "login_failed",
            "/api/v1/auth/login", '{"via": "token"}',
        ]  # fmt: skip
        assert rows[2][4:6] == ["PUT /api/v1/extensions/{number}", "/api/v1/extensions/1002"]
        assert json.loads(rows[2][6]) == {"fields": ["name"], "status": 200}
        response = self.fetch_csv("format=csv&action=login_failed")
        assert len(list(csv.reader(io.StringIO(response.body.decode("utf-8-sig"))))) == 2
