"""Every endpoint x every role, against the running application: a role the route does not
allow gets 403 (and nothing happens), an allowed role is never refused for its role, and no
endpoint but the public ones answers without credentials.

The matrix is read from the handlers' `access` declarations (which test_openapi.py holds
equal to the documented `x-pbxd-roles`), so a new endpoint is covered the day it is added.
"""

from __future__ import annotations

import json
import re

from pbxd.services import Role
from pbxd.web.base import PUBLIC

from .apitest import ApiTestCase
from .test_openapi import app_routes

SAMPLE_PARAMETERS = {"number": "600", "extension": "1001", "id": "1", "name": "main",
                     "box": "1001", "call_id": "call-1", "username": "someone"}  # fmt: skip
ROLE_REFUSAL = re.compile(r"^role \w+ may not ")


def sample_path(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLE_PARAMETERS.get(m.group(1), "x"), path)


class RoleMatrixTest(ApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.create_extensions("1001", "1002")
        self.tokens = {
            Role.ADMIN: self.login(),
            Role.SUPERVISOR: self.user_token(Role.SUPERVISOR, "1002", name="leader"),
            Role.AGENT: self.user_token(Role.AGENT, "1001", name="agent"),
        }

    def request(self, method: str, path: str, token: str | None):
        """(status, JSON body or None for a file, response)."""
        response = self.fetch(
            sample_path(path),
            method=method.upper(),
            body=None if method in ("get", "delete") else b"{}",
            headers={"Authorization": f"Bearer {token}"} if token else {},
            raise_error=False,
            allow_nonstandard_methods=True,
        )
        is_json = response.headers.get("Content-Type", "").startswith("application/json")
        data = json.loads(response.body) if is_json and response.body else None
        return response.code, data, response

    def test_every_endpoint_refuses_the_roles_it_does_not_allow(self) -> None:
        checked = 0
        for path, methods in sorted(app_routes(self._app).items()):
            for method, rule in sorted(methods.items()):
                if rule == PUBLIC:
                    continue
                status, data, _ = self.request(method, path, None)
                assert status == 401, (method, path, status, data)
                for role in (Role.AGENT, Role.SUPERVISOR, Role.ADMIN):
                    if role in rule:
                        continue
                    status, data, _ = self.request(method, path, self.tokens[role])
                    assert status == 403, (role, method, path, status, data)
                    assert ROLE_REFUSAL.match(data["error"]["message"]), data
                    checked += 1
        assert checked > 30  # the matrix is not empty by accident

    def test_allowed_roles_are_never_refused_for_their_role(self) -> None:
        for path, methods in sorted(app_routes(self._app).items()):
            for method, rule in sorted(methods.items()):
                if rule == PUBLIC or method != "get":  # reads only: writes would change state
                    continue
                if path.startswith("/api/v1/auth/"):  # the browser session wants its cookie
                    continue
                for role in rule:
                    status, data, _ = self.request(method, path, self.tokens[role])
                    refused_for_role = status == 403 and ROLE_REFUSAL.match(
                        (data or {}).get("error", {}).get("message", "")
                    )
                    assert status != 401 and not refused_for_role, (role, path, status, data)
