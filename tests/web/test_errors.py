from __future__ import annotations

from pbxd.web import MAX_BODY_BYTES

from .apitest import ApiTestCase


class ErrorShapeTest(ApiTestCase):
    def test_unknown_routes_are_json_404(self) -> None:
        for method, path in [
            ("GET", "/api/v1/nothing"),
            ("POST", "/api/v1/nothing"),
            ("GET", "/api/v2/health"),
            ("GET", "/api/v1/extensions/1001/extra"),
            ("GET", "/"),
        ]:
            self.assert_error(
                self.call(method, path, {} if method == "POST" else None), 404, "not_found"
            )

    def test_unsupported_methods_are_json_405(self) -> None:
        token = self.login()
        result = self.call("DELETE", "/api/v1/extensions", token=token)
        error = self.assert_error(result, 405, "method_not_allowed")
        assert result[2].headers["Allow"] == "GET, POST"
        assert "DELETE" in error["message"]
        self.assert_error(self.call("POST", "/api/v1/health", {}), 405, "method_not_allowed")
        self.assert_error(
            self.call("PATCH", "/api/v1/extensions/1001", {}, token=token),
            405,
            "method_not_allowed",
        )

    def test_too_large_bodies_are_refused(self) -> None:
        token = self.login()
        big = b'{"number": "1001", "name": "' + b"x" * MAX_BODY_BYTES + b'", "secret": "abc"}'
        self.assert_error(
            self.call("POST", "/api/v1/extensions", raw=big, token=token), 413, "too_large"
        )
        self.assert_error(self.call("POST", "/api/v1/auth/login", raw=big), 413, "too_large")
        assert self.services.extensions.list() == []

    def test_server_header_is_not_advertised(self) -> None:
        _, _, response = self.call("GET", "/api/v1/health")
        assert "Server" not in response.headers
        assert response.headers["X-Content-Type-Options"] == "nosniff"


class InternalErrorTest(ApiTestCase):
    @staticmethod
    def status_provider() -> dict:
        raise RuntimeError("secret internals")

    def test_internal_errors_do_not_leak_details(self) -> None:
        with self.assertLogs("tornado.application", level="ERROR"):
            result = self.call("GET", "/api/v1/system/status", token=self.login())
        error = self.assert_error(result, 500, "internal")
        assert "secret internals" not in error["message"]
