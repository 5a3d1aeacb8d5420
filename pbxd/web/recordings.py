"""Recordings: /api/v1/recordings, /api/v1/recordings/{id}, /api/v1/recordings/{id}/audio.

Admin: everything. Supervisor: search, listen/download, note the recordings of his team (his
queues' calls, his agents' calls without a queue: pbxd/services/scope.py); no delete. Agent:
search and listen to the recordings of calls he took part in (his user's extension), nothing
else. Caller, callee and numbers in the note are masked by the user's `masking`; `party`
searches by the whole number. The audio is offered as `recording-<id>.wav`: no number.
"""

from __future__ import annotations

from typing import Any

from ..services import Masker, Role, Scope, UserView
from ..services.recordings import RecordingView
from .audio import send_audio
from .base import ADMIN_ONLY, ADMIN_OR_SUPERVISOR, ANY_ROLE, BaseHandler
from .errors import Forbidden, RouteNotFound
from .params import paging_params, time_param
from .schemas import iso_utc

DEFAULT_LIMIT = 50
SEARCH_PARAMETERS = ("from", "to", "party", "queue", "agent", "text")
_MAX_ID_DIGITS = 18


def user_extension(user: UserView) -> str | None:
    """The extension the user works at (m0002 link), None when unlinked."""
    return user.extension or None


def recording_scope(handler: BaseHandler) -> Scope:
    """The recordings the user may reach; an agent without an extension has none (403)."""
    user = handler.current_user
    assert user is not None  # prepare() authenticated the request
    if user.role is Role.AGENT and user_extension(user) is None:
        raise Forbidden("this agent account is linked to no extension, so it has no recordings")
    return handler.scope()


def search_filters(params: dict[str, str]) -> dict[str, Any]:
    """The filters of a recordings search (SEARCH_PARAMETERS) as `RecordingService.search`
    takes them."""
    return {
        "start_from": time_param(params, "from"),
        "start_to": time_param(params, "to"),
        "party": params.get("party"),
        "queue": params.get("queue"),
        "agent": params.get("agent"),
        "text": params.get("text"),
    }


def path_id(value: str, what: str) -> int:
    """A positive integer id from the URL; anything else is no resource (404)."""
    if not value.isascii() or not value.isdigit() or len(value) > _MAX_ID_DIGITS:
        raise RouteNotFound(f"no {what} {value!r}")
    number = int(value)
    if number == 0:
        raise RouteNotFound(f"no {what} {value!r}")
    return number


def recording_json(view: RecordingView, masker: Masker) -> dict[str, Any]:
    return {
        "id": view.id,
        "call_id": view.call_id,
        "start": iso_utc(view.start),
        "duration": view.duration,
        "caller": masker.number(view.caller),
        "callee": masker.number(view.callee),
        "queue": view.queue,
        "agent": view.agent,
        "note": masker.text(view.note),
        "format": view.format,
        "channels": view.channels,
        "size": view.size,
        "available": view.available,
        "audio": f"/api/v1/recordings/{view.id}/audio",
    }


class RecordingsHandler(BaseHandler):
    access = {"GET": ANY_ROLE}

    def get(self) -> None:
        params = self.query_params({*SEARCH_PARAMETERS, "limit", "offset"})
        limit, offset = paging_params(params, DEFAULT_LIMIT)
        page = self.services.recordings.search(
            **search_filters(params), scope=recording_scope(self), limit=limit, offset=offset
        )
        masker = self.masker()
        items = [recording_json(view, masker) for view in page.items]
        self.reply_page(items, page.total, limit, offset)


class RecordingHandler(BaseHandler):
    access = {"GET": ANY_ROLE, "PUT": ADMIN_OR_SUPERVISOR, "DELETE": ADMIN_ONLY}

    def get(self, id: str) -> None:  # noqa: A002 - the path parameter's name
        # Role first: an agent without an extension gets 403 whatever the id.
        scope = recording_scope(self)
        view = self.services.recordings.get(path_id(id, "recording"), scope=scope)
        self.reply(recording_json(view, self.masker()))

    def put(self, id: str) -> None:  # noqa: A002
        body = self.json_body({"note": str}, required=("note",))
        view = self.services.recordings.set_note(
            path_id(id, "recording"), body["note"], scope=recording_scope(self)
        )
        self.reply(recording_json(view, self.masker()))

    def delete(self, id: str) -> None:  # noqa: A002
        self.services.recordings.delete(path_id(id, "recording"))
        self.reply_no_content()


class RecordingAudioHandler(BaseHandler):
    access = {"GET": ANY_ROLE}

    async def get(self, id: str) -> None:  # noqa: A002
        scope = recording_scope(self)
        audio = self.services.recordings.audio(path_id(id, "recording"), scope=scope)
        await send_audio(self, audio)
