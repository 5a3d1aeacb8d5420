"""The web API (Tornado): `make_app(services)` builds the application."""

from .app import ROUTES, make_app
from .base import MAX_BODY_BYTES

__all__ = ["MAX_BODY_BYTES", "ROUTES", "make_app"]
