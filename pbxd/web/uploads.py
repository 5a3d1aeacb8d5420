"""Handlers that take an upload bigger than a JSON body (prompts, configuration backups).

The server's body cap (MAX_HTTP_BODY in pbxd.daemon, about 1 MiB) and BaseHandler's 64 KiB
JSON limit stay as they are for every other handler: these stream their body
(`stream_request_body`), so `prepare()` runs on the headers alone (the token and role are
checked before a byte of the upload is read) and then raises the connection's cap for this
one request only.
"""

from __future__ import annotations

from typing import ClassVar

from tornado.http1connection import HTTP1Connection
from tornado.web import stream_request_body

from .base import MAX_BODY_BYTES, BaseHandler
from .errors import ApiError, PayloadTooLarge


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_media_type"


@stream_request_body
class UploadHandler(BaseHandler):
    """Collects the body itself: up to `upload_limit` bytes for the methods in
    `upload_methods`, MAX_BODY_BYTES for the others (as every other handler)."""

    upload_methods: ClassVar[frozenset[str]] = frozenset()
    upload_limit: ClassVar[int] = MAX_BODY_BYTES

    def prepare(self) -> None:
        self._chunks: list[bytes] = []
        self._received = 0
        uploading = self.request.method in self.upload_methods
        self._limit = self.upload_limit if uploading else MAX_BODY_BYTES
        super().prepare()  # the token and role (the streamed body is still empty here)
        length = self.request.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) > self._limit:
            raise PayloadTooLarge(f"request body larger than {self._limit} bytes")
        if uploading:
            self.check_content_type(self.request.headers.get("Content-Type", ""))
        # The server refuses bodies above its own cap; this request may carry more. (Tornado
        # also enforces this cap on a chunked body, closing the connection.)
        if isinstance(self.request.connection, HTTP1Connection):
            self.request.connection.set_max_body_size(self._limit)

    def check_content_type(self, content_type: str) -> None:
        """UnsupportedMediaType unless the upload is sent as this handler expects."""

    def data_received(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._received <= self._limit:
            self._chunks.append(chunk)

    def body(self) -> bytes:
        if self._received > self._limit:
            raise PayloadTooLarge(f"request body larger than {self._limit} bytes")
        return b"".join(self._chunks)
