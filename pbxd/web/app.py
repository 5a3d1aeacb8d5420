"""The Tornado application of the JSON API."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from tornado.web import Application

from ..services import Services
from .auth import LoginHandler, LogoutHandler
from .base import ApiContext, BaseHandler, NotFoundHandler, StatusProvider
from .cdr import CdrHandler
from .extensions import ExtensionHandler, ExtensionsHandler
from .meta import HealthHandler, OpenApiHandler, SystemStatusHandler
from .ratelimit import LoginThrottle

# Paths in OpenAPI template form; `{name}` matches one path segment, passed as `name`.
ROUTES: tuple[tuple[str, type[BaseHandler]], ...] = (
    ("/api/v1/health", HealthHandler),
    ("/api/v1/auth/login", LoginHandler),
    ("/api/v1/auth/logout", LogoutHandler),
    ("/api/v1/extensions", ExtensionsHandler),
    ("/api/v1/extensions/{number}", ExtensionHandler),
    ("/api/v1/cdr", CdrHandler),
    ("/api/v1/system/status", SystemStatusHandler),
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
) -> Application:
    """The API application. `clock` (monotonic seconds) drives the login rate limit.

    Serve it with a body cap above MAX_BODY_BYTES, e.g. `app.listen(port, address,
    max_body_size=1 << 20)`, so that oversized JSON gets a JSON 413 and huge uploads are cut off.
    """
    ctx = ApiContext(
        services=services,
        status_provider=status_provider,
        clock=clock,
        login_throttle=LoginThrottle(),
    )
    handlers = [(route_pattern(path), handler, {"ctx": ctx}) for path, handler in ROUTES]
    return Application(
        handlers,
        default_handler_class=NotFoundHandler,
        default_handler_args={"ctx": ctx},
        # Bearer tokens, not cookies: no XSRF exposure on the API.
        xsrf_cookies=False,
        serve_traceback=False,
    )
