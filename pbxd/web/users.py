"""Users: /api/v1/users (admin), /api/v1/users/{username} (admin), /api/v1/users/me (self).

A user's JSON never holds his password or its hash; `password` is written only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ..services import UserView
from ..services.users import UNSET
from .base import ADMIN_ONLY, ANY_ROLE, SESSION_COOKIE, BaseHandler
from .errors import InvalidRequest

# What an administrator may set; `extension` may also be null (no extension).
_FIELDS: dict[str, type] = {
    "role": str,
    "password": str,
    "extension": str,
    "language": str,
    "queues": list,
    "masking": str,
}
_NULLABLE = frozenset({"extension"})
_TYPE_NAMES = {str: "a string", list: "an array"}


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


def _user_body(
    handler: BaseHandler, fields: dict[str, type], required: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The body as a JSON object of `fields` (each of its type, or null when nullable)."""
    data = handler.json_object()
    for name in data:
        if name not in fields:
            raise InvalidRequest(f"{name}: unknown field", field=name)
    for name in required:
        if name not in data:
            raise InvalidRequest(f"{name}: required", field=name)
    for name, value in data.items():
        if value is None and name in _NULLABLE:
            continue
        if not isinstance(value, fields[name]) or isinstance(value, bool):
            expected = _TYPE_NAMES[fields[name]] + (" or null" if name in _NULLABLE else "")
            raise InvalidRequest(f"{name}: expected {expected}", field=name)
    return data


class UsersHandler(BaseHandler):
    access = {"GET": ADMIN_ONLY, "POST": ADMIN_ONLY}

    def get(self) -> None:
        self.reply({"items": [user_json(view) for view in self.services.users.list_users()]})

    def post(self) -> None:
        body = _user_body(
            self, {**_FIELDS, "username": str}, required=("username", "role", "password")
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
        body = _user_body(self, _FIELDS)
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
        self.set_status(204)
        self.finish()


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
