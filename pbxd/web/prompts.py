"""Prompts: /api/v1/prompts, /api/v1/prompts/{id}, /api/v1/prompts/{id}/audio.

Admin: everything. Supervisor: list and listen. Agent: nothing.

Uploads are any WAV the converter reads (pbxd.media.convert), up to MAX_UPLOAD_BYTES: a
browser form (POST, multipart/form-data with `id`, optional `language`, `file`) or a raw
body (PUT, audio/wav), streamed in as pbxd/web/uploads.py explains.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tornado.httputil import HTTPFile, HTTPInputError, parse_body_arguments

from ..services.prompts import PromptFile, PromptView
from .audio import send_audio
from .base import ADMIN_ONLY, ADMIN_OR_SUPERVISOR, BaseHandler, reject_unknown_fields
from .errors import InvalidRequest, PayloadTooLarge
from .schemas import iso_utc
from .uploads import UnsupportedMediaType, UploadHandler

MAX_UPLOAD_BYTES = 16 * 1024 * 1024
# Room for the multipart boundaries and part headers around a file of MAX_UPLOAD_BYTES.
_MULTIPART_OVERHEAD = 64 * 1024
WAV_TYPES = ("audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave")


def prompt_json(view: PromptView) -> dict[str, Any]:
    return {
        "id": view.id,
        "source": view.source,
        "system": view.system,
        "overrides_system": view.overrides_system,
        "languages": list(view.languages),
        "duration": view.duration,
        "size": view.size,
        "modified": iso_utc(view.modified),
        "files": [_file_json(file) for file in view.files],
        "audio": f"/api/v1/prompts/{view.id}/audio",
    }


def _file_json(file: PromptFile) -> dict[str, Any]:
    return {
        "source": file.source,
        "language": file.language,
        "plays_in": list(file.plays_in),
        "duration": file.duration,
        "size": file.size,
        "modified": iso_utc(file.modified),
    }


class _PromptUploadHandler(UploadHandler):
    upload_limit = MAX_UPLOAD_BYTES

    def language_param(self, allowed: set[str]) -> str | None:
        return self.query_params(allowed).get("language")

    async def store(self, prompt_id: str, language: str | None, data: bytes) -> PromptView:
        """Convert and write on a worker thread: seconds of CPU must not stall the loop that
        also carries the calls' media."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            None, self.services.prompts.upload, prompt_id, language, data
        )


class PromptsHandler(_PromptUploadHandler):
    access = {"GET": ADMIN_OR_SUPERVISOR, "POST": ADMIN_ONLY}
    upload_methods = frozenset({"POST"})
    upload_limit = MAX_UPLOAD_BYTES + _MULTIPART_OVERHEAD

    def get(self) -> None:
        self.query_params(set())
        self.reply({"items": [prompt_json(view) for view in self.services.prompts.list()]})

    def check_content_type(self, content_type: str) -> None:
        if _media_type(content_type) != "multipart/form-data":
            raise UnsupportedMediaType(
                "send a form as multipart/form-data with the fields id, language (optional) "
                "and file"
            )

    async def post(self) -> None:
        self.query_params(set())
        content_type = self.request.headers.get("Content-Type", "")
        fields: dict[str, list[bytes]] = {}
        files: dict[str, list[HTTPFile]] = {}
        try:
            parse_body_arguments(content_type, self.body(), fields, files, self.request.headers)
        except HTTPInputError as exc:
            raise InvalidRequest(f"request body: {exc}") from None
        reject_unknown_fields([*fields, *files], ("id", "language", "file"))
        prompt_id = _text_field(fields, "id", required=True)
        language = _text_field(fields, "language", required=False) or None
        uploaded = files.get("file")
        if not uploaded or len(uploaded) != 1:
            raise InvalidRequest("file: required (one WAV file)", field="file")
        if len(uploaded[0].body) > MAX_UPLOAD_BYTES:
            raise PayloadTooLarge(f"file larger than {MAX_UPLOAD_BYTES} bytes")
        view = await self.store(prompt_id, language, uploaded[0].body)
        self.set_header("Location", f"/api/v1/prompts/{view.id}")
        self.reply(prompt_json(view), status=201)


class PromptHandler(_PromptUploadHandler):
    access = {"GET": ADMIN_OR_SUPERVISOR, "PUT": ADMIN_ONLY, "DELETE": ADMIN_ONLY}
    upload_methods = frozenset({"PUT"})

    def get(self, id: str) -> None:  # noqa: A002 - the path parameter's name
        self.query_params(set())
        self.reply(prompt_json(self.services.prompts.get(id)))

    def check_content_type(self, content_type: str) -> None:
        if _media_type(content_type) not in WAV_TYPES:
            raise UnsupportedMediaType(
                f"send the WAV file as the body with Content-Type {WAV_TYPES[0]}"
            )

    async def put(self, id: str) -> None:  # noqa: A002
        language = self.language_param({"language"})
        existed = self.services.prompts.has_upload(id, language)
        view = await self.store(id, language, self.body())
        self.reply(prompt_json(view), status=200 if existed else 201)

    def delete(self, id: str) -> None:  # noqa: A002
        self.services.prompts.delete(id, self.language_param({"language"}))
        self.reply_no_content()


class PromptAudioHandler(BaseHandler):
    access = {"GET": ADMIN_OR_SUPERVISOR}

    async def get(self, id: str) -> None:  # noqa: A002
        language = self.query_params({"language"}).get("language")
        await send_audio(self, self.services.prompts.audio(id, language))


def _media_type(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def _text_field(fields: dict[str, list[bytes]], name: str, *, required: bool) -> str:
    values = fields.get(name, [])
    if not values:
        if required:
            raise InvalidRequest(f"{name}: required", field=name)
        return ""
    if len(values) > 1:
        raise InvalidRequest(f"{name}: given more than once", field=name)
    try:
        return values[0].decode("utf-8").strip()
    except UnicodeDecodeError:
        raise InvalidRequest(f"{name}: not UTF-8 text", field=name) from None
