"""The request handler every API handler derives from: access rules, JSON in and out, errors."""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Final, Literal
from urllib.parse import urlsplit

from tornado import httputil
from tornado.web import HTTPError, RequestHandler

from ..services import (
    Masker,
    Masking,
    Role,
    Scope,
    ServiceError,
    Services,
    SessionView,
    UserView,
    scope_for,
)
from .errors import (
    ApiError,
    BadJson,
    CsrfRefused,
    Forbidden,
    InvalidRequest,
    PayloadTooLarge,
    RouteNotFound,
    Unauthorized,
)
from .i18n import localize_error_body, request_language
from .ratelimit import LoginThrottle

log = logging.getLogger(__name__)

# JSON bodies of this API are small; anything bigger is refused before parsing.
MAX_BODY_BYTES = 64 * 1024

# Access rules, declared per handler and HTTP method in `BaseHandler.access`.
PUBLIC: Final = "public"
ADMIN_ONLY: Final = frozenset({Role.ADMIN})
ADMIN_OR_SUPERVISOR: Final = frozenset({Role.ADMIN, Role.SUPERVISOR})
ANY_ROLE: Final = frozenset(Role)
AccessRule = frozenset[Role] | Literal["public"]

# Browser sessions (docs/WEBAUTH.md): the cookie, and the header unsafe requests echo it with.
SESSION_COOKIE: Final = "pbxd_session"
CSRF_HEADER: Final = "X-CSRF-Token"
# Methods that change something: on a session cookie they need the CSRF header, and once
# they succeed they go to the operation log.
WRITE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_DEFAULT_PORTS = {"http": "80", "https": "443"}
_JSON_OBJECT_START = re.compile(rb"\s*\{")
_MAX_LOGGED_FIELDS = 50

# `code` for the errors Tornado raises itself (unknown method, malformed request ...).
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    429: "rate_limited",
}

StatusProvider = Callable[[], Mapping[str, Any]]


@dataclass(frozen=True)
class ApiContext:
    """What every handler gets from `make_app`."""

    services: Services
    status_provider: StatusProvider | None
    clock: Callable[[], float]  # monotonic seconds, for the login throttle
    login_throttle: LoginThrottle
    # HTTPS: the port and the device certificate (DeviceCertificate.info); None: HTTP only
    tls: Mapping[str, Any] | None = None


