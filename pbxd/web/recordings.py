"""Recordings: /api/v1/recordings, /api/v1/recordings/{id}, /api/v1/recordings/{id}/audio.

Admin: everything. Supervisor: search, listen/download, note; no delete. Agent: search and
listen to the recordings of calls he took part in (his user's extension), nothing else.
"""

from __future__ import annotations

from typing import Any

from ..services import Role, UserView
from ..services.recordings import RecordingView
from .audio import send_audio
from .base import ADMIN_ONLY, ADMIN_OR_SUPERVISOR, ANY_ROLE, BaseHandler
from .cdr import _integer, _moment
from .errors import Forbidden, RouteNotFound
from .schemas import iso_utc

DEFAULT_LIMIT = 50
_MAX_ID_DIGITS = 18


def user_extension(user: UserView) -> str | None:
    """The extension the user works at (m0002 link), None when unlinked."""
    return user.extension or None


def participant(user: UserView) -> str | None:
    """None for roles that see every recording; the agent's extension otherwise."""
    if user.role in (Role.ADMIN, Role.SUPERVISOR):
        return None
    extension = user_extension(user)
    if extension is None:
        raise Forbidden("this agent account is linked to no extension, so it has no recordings")
    return extension


def path_id(value: str, what: str) -> int:
    """A positive integer id from the URL; anything else is no resource (404)."""
    if not value.isascii() or not value.isdigit() or len(value) > _MAX_ID_DIGITS:
        raise RouteNotFound(f"no {what} {value!r}")
    number = int(value)
    if number == 0:
        raise RouteNotFound(f"no {what} {value!r}")
    return number


def recording_json(view: RecordingView) -> dict[str, Any]:
    return {
        "id": view.id,
        "call_id": view.call_id,
        "start": iso_utc(view.start),
        "duration": view.duration,
        "caller": view.caller,
        "callee": view.callee,
        "queue": view.queue,
        "agent": view.agent,
        "note": view.note,
        "format": view.format,
        "channels": view.channels,
        "size": view.size,
        "available": view.available,
        "audio": f"/api/v1/recordings/{view.id}/audio",
    }


class RecordingsHandler(BaseHandler):
    access = {"GET": ANY_ROLE}

    def get(self) -> None:
        params = self.query_params(
            {"from", "to", "party", "queue", "agent", "text", "limit", "offset"}
        )
        limit = _integer(params, "limit", DEFAULT_LIMIT)
        offset = _integer(params, "offset", 0)
        page = self.services.recordings.search(
            start_from=_moment(params, "from"),
            start_to=_moment(params, "to"),
            party=params.get("party"),
            queue=params.get("queue"),
            agent=params.get("agent"),
            text=params.get("text"),
            participant=participant(self.current_user),
            limit=limit,
            offset=offset,
        )
        self.reply(
            {
                "items": [recording_json(view) for view in page.items],
                "total": page.total,
                "limit": limit,
                "offset": offset,
            }
        )


class RecordingHandler(BaseHandler):
    access = {"GET": ANY_ROLE, "PUT": ADMIN_OR_SUPERVISOR, "DELETE": ADMIN_ONLY}

    def get(self, id: str) -> None:  # noqa: A002 - the path parameter's name
        # Role first: an agent without an extension gets 403 whatever the id.
        allowed = participant(self.current_user)
        view = self.services.recordings.get(path_id(id, "recording"), participant=allowed)
        self.reply(recording_json(view))

    def put(self, id: str) -> None:  # noqa: A002
        body = self.json_body({"note": str}, required=("note",))
        view = self.services.recordings.set_note(path_id(id, "recording"), body["note"])
        self.reply(recording_json(view))

    def delete(self, id: str) -> None:  # noqa: A002
        self.services.recordings.delete(path_id(id, "recording"))
        self.set_status(204)
        self.finish()


class RecordingAudioHandler(BaseHandler):
    access = {"GET": ANY_ROLE}

    async def get(self, id: str) -> None:  # noqa: A002
        allowed = participant(self.current_user)
        audio = self.services.recordings.audio(path_id(id, "recording"), participant=allowed)
        await send_audio(self, audio)
