"""`/api/v1/live`: the console's live push channel (WebSocket): wallboard, agent state, pops.

A thin Tornado adapter of pbxd.services.live.LiveHub, which decides what each connection gets
(docs/WEBUI.md "Live channel"). Here: the handshake (credentials, Origin, topics), the
connection limits' close, pings, and sending without letting a client that does not read
make pbxd buffer without end.

Credentials, checked before the upgrade (a refusal is the API's JSON error with its status):
- the browser's session cookie, as every console request (docs/WEBAUTH.md); the connection
  must come from this device's own origin (an `Origin` of another site: 403 `csrf`);
- or, for programs, a bearer token in the `Authorization` header, or offered as the
  subprotocol `pbxd.bearer.<token>` beside `pbxd.live` (a browser cannot set headers on a
  WebSocket); the answer names `pbxd.live`, never the token. A token in the URL (`?token=`)
  is refused: URLs end up in access logs and browser history.

While open, the credentials are checked again every REVALIDATE_SECONDS: a session that ended
(logout, password change, deleted user) closes the connection with 4401; a changed user (role,
queues, extension, masking) gets what he may see now. Like any console request, this keeps a
browser session's idle timeout from running out while the page is open.

Not a BaseHandler (not a JSON route, not in OpenAPI): make_app registers it beside /ws.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Mapping
from typing import Any

from tornado.ioloop import PeriodicCallback
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ..services import UserView
from ..services.live import (
    CLOSE_SLOW,
    CLOSE_UNAUTHORIZED,
    TOPICS,
    Audience,
    LiveHub,
    LiveRefused,
    Subscription,
)
from .base import SESSION_COOKIE, ApiContext, same_origin
from .errors import ApiError, CsrfRefused, InvalidRequest, Unauthorized
from .i18n import localize_error_body, request_language

log = logging.getLogger(__name__)

PATH = "/api/v1/live"
SUBPROTOCOL = "pbxd.live"
BEARER_SUBPROTOCOL = "pbxd.bearer."  # + the token
PING_INTERVAL = 20.0  # seconds: finds clients that vanished without closing
PING_TIMEOUT = 10.0  # no pong within this: closed
REVALIDATE_SECONDS = 30.0
MAX_CLIENT_MESSAGE = 4096  # clients only send pings
MAX_QUEUED = 32  # messages waiting for a client that does not read: beyond, closed
# Messages of which only the newest matters: a queued older one is replaced.
REPLACEABLE = frozenset({"wallboard", "agent"})


class LiveHandler(WebSocketHandler):
    def initialize(self, ctx: ApiContext, hub: LiveHub) -> None:
        self.ctx = ctx
        self.hub = hub
        self.user: UserView | None = None
        self.topics: tuple[str, ...] | None = None
        self.subscription: Subscription | None = None
        self._credential: tuple[str, str] | None = None  # ("token" | "cookie", value)
        self._queue: deque[tuple[str | None, str]] = deque()
        self._writing: Any = None  # the future of the write in progress
        self._checker: PeriodicCallback | None = None

    def set_default_headers(self) -> None:
        self.clear_header("Server")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")

    # -- the handshake ----------------------------------------------------------------------------

    def prepare(self) -> None:
        try:
            self.topics = self._requested_topics()
            origin = self.request.headers.get("Origin")
            if origin is not None and not same_origin(origin, self.request.host):
                raise CsrfRefused("the request comes from another origin")
            self.user = self._authenticate()
        except ApiError as error:
            self._refuse(error)

    def _requested_topics(self) -> tuple[str, ...] | None:
        for name in self.request.query_arguments:
            if name == "token":
                raise InvalidRequest(
                    "token: never in the URL (it would be logged); send it in the "
                    "Authorization header or as the WebSocket subprotocol pbxd.bearer.<token>",
                    field="token",
                )
            if name != "topics":
                raise InvalidRequest(f"{name}: unknown query parameter", field=name)
        if "topics" not in self.request.query_arguments:
            return None
        topics = tuple(
            dict.fromkeys(
                topic.strip()
                for topic in self.get_query_argument("topics").split(",")
                if topic.strip()
            )
        )
        for topic in topics:
            if topic not in TOPICS:
                raise InvalidRequest(
                    f"topics: unknown topic {topic}; expected wallboard, agent or both",
                    field="topics",
                )
        return topics

    def _offered_subprotocols(self) -> list[str]:
        header = self.request.headers.get("Sec-WebSocket-Protocol", "")
        return [name.strip() for name in header.split(",") if name.strip()]

    def _authenticate(self) -> UserView:
        users = self.ctx.services.users
        token = _bearer(self.request.headers.get("Authorization", ""))
        if token is None:
            offered = [
                name[len(BEARER_SUBPROTOCOL) :]
                for name in self._offered_subprotocols()
                if name.startswith(BEARER_SUBPROTOCOL)
            ]
            token = offered[0] if offered else None
        if token is not None:
            user = users.user_for_token(token)
            if user is None:
                raise Unauthorized("invalid or expired token")
            self._credential = ("token", token)
            return user
        cookie = self.get_cookie(SESSION_COOKIE)
        if cookie is None:
            raise Unauthorized("missing bearer token or session cookie")
        session = users.session_for(cookie)
        if session is None:
            raise Unauthorized("session expired or unknown; log in again")
        self._credential = ("cookie", cookie)
        return session.user

    def _refuse(self, error: ApiError) -> None:
        self.set_status(error.status)
        for name, value in error.headers.items():
            self.set_header(name, value)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        body: dict[str, Any] = {"code": error.code, "message": error.message}
        if error.field is not None:
            body["field"] = error.field
        accept = self.request.headers.get("Accept-Language")
        language = request_language(accept, None) if accept else "en"
        body = localize_error_body(body, language)
        log.info("refused live connection from %s: %s", self.request.remote_ip, error.message)
        self.finish(json.dumps({"error": body}, ensure_ascii=False))

    def check_origin(self, origin: str) -> bool:
        # Same-origin pages and clients without Origin pass before Tornado asks; prepare()
        # has refused any other origin already.
        return False

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        # Never the bearer token's: the answer would carry the secret back.
        return SUBPROTOCOL if SUBPROTOCOL in subprotocols else None

    @property
    def ping_interval(self) -> float:
        return PING_INTERVAL

    @property
    def ping_timeout(self) -> float:
        return PING_TIMEOUT

    @property
    def max_message_size(self) -> int:
        return MAX_CLIENT_MESSAGE

    def get_compression_options(self) -> None:
        return None

    # -- the connection ---------------------------------------------------------------------------

    def open(self, *args: str, **kwargs: str) -> None:
        assert self.user is not None  # prepare() refused the request otherwise
        try:
            audience = Audience.of(self.user, self.topics)
            self.subscription = self.hub.subscribe(self, audience)
        except LiveRefused as refused:
            log.info("live connection of %s closed: %s", self.user.username, refused.reason)
            self.close(refused.close_code, refused.reason)
            return
        self._checker = PeriodicCallback(self._check_credentials, REVALIDATE_SECONDS * 1000)
        self._checker.start()

    def on_message(self, message: str | bytes) -> None:
        try:
            data = json.loads(message)
        except (ValueError, UnicodeDecodeError):
            return
        if isinstance(data, dict) and data.get("type") == "ping":
            self.send({"type": "pong"})

    def on_close(self) -> None:
        if self._checker is not None:
            self._checker.stop()
        if self.subscription is not None:
            self.hub.unsubscribe(self.subscription)
        self._queue.clear()

    def _check_credentials(self) -> None:
        if self.subscription is None or self._credential is None:
            return
        kind, value = self._credential
        users = self.ctx.services.users
        if kind == "token":
            user = users.user_for_token(value)
        else:
            session = users.session_for(value)
            user = session.user if session is not None else None
        if user is None:
            self.close(CLOSE_UNAUTHORIZED, "session ended: log in again")
            return
        try:
            self.hub.update(self.subscription, Audience.of(user, self.topics))
        except LiveRefused as refused:
            self.close(refused.close_code, refused.reason)

    # -- pbxd.services.live.LiveConnection --------------------------------------------------------

    def send(self, message: Mapping[str, Any]) -> None:
        """Send one JSON message; while a write is in progress, queue it (the newest board
        replaces a queued one). Raises WebSocketClosedError once closed."""
        if self.ws_connection is None or self.ws_connection.is_closing():
            raise WebSocketClosedError()
        kind = message.get("type")
        text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        if self._writing is None:
            self._write(text)
            return
        if kind in REPLACEABLE:
            self._queue = deque(item for item in self._queue if item[0] != kind)
        self._queue.append((kind if isinstance(kind, str) else None, text))
        if len(self._queue) > MAX_QUEUED:
            log.info("live client of %s does not read: closed", self.user and self.user.username)
            self._queue.clear()
            self.close(CLOSE_SLOW, "too slow: reconnect")

    def _write(self, text: str) -> None:
        self._writing = self.write_message(text)
        self._writing.add_done_callback(self._written)

    def _written(self, future: Any) -> None:
        self._writing = None
        if future.cancelled() or future.exception() is not None:
            self._queue.clear()  # the connection is lost; on_close follows
            return
        if self._queue and self.ws_connection is not None and not self.ws_connection.is_closing():
            _, text = self._queue.popleft()
            self._write(text)


def _bearer(header: str) -> str | None:
    """The token of `Authorization: Bearer <token>` (RFC 6750 section 2.1), else None."""
    scheme, _, token = header.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None
