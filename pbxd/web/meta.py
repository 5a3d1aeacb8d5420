"""Health and the OpenAPI document."""

from __future__ import annotations

from .base import PUBLIC, BaseHandler
from .openapi import OPENAPI_DOCUMENT


class HealthHandler(BaseHandler):
    access = {"GET": PUBLIC}

    def get(self) -> None:
        status = {"status": "ok"}
        if self.ctx.status_provider is not None:
            # Extra fields (e.g. SIP registrations); a provider may override "status" itself.
            status.update(self.ctx.status_provider())
        self.reply(status)


class OpenApiHandler(BaseHandler):
    # Public like the firmware it describes: the document holds no device data, and clients
    # read it before they have a token.
    access = {"GET": PUBLIC}

    def get(self) -> None:
        self.reply(OPENAPI_DOCUMENT)
