"""Errors of the SIP layer.

The SIP status rides on the class; the endpoint turns a `SipError` raised while handling a
request into a response at one boundary. Anything else escaping the SIP layer is a bug.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .message import Message


class SipError(Exception):
    """A request cannot be served; `status` is the response to send."""

    status = 500
    reason = "Server Internal Error"

    def __init__(self, detail: str = "", *, headers: list[tuple[str, str]] | None = None):
        super().__init__(detail or self.reason)
        self.detail = detail or self.reason
        # Extra headers the response must carry (Unsupported, Min-Expires, Retry-After ...).
        self.headers = headers or []


class ParseError(SipError):
    """The bytes are not a SIP message; a datagram like this is dropped and counted."""

    status = 400
    reason = "Bad Request"


class InvalidMessage(ParseError):
    """The message parsed far enough to answer, but is invalid (RFC 3261 section 16.3, 8.2).

    `message` is the best-effort parse, so that a request can still be answered with `status`.
    """

    def __init__(self, detail: str, message: Message, status: int = 400):
        super().__init__(detail)
        self.message = message
        self.status = status


class BadRequest(SipError):
    status = 400
    reason = "Bad Request"


class Forbidden(SipError):
    status = 403
    reason = "Forbidden"


class NotFound(SipError):
    status = 404
    reason = "Not Found"


class MethodNotAllowed(SipError):
    status = 405
    reason = "Method Not Allowed"


class UnsupportedUriScheme(SipError):
    status = 416
    reason = "Unsupported URI Scheme"


class BadExtension(SipError):
    status = 420
    reason = "Bad Extension"


class IntervalTooBrief(SipError):
    status = 423
    reason = "Interval Too Brief"


class TemporarilyUnavailable(SipError):
    status = 480
    reason = "Temporarily Unavailable"


class CallDoesNotExist(SipError):
    status = 481
    reason = "Call/Transaction Does Not Exist"


class LoopDetected(SipError):
    status = 482
    reason = "Loop Detected"


class TooManyHops(SipError):
    status = 483
    reason = "Too Many Hops"


class Busy(SipError):
    status = 486
    reason = "Busy Here"


class NotAcceptableHere(SipError):
    status = 488
    reason = "Not Acceptable Here"


class BadEvent(SipError):
    status = 489
    reason = "Bad Event"


class RequestPending(SipError):
    status = 491
    reason = "Request Pending"


class ServerInternalError(SipError):
    status = 500
    reason = "Server Internal Error"


class NotImplementedMethod(SipError):
    status = 501
    reason = "Not Implemented"


class VersionNotSupported(SipError):
    status = 505
    reason = "Version Not Supported"


class TransactionStateError(Exception):
    """A local misuse of a transaction or dialog: an event illegal in the current state."""
