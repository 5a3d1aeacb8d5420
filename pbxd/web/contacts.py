"""The customer directory and the blacklist (m0007): /api/v1/contacts, /api/v1/blacklist.

Contacts: every role reads; admins and supervisors write. Blacklist: admins write,
supervisors read, agents nothing. Numbers (and numbers in notes) are masked by the reader's
`masking` like everywhere else: a `name_only` user sees a contact's name, its number as
"****"; `number=` still finds a contact by the whole number.
"""

from __future__ import annotations

from typing import Any

from ..services import BlacklistView, ContactView, Masker
from .base import ADMIN_ONLY, ADMIN_OR_SUPERVISOR, ANY_ROLE, BaseHandler
from .params import paging_params
from .recordings import path_id
from .schemas import iso_utc

CONTACTS_PATH = "/api/v1/contacts"
BLACKLIST_PATH = "/api/v1/blacklist"
DEFAULT_LIMIT = 100


def contact_json(view: ContactView, masker: Masker) -> dict[str, Any]:
    return {
        "id": view.id,
        # The name is right beside it: name_only shows the placeholder here, not the name.
        "number": masker.number(view.number, with_name=False),
        "name": view.name,
        "company": view.company,
        "note": masker.text(view.note),
        "created_at": iso_utc(view.created_at),
        "updated_at": iso_utc(view.updated_at),
    }


def blacklist_json(view: BlacklistView, masker: Masker) -> dict[str, Any]:
    return {
        "id": view.id,
        "number": masker.pattern(view.number),
        "direction": str(view.direction),
        "note": masker.text(view.note),
        "created_at": iso_utc(view.created_at),
        "hits": view.hits,
        "last_hit": iso_utc(view.last_hit) if view.last_hit is not None else None,
    }


class ContactsHandler(BaseHandler):
    access = {"GET": ANY_ROLE, "POST": ADMIN_OR_SUPERVISOR}

    def get(self) -> None:
        params = self.query_params({"number", "text", "limit", "offset"})
        limit, offset = paging_params(params, DEFAULT_LIMIT)
        page = self.services.contacts.search(
            number=params.get("number"), text=params.get("text"), limit=limit, offset=offset
        )
        masker = self.masker()
        items = [contact_json(view, masker) for view in page.items]
        self.reply_page(items, page.total, limit, offset)

    def post(self) -> None:
        view = self.services.contacts.create(self.json_object())
        self.set_header("Location", f"{CONTACTS_PATH}/{view.id}")
        self.reply(contact_json(view, self.masker()), status=201)


class ContactHandler(BaseHandler):
    access = {"GET": ANY_ROLE, "PUT": ADMIN_OR_SUPERVISOR, "DELETE": ADMIN_OR_SUPERVISOR}

    def get(self, id: str) -> None:  # noqa: A002 - the path parameter's name
        view = self.services.contacts.get(path_id(id, "contact"))
        self.reply(contact_json(view, self.masker()))

    def put(self, id: str) -> None:  # noqa: A002
        view = self.services.contacts.update(path_id(id, "contact"), self.json_object())
        self.reply(contact_json(view, self.masker()))

    def delete(self, id: str) -> None:  # noqa: A002
        self.services.contacts.delete(path_id(id, "contact"))
        self.reply_no_content()


class BlacklistHandler(BaseHandler):
    access = {"GET": ADMIN_OR_SUPERVISOR, "POST": ADMIN_ONLY}

    def get(self) -> None:
        self.query_params(())
        masker = self.masker()
        items = [blacklist_json(view, masker) for view in self.services.blacklist.list()]
        self.reply({"items": items})

    def post(self) -> None:
        view = self.services.blacklist.create(self.json_object())
        self.set_header("Location", f"{BLACKLIST_PATH}/{view.id}")
        self.reply(blacklist_json(view, self.masker()), status=201)


class BlacklistEntryHandler(BaseHandler):
    access = {"GET": ADMIN_OR_SUPERVISOR, "PUT": ADMIN_ONLY, "DELETE": ADMIN_ONLY}

    def get(self, id: str) -> None:  # noqa: A002 - the path parameter's name
        view = self.services.blacklist.get(path_id(id, "blacklist entry"))
        self.reply(blacklist_json(view, self.masker()))

    def put(self, id: str) -> None:  # noqa: A002
        view = self.services.blacklist.update(path_id(id, "blacklist entry"), self.json_object())
        self.reply(blacklist_json(view, self.masker()))

    def delete(self, id: str) -> None:  # noqa: A002
        self.services.blacklist.delete(path_id(id, "blacklist entry"))
        self.reply_no_content()
