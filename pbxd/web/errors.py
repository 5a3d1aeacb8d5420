"""Errors raised by the web layer itself (service errors come from `pbxd.services.errors`).

Both carry `status`, a stable `code` and a message; `BaseHandler.write_error` renders either
as `{"error": {"code", "message"}}`.
"""

from __future__ import annotations


class ApiError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self, message: str, *, field: str | None = None, headers: dict[str, str] | None = None
    ):
        super().__init__(message)
        self.message = message
        self.field = field
        # Headers the error response must carry (Retry-After, WWW-Authenticate).
        self.headers = headers or {}


class BadJson(ApiError):
    status = 400
    code = "bad_json"


class InvalidRequest(ApiError):
    status = 400
    code = "invalid"


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"

    def __init__(self, message: str):
        # RFC 6750 section 3: a 401 names the scheme the client should use.
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="pbxd"'})


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class CsrfRefused(Forbidden):
    """A cookie-authenticated write without the session's X-CSRF-Token, or from another
    origin."""

    code = "csrf"


class WrongPassword(Forbidden):
    """The current password given to change it is wrong."""

    code = "wrong_password"


class RouteNotFound(ApiError):
    status = 404
    code = "not_found"


class PayloadTooLarge(ApiError):
    status = 413
    code = "too_large"


class RateLimited(ApiError):
    status = 429
    code = "rate_limited"
