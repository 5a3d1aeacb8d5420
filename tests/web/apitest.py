"""A Tornado test case around a real app on a temporary SQLite database."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tornado.httpclient import HTTPResponse
from tornado.testing import AsyncHTTPTestCase

from pbxd.services import Role, build_services
from pbxd.web import make_app

from ..db.historydata import FakeClock

ADMIN_PASSWORD = "admin-pass-4711"


class MonotonicClock:
    """Settable monotonic clock (login rate limit)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ApiTestCase(AsyncHTTPTestCase):
    status_provider = None

    def setUp(self) -> None:
        self.data_dir = Path(tempfile.mkdtemp(prefix="pbxd-web-"))
        self.wall = FakeClock()
        self.monotonic = MonotonicClock()
        self.services = build_services(self.data_dir, clock=self.wall)
        self.services.users.ensure_admin(self.data_dir, ADMIN_PASSWORD)
        self.responses: list[bytes] = []
        super().setUp()

    def tearDown(self) -> None:
        super().tearDown()
        self.services.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def get_app(self):
        return make_app(self.services, status_provider=self.status_provider, clock=self.monotonic)

    def get_httpserver_options(self) -> dict[str, Any]:
        return {"max_body_size": 1 << 20}

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, HTTPResponse]:
        """(status, decoded JSON or None, response); every body is kept in self.responses."""
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        if raw is None and body is not None:
            raw = json.dumps(body).encode()
        if raw is None and method in ("POST", "PUT", "PATCH"):
            raw = b""
        response = self.fetch(
            path,
            method=method,
            body=raw,
            headers=all_headers,
            raise_error=False,
            allow_nonstandard_methods=True,
        )
        self.responses.append(response.body or b"")
        data = json.loads(response.body) if response.body else None
        return response.code, data, response

    def login(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> str:
        status, data, _ = self.call(
            "POST", "/api/v1/auth/login", {"username": username, "password": password}
        )
        assert status == 200, data
        return data["token"]

    def create_extensions(self, *numbers: str, label: str = "Agent") -> None:
        for number in numbers:
            self.services.extensions.create(number, f"{label} {number}", f"secret-{number}-pw")

    def user_token(
        self, role: Role, extension: str | None = None, name: str = "", **settings: Any
    ) -> str:
        """A token of a new user with `role`, linked to `extension`; `settings`: the other
        arguments of UserService.create_user (queues, masking, language)."""
        username = name or f"{role}-{extension or 'x'}"
        password = f"{username}-pass"
        self.services.users.create_user(username, password, role, extension=extension, **settings)
        return self.login(username, password)

    def supervisor_token(
        self, *queues: str, name: str = "leader", extension: str | None = None
    ) -> str:
        """A token of a supervisor who leads `queues` (they must exist): his scope."""
        return self.user_token(Role.SUPERVISOR, extension, name, queues=list(queues))

    def create_queue(self, number: str, *members: str) -> None:
        """Queue `number` with static `members` (extensions created when missing)."""
        known = {view.number for view in self.services.extensions.list()}
        self.create_extensions(*(member for member in members if member not in known))
        self.services.queues.create({"number": number, "members": list(members)})

    def assert_bad_params(self, path: str, cases: list[tuple[dict, str]], token: str) -> None:
        """Each query string in `cases` is refused with a 400 naming its field."""
        for params, field in cases:
            result = self.call("GET", f"{path}?{urlencode(params)}", token=token)
            error = self.assert_error(result, 400, "invalid")
            assert error["field"] == field, (params, error)
            assert field in error["message"], (params, error)

    def token_for(self, role: Role) -> str:
        username = f"{role}-user"
        self.services.users.create_user(username, f"{role}-password", role)
        return self.login(username, f"{role}-password")

    def assert_created(
        self, result: tuple[int, Any, HTTPResponse], collection: str, key: str = "id"
    ) -> dict:
        """A POST answered 201 with the new object, whose URL <collection>/<its key> is in
        the Location header; the object."""
        status, data, response = result
        assert status == 201, data
        assert response.headers["Location"] == f"{collection}/{data[key]}"
        return data

    def assert_error(self, result: tuple[int, Any, HTTPResponse], status: int, code: str) -> dict:
        got_status, data, response = result
        assert got_status == status, (got_status, data)
        assert response.headers["Content-Type"].startswith("application/json")
        assert set(data) == {"error"}, data
        assert data["error"]["code"] == code, data
        assert isinstance(data["error"]["message"], str) and data["error"]["message"]
        return data["error"]
