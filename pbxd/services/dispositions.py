"""Wrap-up dispositions (话后小结, issue 7): a code and a note an agent gives each of his calls.

The codes are configuration (`disposition_code`, admins edit them; m0008 seeds resolved,
inquiry, callback, complaint, sales_lead, wrong_number, other). The dispositions are history
(`call_disposition`): one per call and agent, set during the call, at wrap-up or later, and
changed in place.

A call is named by the CDR's `call_id` (the caller's SIP Call-ID, as /api/v1/cdr shows it).
Who may set what:

- an agent: his own disposition (agent = his extension) of a call he took part in: the call's
  CDR names him as caller or callee, its call detail as the agent who took it, an answered
  leg ran to his extension, or a CONNECT/COMPLETE queue event names him. A leg that only
  rang him (another agent answered) does not make the call his. While the call is still up
  there is no history yet: `live_parties` (the runtime's view of live calls, when wired)
  answers for it.
- a supervisor: any agent's disposition of a call in his scope (pbxd/services/scope.py), and
  his own of a call he took part in; an admin: any.

The agent named must have taken part in the call in every case: a disposition never hangs
on an extension that had nothing to do with the call.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from peewee import IntegrityError, fn

from ..db import db
from ..db.models import CallDetail, CallDisposition, CallLeg, Cdr, DispositionCode, QueueEvent
from .cdr import CALL_ID_MAX_LEN
from .clock import Clock, utc_now
from .configbase import InUse
from .errors import Conflict, NotFound, ValidationError
from .scope import EXTENSION_PEER, OutOfScope, Scope, scope_for
from .users import Role, UserView
from .validation import require_changes, require_int, require_known_fields, require_text

log = logging.getLogger(__name__)

CODE_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}")
LABEL_MAX_LEN = 32
NOTE_MAX_LEN = 1000
POSITION_MAX = 10000
CODE_FIELDS = ("code", "label_zh", "label_en", "position", "active")
DISPOSITION_FIELDS = ("code", "note", "agent")
# Queue events that say the agent was connected to the caller (history.QueueEventType).
_TALKED_EVENTS = ("CONNECT", "COMPLETE_AGENT", "COMPLETE_CALLER")
# SQLite binds at most 32766 variables; stay well below for the IN lists of a CSV export.
_IN_CHUNK = 500

# call_id -> the extensions on that call while it is up (empty when the runtime knows none).
LiveCallParties = Callable[[str], Collection[str]]


@dataclass(frozen=True)
class DispositionCodeView:
    code: str
    label_zh: str
    label_en: str
    position: int
    active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class DispositionView:
    call_id: str
    agent: str  # extension
    code: str
    note: str
    author: str  # username of who set it last
    created_at: datetime
    updated_at: datetime
    # The code's labels now; None when the code has been deleted (or a restore removed it).
    label_zh: str | None = None
    label_en: str | None = None


def require_code(field: str, value: Any) -> str:
    if not isinstance(value, str) or not CODE_PATTERN.fullmatch(value):
        raise ValidationError(
            f"{field}: expected 1 to 32 lower-case letters, digits or '_', starting with a letter",
            field=field,
        )
    return value


def require_call_id(value: Any) -> str:
    return require_text("call_id", value, max_len=CALL_ID_MAX_LEN)


def _label(field: str, value: Any) -> str:
    text = require_text(field, value, max_len=LABEL_MAX_LEN)
    if not text.strip():
        raise ValidationError(f"{field}: must not be blank", field=field)
    return text


def _active(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError("active: expected a boolean", field="active")
    return value


def _code_view(row: DispositionCode) -> DispositionCodeView:
    return DispositionCodeView(
        code=row.code,
        label_zh=row.label_zh,
        label_en=row.label_en,
        position=row.position,
        active=bool(row.active),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _labels() -> dict[str, tuple[str, str]]:
    query = DispositionCode.select(
        DispositionCode.code, DispositionCode.label_zh, DispositionCode.label_en
    )
    return {code: (zh, en) for code, zh, en in query.tuples()}


def _view(row: CallDisposition, labels: Mapping[str, tuple[str, str]]) -> DispositionView:
    label_zh, label_en = labels.get(row.code, (None, None))
    return DispositionView(
        call_id=row.call_id,
        agent=row.agent,
        code=row.code,
        note=row.note,
        author=row.author,
        created_at=row.created_at,
        updated_at=row.updated_at,
        label_zh=label_zh,
        label_en=label_en,
    )


def call_parties(call_id: str) -> frozenset[str] | None:
    """The numbers that took part in the stored call `call_id` (see the module docstring);
    None when the history has no such call."""
    cdrs = list(Cdr.select(Cdr.id, Cdr.caller, Cdr.callee).where(Cdr.call_id == call_id).tuples())
    if not cdrs:
        return None
    parties = {number for _, caller, callee in cdrs for number in (caller, callee) if number}
    cdr_ids = [cdr_id for cdr_id, _, _ in cdrs]
    took = CallDetail.select(CallDetail.agent).where(
        CallDetail.cdr.in_(cdr_ids) & CallDetail.agent.is_null(False)
    )
    answered = CallLeg.select(CallLeg.peer).where(
        CallLeg.cdr.in_(cdr_ids)
        & (CallLeg.peer_kind == EXTENSION_PEER)
        & CallLeg.answer.is_null(False)
    )
    talked = QueueEvent.select(QueueEvent.agent).where(
        (QueueEvent.call_id == call_id)
        & QueueEvent.event.in_(_TALKED_EVENTS)
        & QueueEvent.agent.is_null(False)
    )
    for query in (took, answered, talked):
        parties.update(row[0] for row in query.tuples())
    return frozenset(parties)


def _check_has_calls(user: UserView) -> str | None:
    """An agent's own extension; OutOfScope for an agent linked to none (he has no calls)."""
    if user.role is Role.AGENT and not user.extension:
        raise OutOfScope("this agent account is linked to no extension, so it has no calls")
    return user.extension


