"""Extensions: /api/v1/extensions and /api/v1/extensions/{number}."""

from __future__ import annotations

from urllib.parse import quote

from .base import ADMIN_ONLY, BaseHandler
from .schemas import extension_json

# What a client may set; the secret and the PIN are written, never read back.
_FIELDS = {"name": str, "secret": str, "recording": str, "voicemail": bool, "voicemail_pin": str}


class ExtensionsHandler(BaseHandler):
    access = {"GET": ADMIN_ONLY, "POST": ADMIN_ONLY}

    def get(self) -> None:
        self.reply({"items": [extension_json(view) for view in self.services.extensions.list()]})

    def post(self) -> None:
        body = self.json_body(
            {**_FIELDS, "number": str},
            required=("number", "name", "secret"),
        )
        view = self.services.extensions.create(
            body["number"],
            body["name"],
            body["secret"],
            body.get("recording", "none"),
            body.get("voicemail", False),
            body.get("voicemail_pin"),
        )
        self.set_header("Location", f"/api/v1/extensions/{quote(view.number)}")
        self.reply(extension_json(view), status=201)


class ExtensionHandler(BaseHandler):
    access = {"GET": ADMIN_ONLY, "PUT": ADMIN_ONLY, "DELETE": ADMIN_ONLY}

    def get(self, number: str) -> None:
        self.reply(extension_json(self.services.extensions.get(number)))

    def put(self, number: str) -> None:
        body = self.json_body(_FIELDS)
        view = self.services.extensions.update(
            number,
            name=body.get("name"),
            secret=body.get("secret"),
            recording=body.get("recording"),
            voicemail=body.get("voicemail"),
            voicemail_pin=body.get("voicemail_pin"),
        )
        self.reply(extension_json(view))

    def delete(self, number: str) -> None:
        self.services.extensions.delete(number)
        self.reply_no_content()
