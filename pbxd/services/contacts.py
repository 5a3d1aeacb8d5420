"""The customer directory: /api/v1/contacts (m0007).

Minimal for now (issue 6): a number, the customer's name, company and a note. Number masking
shows a `name_only` user the name instead of the number (`name_for`); the CRM of issue 7 will
grow from here. A contact's number is matched exactly against the numbers of the call history
("13800138000" does not match "+8613800138000": add the form the carrier sends).

`own_numbers` lives here too: the numbers that are never a customer's.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from peewee import IntegrityError

from ..db import db
from ..db.models import Conference, Contact, Extension, InboundRoute, Ivr, Queue, RingGroup
from .clock import Clock, utc_now
from .errors import Conflict, NotFound, ValidationError
from .masking import Masker
from .recordings import is_row_id
from .users import Masking
from .validation import require_changes, require_int, require_known_fields, require_text

log = logging.getLogger(__name__)

NUMBER_PATTERN = re.compile(r"\+?[0-9]{3,32}")
NAME_MAX_LEN = 64
COMPANY_MAX_LEN = 128
NOTE_MAX_LEN = 2000
SEARCH_MAX_LIMIT = 1000
FIELDS = ("number", "name", "company", "note")
ANY_DID = "*"


@dataclass(frozen=True)
class ContactView:
    id: int
    number: str
    name: str
    company: str
    note: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ContactPage:
    items: list[ContactView]
    total: int  # contacts matching the filters, all pages together


def require_phone_number(field: str, value: Any) -> str:
    """3 to 32 digits, optionally after a "+"."""
    if not isinstance(value, str) or not NUMBER_PATTERN.fullmatch(value):
        raise ValidationError(
            f"{field}: expected 3 to 32 digits, optionally after a +", field=field
        )
    return value


def _clean(values: Mapping[str, Any]) -> dict[str, Any]:
    name = require_text("name", values["name"], max_len=NAME_MAX_LEN)
    if not name.strip():
        raise ValidationError("name: must not be blank", field="name")
    return {
        "number": require_phone_number("number", values["number"]),
        "name": name,
        "company": require_text("company", values["company"], min_len=0, max_len=COMPANY_MAX_LEN),
        "note": require_text("note", values["note"], min_len=0, max_len=NOTE_MAX_LEN),
    }


def _view(row: Contact) -> ContactView:
    return ContactView(
        id=row.id,
        number=row.number,
        name=row.name,
        company=row.company,
        note=row.note,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def own_numbers() -> frozenset[str]:
    """Every number of our own dial plan (extensions, queues, ring groups, conference rooms,
    IVRs) and every DID of an inbound route: never a customer's number."""
    numbers: set[str] = set()
    for model in (Extension, Queue, RingGroup, Conference, Ivr):
        numbers.update(row[0] for row in model.select(model.number).tuples() if row[0])
    numbers.update(row[0] for row in InboundRoute.select(InboundRoute.did).tuples())
    numbers.discard(ANY_DID)
    return frozenset(numbers)


class ContactService:
    """Synchronous; no state but the clock (safe on a worker thread)."""

    def __init__(self, clock: Clock = utc_now):
        self._clock = clock

    def create(self, data: Mapping[str, Any]) -> ContactView:
        require_known_fields(data, FIELDS)
        for name in ("number", "name"):
            if name not in data:
                raise ValidationError(f"{name}: required", field=name)
        values = _clean({"company": "", "note": "", **data})
        now = self._clock()
        try:
            with db.atomic():
                row = Contact.create(**values, created_at=now, updated_at=now)
        except IntegrityError as exc:
            raise Conflict(f"contact {values['number']} exists", field="number") from exc
        log.info("contact %s created", row.id)
        return _view(row)

    def search(
        self,
        *,
        number: str | None = None,
        text: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> ContactPage:
        """Contacts by name; `number`: exactly that number; `text`: part of the name or the
        company (never of the number: a masked user must not find digits by trying)."""
        require_int("limit", limit, minimum=1, maximum=SEARCH_MAX_LIMIT)
        require_int("offset", offset, minimum=0)
        query = Contact.select()
        if number is not None:
            query = query.where(Contact.number == require_text("number", number, max_len=64))
        if text is not None:
            text = require_text("text", text, max_len=NAME_MAX_LEN)
            query = query.where(Contact.name.contains(text) | Contact.company.contains(text))
        total = query.count()
        rows = query.order_by(Contact.name, Contact.id).limit(limit).offset(offset)
        return ContactPage([_view(row) for row in rows], total)

    def get(self, contact_id: int) -> ContactView:
        return _view(self._row(contact_id))

    def update(self, contact_id: int, changes: Mapping[str, Any]) -> ContactView:
        """Change the fields given; the others stay."""
        require_changes(changes, FIELDS)
        try:
            with db.atomic():
                row = self._row(contact_id)
                values = _clean({**{name: getattr(row, name) for name in FIELDS}, **changes})
                Contact.update(**values, updated_at=self._clock()).where(
                    Contact.id == row.id
                ).execute()
        except IntegrityError as exc:
            raise Conflict(f"contact {changes.get('number')} exists", field="number") from exc
        return self.get(contact_id)

    def delete(self, contact_id: int) -> None:
        with db.atomic():
            self._row(contact_id).delete_instance()

    def lookup(self, number: str) -> ContactView | None:
        """The contact whose number is exactly `number`, None when there is none."""
        if not isinstance(number, str) or not number:
            return None
        row = Contact.get_or_none(Contact.number == number)
        return _view(row) if row is not None else None

    def name_for(self, number: str) -> str | None:
        """The customer's name for `number` (number masking), None when unknown."""
        if not isinstance(number, str) or not number:
            return None
        row = Contact.select(Contact.name).where(Contact.number == number).tuples().first()
        return row[0] if row else None

    def own_numbers(self) -> frozenset[str]:
        return own_numbers()

    def masker(self, masking: Masking) -> Masker:
        """Masks customer numbers for a user with `masking`: our own numbers are never
        masked, name_only shows the contact's name."""
        if masking is Masking.ALL:
            return Masker(masking)
        return Masker(masking, self.own_numbers(), self.name_for)

    def _row(self, contact_id: int) -> Contact:
        row = Contact.get_or_none(Contact.id == contact_id) if is_row_id(contact_id) else None
        if row is None:
            raise NotFound(f"contact {contact_id} not found")
        return row