class DispositionService:
    """Synchronous, for the loop thread; `latest_for_calls` also runs on a worker (CSV)."""

    def __init__(self, clock: Clock = utc_now, live_parties: LiveCallParties | None = None):
        self._clock = clock
        self._live_parties = live_parties

    def set_live_parties(self, live_parties: LiveCallParties | None) -> None:
        """Let agents set the disposition of a call that is still up (no history yet):
        `live_parties(call_id)` names the extensions on it. The daemon wires it when it has
        a view of live calls."""
        self._live_parties = live_parties

    # -- the codes (configuration) --------------------------------------------------------------

    def codes(self, *, include_inactive: bool = False) -> list[DispositionCodeView]:
        """The codes by position; only those offered for new dispositions unless
        `include_inactive`."""
        query = DispositionCode.select()
        if not include_inactive:
            query = query.where(DispositionCode.active == True)  # noqa: E712 - SQL, not Python
        query = query.order_by(DispositionCode.position, DispositionCode.code)
        return [_code_view(row) for row in query]

    def get_code(self, code: str) -> DispositionCodeView:
        return _code_view(self._code_row(code))

    def create_code(self, data: Mapping[str, Any]) -> DispositionCodeView:
        require_known_fields(data, CODE_FIELDS)
        for name in ("code", "label_zh", "label_en"):
            if name not in data:
                raise ValidationError(f"{name}: required", field=name)
        code = require_code("code", data["code"])
        values = {
            "label_zh": _label("label_zh", data["label_zh"]),
            "label_en": _label("label_en", data["label_en"]),
            "active": _active(data.get("active", True)),
        }
        now = self._clock()
        try:
            with db.atomic():
                if "position" in data:
                    position = require_int("position", data["position"], minimum=0,
                                           maximum=POSITION_MAX)  # fmt: skip
                else:  # after the last one
                    last = DispositionCode.select(fn.MAX(DispositionCode.position)).scalar()
                    position = min(POSITION_MAX, (last or 0) + 1)
                row = DispositionCode.create(
                    code=code, position=position, created_at=now, updated_at=now, **values
                )
        except IntegrityError as exc:
            raise Conflict(f"disposition code {code} exists", field="code") from exc
        log.info("disposition code %s created", code)
        return _code_view(row)

    def update_code(self, code: str, changes: Mapping[str, Any]) -> DispositionCodeView:
        """Change the labels, position or active flag given; the code itself stays (the
        history names it)."""
        require_changes(changes, CODE_FIELDS)
        if "code" in changes and changes["code"] != code:
            raise ValidationError(
                "code: cannot be changed; delete the disposition code and create it anew",
                field="code",
            )
        values: dict[str, Any] = {}
        for name in ("label_zh", "label_en"):
            if name in changes:
                values[name] = _label(name, changes[name])
        if "position" in changes:
            values["position"] = require_int("position", changes["position"], minimum=0,
                                             maximum=POSITION_MAX)  # fmt: skip
        if "active" in changes:
            values["active"] = _active(changes["active"])
        with db.atomic():
            row = self._code_row(code)
            if values:
                DispositionCode.update(**values, updated_at=self._clock()).where(
                    DispositionCode.id == row.id
                ).execute()
        return self.get_code(code)

    def delete_code(self, code: str) -> None:
        """Remove a code no call carries; a used one is deactivated instead (InUse says so)."""
        with db.atomic():
            row = self._code_row(code)
            used = CallDisposition.select().where(CallDisposition.code == row.code).count()
            if used:
                raise InUse(
                    f"disposition code {code} is in use by {used} calls; deactivate it instead"
                )
            row.delete_instance()

    def _code_row(self, code: str) -> DispositionCode:
        row = (
            DispositionCode.get_or_none(DispositionCode.code == code)
            if isinstance(code, str)
            else None
        )
        if row is None:
            raise NotFound(f"disposition code {code} not found")
        return row

    # -- dispositions of calls (history) --------------------------------------------------------

    def set(
        self,
        call_id: str,
        user: UserView,
        data: Mapping[str, Any],
        *,
        scope: Scope | None = None,
    ) -> DispositionView:
        """Set (or change) the disposition `data` = {code, note?, agent?} of `call_id`.

        `agent` (an extension) says whose disposition it is; an agent may name only himself
        (the default), a supervisor or admin anyone who took part in the call (default: his
        own extension when he took part, else the agent who took the call, else the one
        agent who already has a disposition on it). `scope`: the user's (built when None).
        """
        _check_has_calls(user)  # before the body: such an agent may not write at all
        require_known_fields(data, DISPOSITION_FIELDS)
        call_id = require_call_id(call_id)
        if "code" not in data:
            raise ValidationError("code: required", field="code")
        code = require_code("code", data["code"])
        note = require_text("note", data.get("note", ""), min_len=0, max_len=NOTE_MAX_LEN)
        requested = data.get("agent")
        if requested is not None:
            requested = require_text("agent", requested, max_len=32)
        scope = scope if scope is not None else scope_for(user)
        with db.atomic():
            agent = self._agent_for(call_id, user, requested, scope)
            existing = CallDisposition.get_or_none(
                (CallDisposition.call_id == call_id) & (CallDisposition.agent == agent)
            )
            offered = DispositionCode.get_or_none(
                (DispositionCode.code == code) & (DispositionCode.active == True)  # noqa: E712
            )
            # An inactive code may stay on a call that has it (a note is being corrected).
            if offered is None and (existing is None or existing.code != code):
                raise ValidationError(f"code: {code} is not an active disposition code",
                                      field="code")  # fmt: skip
            now = self._clock()
            values = {"code": code, "note": note, "author": user.username, "updated_at": now}
            if existing is None:
                CallDisposition.create(call_id=call_id, agent=agent, created_at=now, **values)
            else:
                CallDisposition.update(**values).where(CallDisposition.id == existing.id).execute()
        log.info("call %s: disposition %s of agent %s set by %s", call_id, code, agent,
                 user.username)  # fmt: skip
        return self.get(call_id, user, agent=agent, scope=scope)[0]

    def get(
        self,
        call_id: str,
        user: UserView,
        *,
        agent: str | None = None,
        scope: Scope | None = None,
    ) -> list[DispositionView]:
        """The dispositions of `call_id` the user may read, oldest first: an agent his own
        (of his calls), a supervisor those of a call in his scope (or of his own), an admin
        all; `agent`: only that agent's."""
        _check_has_calls(user)
        call_id = require_call_id(call_id)
        scope = scope if scope is not None else scope_for(user)
        parties = self._parties(call_id)
        own = user.extension
        query = CallDisposition.select().where(CallDisposition.call_id == call_id)
        if user.role is Role.AGENT:
            self._check_agent(call_id, user, parties)
            query = query.where(CallDisposition.agent == own)
        elif not (own and own in parties) and not self._in_scope(call_id, scope):
            raise NotFound(f"call {call_id} not found")
        if agent is not None:
            query = query.where(CallDisposition.agent == agent)
        labels = _labels()
        return [_view(row, labels) for row in query.order_by(CallDisposition.created_at,
                                                             CallDisposition.id)]  # fmt: skip

    def for_calls(self, call_ids: Iterable[str]) -> dict[str, list[DispositionView]]:
        """call_id -> its dispositions, oldest first (no access check: the caller has
        checked the calls)."""
        found: dict[str, list[DispositionView]] = {}
        ids = sorted(set(call_ids))
        if not ids:
            return found
        labels = _labels()
        rows: dict[str, list[CallDisposition]] = {}
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            # No ORDER BY: each call has a row or two, sorted here (SQLite would sort them all)
            for row in CallDisposition.select().where(CallDisposition.call_id.in_(chunk)):
                rows.setdefault(row.call_id, []).append(row)
        for call_id, items in rows.items():
            items.sort(key=lambda row: (row.created_at, row.id))
            found[call_id] = [_view(row, labels) for row in items]
        return found

    def latest_for_calls(self, call_ids: Iterable[str]) -> dict[str, DispositionView]:
        """call_id -> its disposition changed last (a call usually has one: its agent's)."""
        return {
            call_id: max(views, key=lambda view: (view.updated_at, view.created_at))
            for call_id, views in self.for_calls(call_ids).items()
        }

    # -- who may --------------------------------------------------------------------------------

    def _parties(self, call_id: str) -> frozenset[str]:
        """The extensions and numbers of the call, stored or live; NotFound when neither
        knows it."""
        stored = call_parties(call_id)
        live = frozenset(self._live_parties(call_id)) if self._live_parties is not None else None
        if stored is None and not live:
            raise NotFound(f"call {call_id} not found")
        return (stored or frozenset()) | (live or frozenset())

    @staticmethod
    def _check_agent(call_id: str, user: UserView, parties: frozenset[str]) -> str:
        own = _check_has_calls(user)
        if own not in parties:
            raise OutOfScope(f"call {call_id} is not one of your calls")
        return own

    @staticmethod
    def _in_scope(call_id: str, scope: Scope) -> bool:
        condition = scope.cdr_condition()
        query = Cdr.select(Cdr.id).where(Cdr.call_id == call_id)
        if condition is not None:
            query = query.where(condition)
        return query.exists()

    def _agent_for(self, call_id: str, user: UserView, requested: str | None, scope: Scope) -> str:
        parties = self._parties(call_id)
        own = user.extension
        if user.role is Role.AGENT:
            own = self._check_agent(call_id, user, parties)
            if requested is not None and requested != own:
                raise OutOfScope(
                    "agent: an agent sets the disposition of his own calls only", field="agent"
                )
            return own
        if not (own and own in parties) and not self._in_scope(call_id, scope):
            raise NotFound(f"call {call_id} not found")
        if requested is not None:
            if requested not in parties:
                raise ValidationError(
                    f"agent: extension {requested} took no part in call {call_id}", field="agent"
                )
            return requested
        if own and own in parties:
            return own
        took = {
            row[0]
            for row in CallDetail.select(CallDetail.agent)
            .where((CallDetail.call_id == call_id) & CallDetail.agent.is_null(False))
            .tuples()
        }
        if len(took) == 1:
            return took.pop()
        given = {
            row[0]
            for row in CallDisposition.select(CallDisposition.agent)
            .where(CallDisposition.call_id == call_id)
            .tuples()
        }
        if len(given) == 1:
            return given.pop()
        raise ValidationError(
            "agent: required (the extension whose disposition this is)", field="agent"
        )