class BaseHandler(RequestHandler):
    """Checks the bearer token or session cookie and the role in `prepare()`, maps errors in
    `write_error()`, logs successful writes in `on_finish()`.

    Subclasses declare `access = {"GET": ADMIN_ONLY, ...}`; the methods listed are the only
    ones served (others get 405), and a method without a rule cannot be reached.
    """

    access: ClassVar[Mapping[str, AccessRule]] = {}
    # False for handlers that write their own operation-log rows (login, logout).
    logs_operations: ClassVar[bool] = True
    current_user: UserView | None
    # The browser session that authenticated the request; None for a bearer token.
    session: SessionView | None = None
    # The user's scope and number masker, built on first use (scope(), masker()).
    _scope: Scope | None = None
    _masker: Masker | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "SUPPORTED_METHODS" not in cls.__dict__:
            cls.SUPPORTED_METHODS = tuple(cls.access)

    def initialize(self, ctx: ApiContext, route: str = "") -> None:
        self.ctx = ctx
        self.services = ctx.services
        self.route = route  # the path template of ROUTES, e.g. /api/v1/queues/{number}

    def set_default_headers(self) -> None:
        self.clear_header("Server")
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        # Responses carry tokens and private data: no cache may keep them.
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")

    def compute_etag(self) -> None:
        return None

    def prepare(self) -> None:
        if len(self.request.body) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"request body larger than {MAX_BODY_BYTES} bytes")
        rule = self.access[self.request.method]
        if rule == PUBLIC:
            return
        user = self.authenticate()
        self.current_user = user  # also for the language of a refusal
        if user.role not in rule:
            raise Forbidden(f"role {user.role} may not {self.request.method} this resource")
        self.current_user = user

    def authenticate(self) -> UserView:
        """The user of the bearer token when there is one, else of the session cookie.

        A browser sends its cookie with any request, whoever's page made it, so a write on a
        cookie must also carry the session's CSRF token and come from this origin. A bearer
        token is sent only by its own client: no such check.
        """
        token = self.bearer_token()
        if token is not None:
            user = self.services.users.user_for_token(token)
            if user is None:
                raise Unauthorized("invalid or expired token")
            return user
        cookie = self.get_cookie(SESSION_COOKIE)
        if cookie is None:
            raise Unauthorized("missing bearer token or session cookie")
        session = self.services.users.session_for(cookie)
        if session is None:
            raise Unauthorized("session expired or unknown; log in again")
        if self.request.method in WRITE_METHODS:
            self.check_origin()
            sent = self.request.headers.get(CSRF_HEADER, "").encode("utf-8", "replace")
            if not hmac.compare_digest(sent, session.csrf_token.encode("ascii")):
                raise CsrfRefused(f"missing or wrong {CSRF_HEADER} header")
        self.session = session
        return session.user

    def check_origin(self) -> None:
        """Refuse a request whose Origin header (RFC 6454) names another site than Host."""
        origin = self.request.headers.get("Origin")
        if origin is not None and not same_origin(origin, self.request.host):
            raise CsrfRefused("the request comes from another origin")

    def scope(self) -> Scope:
        """What of the call history and the call center the user may see (his role's scope,
        pbxd/services/scope.py); built once per request."""
        if self._scope is None:
            assert self.current_user is not None  # prepare() authenticated the request
            self._scope = scope_for(self.current_user)
        return self._scope

    def masker(self) -> Masker:
        """Masks the customer numbers of this response by the user's `masking` (issue 6);
        built once per request. Every number a response carries goes through it."""
        if self._masker is None:
            user = self.current_user
            assert user is not None  # prepare() authenticated the request
            self._masker = self.services.contacts.masker(user.masking or Masking.ALL)
        return self._masker

    def bearer_token(self) -> str | None:
        """The token of `Authorization: Bearer <token>` (RFC 6750 section 2.1), else None."""
        scheme, _, token = self.request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        return token

    def json_body(
        self,
        fields: Mapping[str, type],
        *,
        required: Collection[str] = (),
        nullable: Collection[str] = (),
    ) -> dict[str, Any]:
        """The body as a JSON object holding only `fields` (name -> type), `required` present;
        the fields in `nullable` may also be null."""
        data = self.json_object()
        reject_unknown_fields(data, fields)
        for name in required:
            if name not in data:
                raise InvalidRequest(f"{name}: required", field=name)
        for name, value in data.items():
            if value is None and name in nullable:
                continue
            expected = fields[name]
            if not isinstance(value, expected) or (
                isinstance(value, bool) and expected is not bool
            ):
                or_null = " or null" if name in nullable else ""
                raise InvalidRequest(
                    f"{name}: expected {_JSON_TYPES[expected]}{or_null}", field=name
                )
        return data

    def json_object(self, *, empty_ok: bool = False) -> dict[str, Any]:
        """The body as a JSON object, fields unchecked; an empty body is `{}` if `empty_ok`."""
        if empty_ok and not self.request.body.strip():
            return {}
        try:
            data = json.loads(self.request.body, parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise BadJson("request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise InvalidRequest("request body: expected a JSON object")
        return data

    def query_params(self, allowed: Collection[str]) -> dict[str, str]:
        """The query parameters (last value of each), refusing names not in `allowed`."""
        for name in self.request.query_arguments:
            if name not in allowed:
                raise InvalidRequest(f"{name}: unknown query parameter", field=name)
        return {name: self.get_query_argument(name) for name in self.request.query_arguments}

    def reply(self, data: Mapping[str, Any], status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(data, ensure_ascii=False))

    def reply_page(self, items: list[Any], total: int, limit: int, offset: int) -> None:
        """One page of a paged list: its items, the matches over all pages, the page asked."""
        self.reply({"items": items, "total": total, "limit": limit, "offset": offset})

    def reply_no_content(self) -> None:
        """204: done, nothing to send back."""
        self.set_status(204)
        self.finish()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        body: dict[str, Any]
        if isinstance(error, ServiceError | ApiError):
            self.set_status(error.status)
            body = {"code": error.code, "message": error.message}
            if error.field is not None:
                body["field"] = error.field
            for name, value in getattr(error, "headers", {}).items():
                self.set_header(name, value)
        elif status_code < 500:
            message = httputil.responses.get(status_code, "Client Error")
            if isinstance(error, HTTPError) and error.reason:
                message = error.reason
            body = {"code": _HTTP_CODES.get(status_code, "bad_request"), "message": message}
            if status_code == 405:
                allowed = ", ".join(self.SUPPORTED_METHODS)
                self.set_header("Allow", allowed)
                body["message"] = f"method {self.request.method} not allowed; use {allowed}"
        else:
            body = {"code": "internal", "message": "internal error"}
        body = localize_error_body(body, self.error_language())
        self.finish(json.dumps({"error": body}, ensure_ascii=False))

    def error_language(self) -> str:
        """A browser session's user gets his saved language; any other client what its
        Accept-Language asks for, and English when it asks for nothing (scripts, API tools)."""
        user = self._current_user if hasattr(self, "_current_user") else None
        saved = user.language if user is not None and self.session is not None else None
        accept = self.request.headers.get("Accept-Language")
        return request_language(accept, saved) if saved or accept else "en"

    def on_finish(self) -> None:
        """Log a successful write of an authenticated user (names, never values)."""
        user = self.current_user
        status = self.get_status()
        if (
            not self.logs_operations
            or self.request.method not in WRITE_METHODS
            or user is None
            or status >= 400
        ):
            return
        try:
            self.services.oplog.record(
                username=user.username,
                role=user.role,
                client_ip=self.request.remote_ip or "unknown",
                action=f"{self.request.method} {self.route or self.request.path}",
                target=self.request.path,
                detail={"fields": self.body_field_names(), "status": status},
            )
        except Exception:
            # The change is made and answered; a lost log row must not turn it into an error.
            log.exception("operation log: %s %s not recorded", self.request.method, self.route)

    def body_field_names(self) -> list[str]:
        """The names of the fields the request body set (JSON object or form), no values."""
        body = self.request.body
        if _JSON_OBJECT_START.match(body):
            try:
                data = json.loads(body)
            except (ValueError, UnicodeDecodeError, RecursionError):
                return []
            names = list(data) if isinstance(data, dict) else []
        else:
            names = [*self.request.body_arguments, *self.request.files]
        return sorted({name[:64] for name in names})[:_MAX_LOGGED_FIELDS]

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(value, ServiceError | ApiError):
            # An expected client error, answered with its status; the access log has the rest.
            log.debug(
                "%s %s -> %d %s", self.request.method, self.request.path, value.status, value.code
            )
            return
        super().log_exception(typ, value, tb)


class NotFoundHandler(BaseHandler):
    """Every path no route matches: a JSON 404 whatever the method."""

    SUPPORTED_METHODS = RequestHandler.SUPPORTED_METHODS
    access = {method: PUBLIC for method in RequestHandler.SUPPORTED_METHODS}

    def prepare(self) -> None:
        raise RouteNotFound(f"no resource at {self.request.path}")


def reject_unknown_fields(data: Iterable[str], allowed: Collection[str]) -> None:
    """400 naming the first field of `data` (a body's or a form's names) not in `allowed`."""
    for name in data:
        if name not in allowed:
            raise InvalidRequest(f"{name}: unknown field", field=name)


_JSON_TYPES: dict[type, str] = {
    str: "a string",
    int: "an integer",
    bool: "a boolean",
    dict: "an object",
    list: "an array",
}


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def same_origin(origin: str, host: str) -> bool:
    """True when `origin` ("https://pbx.example:8443") names the site of Host `host`."""
    try:
        parts = urlsplit(origin)
        netloc = parts.netloc
    except ValueError:
        return False
    default_port = _DEFAULT_PORTS.get(parts.scheme)
    if default_port is None or not netloc:
        return False
    return _authority(netloc, default_port) == _authority(host, default_port)


def _authority(netloc: str, default_port: str) -> str:
    """'Host:80' -> 'host' for http: the default port left out, as browsers write it."""
    name, colon, port = netloc.lower().rpartition(":")
    if colon and "]" not in port and port == default_port:  # "]": an IPv6 literal, no port
        return name
    return netloc.lower()
