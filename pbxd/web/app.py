"""The Tornado application of the JSON API."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tornado.web import Application

from ..services import Services
from ..services.live import LiveHub
from ..transport.ws import WebSocketTransport
from .archive import RecordingsArchiveHandler
from .auth import LoginHandler, LogoutHandler, MyPasswordHandler, SessionHandler
from .base import ApiContext, BaseHandler, NotFoundHandler, StatusProvider
from .callcenter import (
    AgentHandler,
    AgentLoginHandler,
    AgentLogoutHandler,
    AgentPauseHandler,
    AgentsHandler,
    AgentUnpauseHandler,
    ConferenceHandler,
    ConferencesHandler,
    InboundRouteHandler,
    InboundRoutesHandler,
    IvrHandler,
    IvrsHandler,
    QueueHandler,
    QueuesHandler,
    RingGroupHandler,
    RingGroupsHandler,
    TrunkHandler,
    TrunksHandler,
)
from .calls import (
    CALL_CONTROL_ROUTES,
    AgentHangupHandler,
    AgentMonitorHandler,
    LiveCallsHandler,
)
from .cdr import CdrHandler
from .contacts import BlacklistEntryHandler, BlacklistHandler, ContactHandler, ContactsHandler
from .extensions import ExtensionHandler, ExtensionsHandler
from .greetings import GreetingHandler
from .history import CallLegsHandler, QueueEventsHandler
from .live import PATH as LIVE_PATH
from .live import LiveHandler
from .meta import HealthHandler, OpenApiHandler, SystemStatusHandler
from .mycalls import MyCallBackHandler, MyCallsHandler, MyDialHandler
from .oplog import OperationLogHandler
from .prompts import PromptAudioHandler, PromptHandler, PromptsHandler
from .ratelimit import LoginThrottle
from .recordings import RecordingAudioHandler, RecordingHandler, RecordingsHandler
from .reports import ReportsHandler
from .screenpop import (
    CallDispositionHandler,
    DispositionCodeHandler,
    DispositionCodesHandler,
    DispositionsHandler,
    MemosHandler,
    ScreenPopHandler,
)
from .sipws import PATH as SIP_WS_PATH
from .sipws import SipWebSocketHandler
from .softphone import SoftphoneHandler
from .static import ui_routes
from .system import BackupHandler, RestoreHandler, SystemInfoHandler
from .users import MeHandler, UserHandler, UsersHandler
from .voicemail import VoicemailBoxHandler, VoicemailMessageHandler

# Paths in OpenAPI template form; `{name}` matches one path segment, passed as `name`.
ROUTES: tuple[tuple[str, type[BaseHandler]], ...] = (
    ("/api/v1/health", HealthHandler),
    ("/api/v1/auth/login", LoginHandler),
    ("/api/v1/auth/logout", LogoutHandler),
    # web console: sessions, users, operation log (issue 6, docs/WEBAUTH.md); "me" before
    # {username}, which it would match
    ("/api/v1/auth/session", SessionHandler),
    ("/api/v1/users", UsersHandler),
    ("/api/v1/users/me", MeHandler),
    ("/api/v1/users/me/password", MyPasswordHandler),
    ("/api/v1/users/me/softphone", SoftphoneHandler),
    ("/api/v1/users/me/calls", MyCallsHandler),
    ("/api/v1/users/me/calls/{call_id}/dial", MyCallBackHandler),
    ("/api/v1/users/me/dial", MyDialHandler),
    ("/api/v1/users/{username}", UserHandler),
    ("/api/v1/operation-log", OperationLogHandler),
    ("/api/v1/extensions", ExtensionsHandler),
    ("/api/v1/extensions/{number}", ExtensionHandler),
    # call-center configuration and agents (m0002)
    ("/api/v1/queues", QueuesHandler),
    ("/api/v1/queues/{number}", QueueHandler),
    ("/api/v1/agents", AgentsHandler),
    ("/api/v1/agents/{extension}", AgentHandler),
    ("/api/v1/agents/{extension}/login", AgentLoginHandler),
    ("/api/v1/agents/{extension}/logout", AgentLogoutHandler),
    ("/api/v1/agents/{extension}/pause", AgentPauseHandler),
    ("/api/v1/agents/{extension}/unpause", AgentUnpauseHandler),
    # live agent calls and supervisor monitoring (issue 7)
    ("/api/v1/agents/{extension}/monitor", AgentMonitorHandler),
    ("/api/v1/agents/{extension}/hangup", AgentHangupHandler),
    # the agent's call controls: /call, /call/hold ... /call/consult/complete (issue 7)
    *CALL_CONTROL_ROUTES,
    ("/api/v1/calls/live", LiveCallsHandler),
    ("/api/v1/ivrs", IvrsHandler),
    ("/api/v1/ivrs/{name}", IvrHandler),
    ("/api/v1/inbound-routes", InboundRoutesHandler),
    ("/api/v1/inbound-routes/{id}", InboundRouteHandler),
    ("/api/v1/trunks", TrunksHandler),
    ("/api/v1/trunks/{name}", TrunkHandler),
    ("/api/v1/ring-groups", RingGroupsHandler),
    ("/api/v1/ring-groups/{number}", RingGroupHandler),
    ("/api/v1/conferences", ConferencesHandler),
    ("/api/v1/conferences/{number}", ConferenceHandler),
    ("/api/v1/cdr", CdrHandler),
    ("/api/v1/cdr/{call_id}/legs", CallLegsHandler),
    ("/api/v1/reports", ReportsHandler),
    ("/api/v1/queue-events", QueueEventsHandler),
    ("/api/v1/prompts", PromptsHandler),
    ("/api/v1/prompts/{id}", PromptHandler),
    ("/api/v1/prompts/{id}/audio", PromptAudioHandler),
    ("/api/v1/recordings", RecordingsHandler),
    ("/api/v1/recordings/archive", RecordingsArchiveHandler),
    ("/api/v1/recordings/{id}", RecordingHandler),
    ("/api/v1/recordings/{id}/audio", RecordingAudioHandler),
    ("/api/v1/voicemail/{box}", VoicemailBoxHandler),
    ("/api/v1/voicemail/{box}/greeting", GreetingHandler),
    ("/api/v1/voicemail/{box}/{id}", VoicemailMessageHandler),
    # customers and the blacklist (m0007)
    ("/api/v1/contacts", ContactsHandler),
    ("/api/v1/contacts/{id}", ContactHandler),
    ("/api/v1/blacklist", BlacklistHandler),
    ("/api/v1/blacklist/{id}", BlacklistEntryHandler),
    # the agent's screen pop, memos and wrap-up dispositions (issue 7, m0008)
    ("/api/v1/screenpop", ScreenPopHandler),
    ("/api/v1/memos", MemosHandler),
    ("/api/v1/dispositions", DispositionsHandler),
    ("/api/v1/calls/{call_id}/disposition", CallDispositionHandler),
    ("/api/v1/disposition-codes", DispositionCodesHandler),
    ("/api/v1/disposition-codes/{code}", DispositionCodeHandler),
    ("/api/v1/system/status", SystemStatusHandler),
    ("/api/v1/system/info", SystemInfoHandler),
    ("/api/v1/system/backup", BackupHandler),
    ("/api/v1/system/restore", RestoreHandler),
    ("/api/v1/openapi.json", OpenApiHandler),
)

_PARAMETER = re.compile(r"\{(\w+)\}")


def route_pattern(template: str) -> str:
    """'/api/v1/extensions/{number}' -> a Tornado pattern with a named group per parameter."""
    parts = _PARAMETER.split(template)
    # split() alternates literal text and parameter names.
    return (
        "".join(
            re.escape(part) if index % 2 == 0 else f"(?P<{part}>[^/]+)"
            for index, part in enumerate(parts)
        )
        + "$"
    )


def make_app(
    services: Services,
    *,
    status_provider: StatusProvider | None = None,
    clock: Callable[[], float] = time.monotonic,
    ui_dir: Path | None = None,
    sip_ws: WebSocketTransport | None = None,
    live: LiveHub | None = None,
    tls: Mapping[str, Any] | None = None,
) -> Application:
    """The API application. `clock` (monotonic seconds) drives the login rate limit.
    `ui_dir`: the built web console (pbxd.web.static), served at / and /ui/; None: API only.
    `sip_ws`: the SIP core's WebSocket transport, served at /ws (RFC 7118); None: no /ws.
    `live`: the live push hub (pbxd.services.live), served at /api/v1/live; None: none.
    `tls`: the HTTPS port and certificate (pbxd.web.tls DeviceCertificate.info) that
    /api/v1/system/info shows; None: no HTTPS. Serving HTTPS is the caller's listen().

    Serve it with a body cap above MAX_BODY_BYTES, e.g. `app.listen(port, address,
    max_body_size=1 << 20)`, so that oversized JSON gets a JSON 413 and huge uploads are cut off.
    """
    ctx = ApiContext(
        services=services,
        status_provider=status_provider,
        clock=clock,
        login_throttle=LoginThrottle(),
        tls=tls,
    )
    handlers = [
        (route_pattern(path), handler, {"ctx": ctx, "route": path}) for path, handler in ROUTES
    ]
    if ui_dir is not None:
        # After the API's routes: /api/... never reaches the console (unknown ones get JSON 404).
        handlers += ui_routes(ui_dir)
    app = Application(
        handlers,
        default_handler_class=NotFoundHandler,
        default_handler_args={"ctx": ctx},
        # Session cookies are guarded by BaseHandler (X-CSRF-Token and Origin checks), bearer
        # tokens need no guard: Tornado's own XSRF cookie stays off.
        xsrf_cookies=False,
        serve_traceback=False,
    )
    if sip_ws is not None:
        # SIP over WebSocket is no JSON API route (not a BaseHandler, not in OpenAPI): it goes
        # into its own host rule, matched before the API's, and stays out of ROUTES.
        app.add_handlers(r".*$", [(SIP_WS_PATH, SipWebSocketHandler, {"transport": sip_ws})])
    if live is not None:
        # The live channel (wallboard, agent state, pops) is a WebSocket too: same treatment.
        app.add_handlers(r".*$", [(LIVE_PATH, LiveHandler, {"ctx": ctx, "hub": live})])
    return app
