"""The agent's screen pop, memos and wrap-up dispositions (issue 7, m0008).

    GET  /api/v1/screenpop?number=               any role: the pop of a number
    GET  /api/v1/memos?number=&limit=&offset=    any role: memos of a number, newest first
    POST /api/v1/memos {number, content[, call_id]}   any role; the author is the user
    GET  /api/v1/dispositions                    any role: the codes offered at wrap-up
    GET  /api/v1/calls/{call_id}/disposition     the call's dispositions the user may read
    PUT  /api/v1/calls/{call_id}/disposition {code[, note, agent]}
    GET|POST /api/v1/disposition-codes, GET|PUT|DELETE /api/v1/disposition-codes/{code}: admin

Numbers (and numbers in memos and notes) are masked by the reader's `masking` like
everywhere else. Writes go to the operation log (BaseHandler). Who may set which disposition:
pbxd/services/dispositions.py.
"""

from __future__ import annotations

from typing import Any

from ..services import DispositionCodeView, DispositionView, Masker, MemoView, ScreenPop
from .base import ADMIN_ONLY, ANY_ROLE, BaseHandler
from .errors import InvalidRequest
from .params import paging_params
from .schemas import iso_utc

CODES_PATH = "/api/v1/disposition-codes"
MEMOS_DEFAULT_LIMIT = 20


def screenpop_json(pop: ScreenPop) -> dict[str, Any]:
    """`pop` is masked already (ScreenPopService.pop)."""
    return {
        "number": pop.number,
        "known": pop.known,
        "name": pop.name,
        "company": pop.company,
        "note": pop.note,
        "previous_calls": pop.previous_calls,
        "last_calls": [
            {
                "call_id": call.call_id,
                "start": iso_utc(call.start),
                "direction": str(call.direction),
                "queue": call.queue,
                "agent": call.agent,
                "duration": call.duration,
                "billsec": call.billsec,
                "result": str(call.result),
                "dispositions": [
                    {
                        "agent": item.agent,
                        "code": item.code,
                        "label_zh": item.label_zh,
                        "label_en": item.label_en,
                        "note": item.note,
                        "updated_at": iso_utc(item.updated_at),
                    }
                    for item in call.dispositions
                ],
            }
            for call in pop.last_calls
        ],
        "memos": [
            {
                "id": memo.id,
                "author": memo.author,
                "author_extension": memo.author_extension,
                "call_id": memo.call_id,
                "content": memo.content,
                "created_at": iso_utc(memo.created_at),
            }
            for memo in pop.memos
        ],
    }


def memo_json(view: MemoView, masker: Masker) -> dict[str, Any]:
    return {
        "id": view.id,
        "number": masker.number(view.number),
        "author": view.author,
        "author_extension": view.author_extension,
        "call_id": view.call_id,
        "content": masker.text(view.content),
        "created_at": iso_utc(view.created_at),
    }


def disposition_json(view: DispositionView, masker: Masker) -> dict[str, Any]:
    return {
        "call_id": view.call_id,
        "agent": view.agent,
        "code": view.code,
        "label_zh": view.label_zh,
        "label_en": view.label_en,
        "note": masker.text(view.note),
        "author": view.author,
        "created_at": iso_utc(view.created_at),
        "updated_at": iso_utc(view.updated_at),
    }


def code_json(view: DispositionCodeView) -> dict[str, Any]:
    return {
        "code": view.code,
        "label_zh": view.label_zh,
        "label_en": view.label_en,
        "position": view.position,
        "active": view.active,
        "created_at": iso_utc(view.created_at),
        "updated_at": iso_utc(view.updated_at),
    }


def _required(params: dict[str, str], name: str) -> str:
    if name not in params:
        raise InvalidRequest(f"{name}: required", field=name)
    return params[name]


def _number_or_call(handler: BaseHandler, params: dict[str, str], user) -> str:
    """The number to pop: given, or the one the user's extension talks to in `call_id` (the
    agent page pops by call id: it never needs the unmasked number)."""
    if "call_id" in params:
        return handler.services.screenpop.number_of(params["call_id"], user)
    return _required(params, "number")


class ScreenPopHandler(BaseHandler):
    access = {"GET": ANY_ROLE}

    def get(self) -> None:
        params = self.query_params({"number", "call_id"})
        user = self.current_user
        assert user is not None  # prepare() authenticated the request
        number = _number_or_call(self, params, user)
        pop = self.services.screenpop.pop(number, user, masker=self.masker())
        self.reply(screenpop_json(pop))


class MemosHandler(BaseHandler):
    access = {"GET": ANY_ROLE, "POST": ANY_ROLE}

    def get(self) -> None:
        params = self.query_params({"number", "limit", "offset"})
        number = _required(params, "number")
        limit, offset = paging_params(params, MEMOS_DEFAULT_LIMIT)
        page = self.services.memos.list(number, limit=limit, offset=offset)
        masker = self.masker()
        self.reply_page([memo_json(view, masker) for view in page.items], page.total, limit,
                        offset)  # fmt: skip

    def post(self) -> None:
        data = self.json_body(
            {"number": str, "content": str, "call_id": str},
            required=("content",),
            nullable=("call_id",),
        )
        user = self.current_user
        assert user is not None  # prepare() authenticated the request
        # Written from a pop by call id: the customer's number comes from the call.
        number = data.get("number")
        if number is None:
            if data.get("call_id") is None:
                raise InvalidRequest("number: required", field="number")
            number = self.services.screenpop.number_of(data["call_id"], user)
        view = self.services.memos.add(number, data["content"], user, call_id=data.get("call_id"))
        self.reply(memo_json(view, self.masker()), status=201)


class DispositionsHandler(BaseHandler):
    """The codes offered at wrap-up, for every role's select."""

    access = {"GET": ANY_ROLE}

    def get(self) -> None:
        self.query_params(())
        self.reply({"items": [code_json(view) for view in self.services.dispositions.codes()]})


class CallDispositionHandler(BaseHandler):
    access = {"GET": ANY_ROLE, "PUT": ANY_ROLE}

    def get(self, call_id: str) -> None:
        self.query_params(())
        assert self.current_user is not None
        views = self.services.dispositions.get(call_id, self.current_user, scope=self.scope())
        masker = self.masker()
        self.reply({"call_id": call_id, "items": [disposition_json(v, masker) for v in views]})

    def put(self, call_id: str) -> None:
        data = self.json_object()  # the service checks the fields, after the user's role
        assert self.current_user is not None
        view = self.services.dispositions.set(call_id, self.current_user, data, scope=self.scope())
        self.reply(disposition_json(view, self.masker()))


class DispositionCodesHandler(BaseHandler):
    access = {"GET": ADMIN_ONLY, "POST": ADMIN_ONLY}

    def get(self) -> None:
        self.query_params(())
        views = self.services.dispositions.codes(include_inactive=True)
        self.reply({"items": [code_json(view) for view in views]})

    def post(self) -> None:
        view = self.services.dispositions.create_code(self.json_object())
        self.set_header("Location", f"{CODES_PATH}/{view.code}")
        self.reply(code_json(view), status=201)


class DispositionCodeHandler(BaseHandler):
    access = {"GET": ADMIN_ONLY, "PUT": ADMIN_ONLY, "DELETE": ADMIN_ONLY}

    def get(self, code: str) -> None:
        self.reply(code_json(self.services.dispositions.get_code(code)))

    def put(self, code: str) -> None:
        self.reply(code_json(self.services.dispositions.update_code(code, self.json_object())))

    def delete(self, code: str) -> None:
        self.services.dispositions.delete_code(code)
        self.reply_no_content()
