"""Call-center configuration and agents: queues, ring groups, conference rooms, IVRs,
inbound routes, trunks (admin writes, supervisor reads) and /api/v1/agents (an agent acts on
his own extension only, a supervisor or admin on any)."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote

from ..services import AgentView, Role
from .base import ADMIN_ONLY, ADMIN_OR_SUPERVISOR, ANY_ROLE, BaseHandler
from .errors import BadJson, Forbidden, InvalidRequest
from .schemas import iso_utc


def view_json(view: Any) -> dict[str, Any]:
    """A service view (frozen dataclass) as JSON: tuples become arrays, times ISO UTC."""
    return _plain(dataclasses.asdict(view))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {name: _plain(item) for name, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, datetime):
        return iso_utc(value)
    return value


def agent_json(view: AgentView) -> dict[str, Any]:
    return {**view_json(view), "logged_in": view.logged_in}


class _JsonObjectMixin(BaseHandler):
    def json_object(self, *, empty_ok: bool = False) -> dict[str, Any]:
        """The body as a JSON object; its fields are checked by the service, which accepts
        null for optional ones (BaseHandler.json_body does not)."""
        if empty_ok and not self.request.body.strip():
            return {}
        try:
            data = json.loads(self.request.body, parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise BadJson("request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise InvalidRequest("request body: expected a JSON object")
        return data


# --- configuration: one collection and one item handler per kind -----------------------------


class ConfigCollectionHandler(_JsonObjectMixin):
    access = {"GET": ADMIN_OR_SUPERVISOR, "POST": ADMIN_ONLY}
    service_name: ClassVar[str]  # attribute of Services
    path: ClassVar[str]  # this collection's URL
    key_field: ClassVar[str]  # the field of a view that names it in the item URL

    def get(self) -> None:
        service = getattr(self.services, self.service_name)
        self.reply({"items": [view_json(view) for view in service.list()]})

    def post(self) -> None:
        view = getattr(self.services, self.service_name).create(self.json_object())
        self.set_header("Location", f"{self.path}/{quote(str(getattr(view, self.key_field)))}")
        self.reply(view_json(view), status=201)


class ConfigItemHandler(_JsonObjectMixin):
    access = {"GET": ADMIN_OR_SUPERVISOR, "PUT": ADMIN_ONLY, "DELETE": ADMIN_ONLY}
    service_name: ClassVar[str]

    def get(self, **path: str) -> None:
        self.reply(view_json(self._service().get(_key(path))))

    def put(self, **path: str) -> None:
        self.reply(view_json(self._service().update(_key(path), self.json_object())))

    def delete(self, **path: str) -> None:
        self._service().delete(_key(path))
        self.set_status(204)
        self.finish()

    def _service(self) -> Any:
        return getattr(self.services, self.service_name)


def _key(path: dict[str, str]) -> str:
    (value,) = path.values()  # each item route has exactly one parameter
    return value


class QueuesHandler(ConfigCollectionHandler):
    service_name, path, key_field = "queues", "/api/v1/queues", "number"


class QueueHandler(ConfigItemHandler):
    service_name = "queues"


class RingGroupsHandler(ConfigCollectionHandler):
    service_name, path, key_field = "ring_groups", "/api/v1/ring-groups", "number"


class RingGroupHandler(ConfigItemHandler):
    service_name = "ring_groups"


class ConferencesHandler(ConfigCollectionHandler):
    service_name, path, key_field = "conferences", "/api/v1/conferences", "number"


class ConferenceHandler(ConfigItemHandler):
    service_name = "conferences"


class IvrsHandler(ConfigCollectionHandler):
    service_name, path, key_field = "ivrs", "/api/v1/ivrs", "name"


class IvrHandler(ConfigItemHandler):
    service_name = "ivrs"


class InboundRoutesHandler(ConfigCollectionHandler):
    service_name, path, key_field = "inbound_routes", "/api/v1/inbound-routes", "id"


class InboundRouteHandler(ConfigItemHandler):
    service_name = "inbound_routes"


class TrunksHandler(ConfigCollectionHandler):
    service_name, path, key_field = "trunks", "/api/v1/trunks", "name"


class TrunkHandler(ConfigItemHandler):
    service_name = "trunks"


# --- agents ----------------------------------------------------------------------------------


class AgentsHandler(BaseHandler):
    access = {"GET": ADMIN_OR_SUPERVISOR}

    def get(self) -> None:
        self.reply({"items": [agent_json(view) for view in self.services.agents.list()]})


class _OwnAgentHandler(_JsonObjectMixin):
    """An agent acts on the extension linked to his user only; supervisors and admins on any."""

    def check_agent(self, extension: str) -> None:
        user = self.current_user
        assert user is not None  # prepare() authenticated the request
        if user.role is Role.AGENT and user.extension != extension:
            if user.extension is None:
                raise Forbidden(f"user {user.username} is linked to no extension")
            raise Forbidden(f"an agent may act on his own extension ({user.extension}) only")


class AgentHandler(_OwnAgentHandler):
    access = {"GET": ANY_ROLE}

    def get(self, extension: str) -> None:
        self.check_agent(extension)
        self.reply(agent_json(self.services.agents.get(extension)))


class AgentLoginHandler(_OwnAgentHandler):
    access = {"POST": ANY_ROLE}

    def post(self, extension: str) -> None:
        self.check_agent(extension)
        body = self.json_object(empty_ok=True)
        _only(body, "queues")
        queues = body.get("queues")
        if "queues" in body and not isinstance(queues, list):
            raise InvalidRequest("queues: expected an array of queue numbers", field="queues")
        self.reply(agent_json(self.services.agents.login(extension, queues)))


class AgentLogoutHandler(_OwnAgentHandler):
    access = {"POST": ANY_ROLE}

    def post(self, extension: str) -> None:
        self.check_agent(extension)
        body = self.json_object(empty_ok=True)
        _only(body, "queues")
        queues = body.get("queues")
        if "queues" in body and not isinstance(queues, list):
            raise InvalidRequest("queues: expected an array of queue numbers", field="queues")
        self.reply(agent_json(self.services.agents.logout(extension, queues)))


class AgentPauseHandler(_OwnAgentHandler):
    access = {"POST": ANY_ROLE}

    def post(self, extension: str) -> None:
        self.check_agent(extension)
        body = self.json_object(empty_ok=True)
        _only(body, "reason")
        reason = body.get("reason")
        if reason is not None and not isinstance(reason, str):
            raise InvalidRequest("reason: expected a string", field="reason")
        self.reply(agent_json(self.services.agents.pause(extension, reason)))


class AgentUnpauseHandler(_OwnAgentHandler):
    access = {"POST": ANY_ROLE}

    def post(self, extension: str) -> None:
        self.check_agent(extension)
        _only(self.json_object(empty_ok=True))
        self.reply(agent_json(self.services.agents.unpause(extension)))


def _only(body: dict[str, Any], *allowed: str) -> None:
    for name in body:
        if name not in allowed:
            raise InvalidRequest(f"{name}: unknown field", field=name)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")
