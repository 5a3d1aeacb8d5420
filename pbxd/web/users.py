"""Users: /api/v1/users (admin), /api/v1/users/{username} (admin), /api/v1/users/me (self).

A user's JSON never holds his password or its hash; `password` is written only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ..services import UserView
from ..services.users import UNSET
from .base import ADMIN_ONLY, ANY_ROLE, SESSION_COOKIE, BaseHandler

# What an administrator may set; `extension` may also be null (no extension).
_FIELDS: dict[str, type] = {
    "role": str,
    "password": str,
    "extension": str,
    "language": str,
    "queues": list,
    "masking": str,
}
_NULLABLE = ("extension",)


def user_json(view: UserView) -> dict[str, Any]:
    # Built field by field: the password hash is not in the view, and must never be added here.
    return {
        "username": view.username,
        "role": str(view.role),
        "extension": view.extension,
        "language": str(view.language),
        "queues": list(view.queues),
        "masking": str(view.masking),
    }


class UsersHandler(BaseHandler):
    access = {"GET": ADMIN_ONLY, "POST": ADMIN_ONLY}

    def get(self) -> None:
        self.reply({"items": [user_json(view) for view in self.services.users.list_users()]})

    def post(self) -> None:
        body = self.json_body(
            {**_FIELDS, "username": str},
            required=("username", "role", "password"),
            nullable=_NULLABLE,
        )
        view = self.services.users.create_user(
            body["username"],
            body["password"],
            body["role"],
            extension=body.get("extension"),
            language=body.get("language", "zh-CN"),
            queues=body.get("queues", []),
            masking=body.get("masking"),
        )
        self.set_header("Location", f"/api/v1/users/{quote(view.username)}")
        self.reply(user_json(view), status=201)


class UserHandler(BaseHandler):
    access = {"GET": ADMIN_ONLY, "PUT": ADMIN_ONLY, "DELETE": ADMIN_ONLY}

    def get(self, username: str) -> None:
        self.reply(user_json(self.services.users.get_user(username)))

    def put(self, username: str) -> None:
        body = self.json_body(_FIELDS, nullable=_NULLABLE)
        user = self.current_user
        assert user is not None  # prepare() authenticated the request
        # A new password of his own ends his other sessions, not the one of this request.
        himself = user.username == username
        by_session = self.session is not None
        view = self.services.users.update_user(
            username,
            **{name: body.get(name, UNSET) for name in _FIELDS},
            keep_session=self.get_cookie(SESSION_COOKIE) if himself and by_session else None,
            keep_token=self.bearer_token() if himself and not by_session else None,
        )
        self.reply(user_json(view))

    def delete(self, username: str) -> None:
        self.services.users.delete_user(username)
        self.reply_no_content()


class MeHandler(BaseHandler):
    """The caller's own user: read it, choose the console language."""

    access = {"GET": ANY_ROLE, "PUT": ANY_ROLE}

    def get(self) -> None:
        user = self.current_user
        assert user is not None  # prepare() authenticated the request
        self.reply(user_json(user))

    def put(self) -> None:
        body = self.json_body({"language": str}, required=("language",))
        user = self.current_user
        assert user is not None  # prepare() authenticated the request
        self.reply(user_json(self.services.users.update_user(user.username, **body)))
