"""The user's own recent calls and click-to-dial: /api/v1/users/me/calls[...] (issue 7).

Any user with an extension: the calls of his extension, numbers masked by his masking;
dialing rings his own extension first (his browser softphone answers by itself, a desk phone
rings), then the number. A call back names the call, not the number: the server takes the
other party from the call history, so a masked number is never needed.
"""

from __future__ import annotations

from typing import Any

from ..services.mycalls import MyCall
from .base import ANY_ROLE, BaseHandler
from .errors import InvalidRequest
from .params import integer_param
from .schemas import iso_utc


def _extension(handler: BaseHandler) -> str:
    user = handler.current_user
    assert user is not None  # prepare() authenticated the request
    if not user.extension:
        raise InvalidRequest("you have no extension: ask the administrator for one")
    return user.extension


class MyCallsHandler(BaseHandler):
    access = {"GET": ANY_ROLE}

    def get(self) -> None:
        limit = integer_param(self.query_params(("limit",)), "limit", 20)
        calls = self.services.mycalls.recent(_extension(self), limit)
        self.reply({"items": [self.call_json(call) for call in calls]})

    def call_json(self, call: MyCall) -> dict[str, Any]:
        return {
            "call_id": call.call_id,
            "start": iso_utc(call.start),
            "direction": call.direction,
            "number": self.masker().number(call.number),
            "queue": call.queue,
            "duration": call.duration,
            "answered": call.answered,
        }


class MyCallBackHandler(BaseHandler):
    access = {"POST": ANY_ROLE}

    async def post(self, call_id: str) -> None:
        self.json_object(empty_ok=True)
        new_call = await self.services.mycalls.dial_back(_extension(self), call_id)
        self.reply({"call_id": new_call}, status=202)


class MyDialHandler(BaseHandler):
    access = {"POST": ANY_ROLE}

    async def post(self) -> None:
        body = self.json_body({"number": str}, required=("number",))
        new_call = await self.services.mycalls.dial(_extension(self), body["number"])
        self.reply({"call_id": new_call}, status=202)
