"""Errors of the service layer.

The HTTP status and a stable `code` ride on the class; the web layer turns them into
`{"error": {"code", "message"}}` at one boundary. Messages never quote secrets or passwords.
"""

from __future__ import annotations


class ServiceError(Exception):
    status = 500
    code = "internal"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        # The request field the error is about, when there is one.
        self.field = field


class ValidationError(ServiceError):
    status = 400
    code = "invalid"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "exists"
