"""Voicemail: /api/v1/voicemail/{box} (messages) and /api/v1/voicemail/{box}/{id} (audio,
mark new/old, delete).

Admin: every box. Supervisor: read, listen and mark the boxes of his team (his queues', his
agents' and his own, pbxd/services/scope.py); delete in his own box only. Agent: his own box
(his user's extension) only. The caller's number is masked by the user's `masking`; the
audio is offered as `voicemail-<box>-<id>.wav`.
"""

from __future__ import annotations

from typing import Any

from ..services import Masker, Role
from ..services.voicemail_index import VoicemailView
from .audio import send_audio
from .base import ANY_ROLE, BaseHandler
from .errors import Forbidden
from .recordings import path_id, user_extension
from .schemas import iso_utc


def voicemail_json(view: VoicemailView, masker: Masker) -> dict[str, Any]:
    return {
        "id": view.id,
        "box": view.box,
        "caller": masker.number(view.caller),
        "time": iso_utc(view.time),
        "duration": view.duration,
        "new": view.new,
        "available": view.available,
        "audio": f"/api/v1/voicemail/{view.box}/{view.id}",
    }


def check_box_access(handler: BaseHandler, box: str, *, owner_only: bool = False) -> None:
    """403 unless the user may use voicemail box `box`: an admin any box, a supervisor the
    boxes of his team (pbxd/services/scope.py), anyone his own box (his user's extension).
    `owner_only` (deleting, changing the greeting): only admins and the box's owner."""
    user = handler.current_user
    assert user is not None  # prepare() authenticated the request
    if user.role is Role.ADMIN:
        return
    if user.role is Role.SUPERVISOR and not owner_only:
        if not handler.scope().sees_box(box):
            raise Forbidden(f"voicemail box {box} belongs to none of your queues or agents")
        return
    if user_extension(user) != box:
        raise Forbidden(f"role {user.role} may only use its own voicemail box")


class VoicemailBoxHandler(BaseHandler):
    access = {"GET": ANY_ROLE}

    def get(self, box: str) -> None:
        check_box_access(self, box)
        items = self.services.voicemail.messages(box)
        counts = self.services.voicemail.counts(box)
        self.reply(
            {
                "box": box,
                "new": counts.new,
                "old": counts.old,
                "items": [voicemail_json(view, self.masker()) for view in items],
            }
        )


class VoicemailMessageHandler(BaseHandler):
    access = {"GET": ANY_ROLE, "PUT": ANY_ROLE, "DELETE": ANY_ROLE}

    async def get(self, box: str, id: str) -> None:  # noqa: A002 - the path parameter's name
        check_box_access(self, box)
        await send_audio(self, self.services.voicemail.audio(box, path_id(id, "message")))

    def put(self, box: str, id: str) -> None:  # noqa: A002
        check_box_access(self, box)
        body = self.json_body({"new": bool}, required=("new",))
        view = self.services.voicemail.mark(box, path_id(id, "message"), new=body["new"])
        self.reply(voicemail_json(view, self.masker()))

    def delete(self, box: str, id: str) -> None:  # noqa: A002
        check_box_access(self, box, owner_only=True)
        self.services.voicemail.delete(box, path_id(id, "message"))
        self.reply_no_content()
