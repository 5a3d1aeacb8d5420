"""Health and the OpenAPI document."""

from __future__ import annotations

from .base import ADMIN_OR_SUPERVISOR, PUBLIC, BaseHandler
from .openapi import OPENAPI_DOCUMENT


class HealthHandler(BaseHandler):
    access = {"GET": PUBLIC}

    def get(self) -> None:
        # Public, so it says nothing about the device beyond being up.
        self.reply({"status": "ok"})


class SystemStatusHandler(BaseHandler):
    access = {"GET": ADMIN_OR_SUPERVISOR}

    def get(self) -> None:
        status = {"status": "ok"}
        if self.ctx.status_provider is not None:
            # Registrations, active calls, SIP counters (dropped datagrams, 4xx answers ...).
            status.update(self.ctx.status_provider())
        self.reply(status)


class OpenApiHandler(BaseHandler):
    # Public like the firmware it describes: the document holds no device data, and clients
    # read it before they have a token.
    access = {"GET": PUBLIC}

    def get(self) -> None:
        self.reply(OPENAPI_DOCUMENT)
