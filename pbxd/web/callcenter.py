"""Call-center configuration and agents: queues, ring groups, conference rooms, IVRs,
inbound routes, trunks (admin writes, supervisor reads) and /api/v1/agents (an agent acts on
his own extension only, an admin on any, a supervisor on the agents of the queues he leads and
himself: pbxd/services/scope.py).

A supervisor logs his agents in and out of his own queues only (naming no queue means all of
his; a logout then leaves the queues the agent is a static member of alone) and may pause and
unpause them (a pause holds for every queue of the agent). Agent views carry extension and
queue numbers only: nothing to mask."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote

from ..services import AgentView, Role
from .base import ADMIN_ONLY, ADMIN_OR_SUPERVISOR, ANY_ROLE, BaseHandler, reject_unknown_fields
from .errors import Forbidden, InvalidRequest
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


# --- configuration: one collection and one item handler per kind -----------------------------


class ConfigCollectionHandler(BaseHandler):
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


class ConfigItemHandler(BaseHandler):
    access = {"GET": ADMIN_OR_SUPERVISOR, "PUT": ADMIN_ONLY, "DELETE": ADMIN_ONLY}
    service_name: ClassVar[str]

    def get(self, **path: str) -> None:
        self.reply(view_json(self._service().get(_key(path))))

    def put(self, **path: str) -> None:
        self.reply(view_json(self._service().update(_key(path), self.json_object())))

    def delete(self, **path: str) -> None:
        self._service().delete(_key(path))
        self.reply_no_content()

    def _service(self) -> Any:
        return getattr(self.services, self.service_name)


def _key(path: dict[str, str]) -> str:
    (value,) = path.values()  # each item route has exactly one parameter
    return value


def config_handlers(
    kind: str, service_name: str, path: str, key_field: str
) -> tuple[type[ConfigCollectionHandler], type[ConfigItemHandler]]:
    """The collection handler (`<kind>sHandler`, at `path`) and the item handler
    (`<kind>Handler`) of one configuration kind, served by `Services.<service_name>`; a
    created object's Location names it by its `key_field`."""
    collection = type(
        f"{kind}sHandler",
        (ConfigCollectionHandler,),
        {"service_name": service_name, "path": path, "key_field": key_field},
    )
    item = type(f"{kind}Handler", (ConfigItemHandler,), {"service_name": service_name})
    return collection, item


QueuesHandler, QueueHandler = config_handlers("Queue", "queues", "/api/v1/queues", "number")
RingGroupsHandler, RingGroupHandler = config_handlers(
    "RingGroup", "ring_groups", "/api/v1/ring-groups", "number"
)
ConferencesHandler, ConferenceHandler = config_handlers(
    "Conference", "conferences", "/api/v1/conferences", "number"
)
IvrsHandler, IvrHandler = config_handlers("Ivr", "ivrs", "/api/v1/ivrs", "name")
InboundRoutesHandler, InboundRouteHandler = config_handlers(
    "InboundRoute", "inbound_routes", "/api/v1/inbound-routes", "id"
)
TrunksHandler, TrunkHandler = config_handlers("Trunk", "trunks", "/api/v1/trunks", "name")


# --- agents ----------------------------------------------------------------------------------


class AgentsHandler(BaseHandler):
    access = {"GET": ADMIN_OR_SUPERVISOR}

    def get(self) -> None:
        scope = self.scope()
        views = [view for view in self.services.agents.list() if scope.sees_agent(view.extension)]
        self.reply({"items": [agent_json(view) for view in views]})


class _OwnAgentHandler(BaseHandler):
    """An agent acts on the extension linked to his user only; a supervisor on his team's
    agents and himself; an admin on any."""

    def check_agent(self, extension: str) -> None:
        user = self.current_user
        assert user is not None  # prepare() authenticated the request
        if user.role is Role.AGENT and user.extension != extension:
            if user.extension is None:
                raise Forbidden(f"user {user.username} is linked to no extension")
            raise Forbidden(f"an agent may act on his own extension ({user.extension}) only")
        if user.role is Role.SUPERVISOR and not self.scope().sees_agent(extension):
            raise Forbidden(f"agent {extension} is not a member of your queues")


class AgentHandler(_OwnAgentHandler):
    access = {"GET": ANY_ROLE}

    def get(self, extension: str) -> None:
        self.check_agent(extension)
        self.reply(agent_json(self.services.agents.get(extension)))


class _AgentQueuesHandler(_OwnAgentHandler):
    """Log in or out of the queues listed in an optional `{"queues": [...]}` body."""

    access = {"POST": ANY_ROLE}
    action: ClassVar[str]  # the AgentService method: "login" or "logout"

    def post(self, extension: str) -> None:
        self.check_agent(extension)
        body = self.json_object(empty_ok=True)
        reject_unknown_fields(body, ("queues",))
        queues = body.get("queues")
        if "queues" in body and not isinstance(queues, list):
            raise InvalidRequest("queues: expected an array of queue numbers", field="queues")
        limited = self.scope().action_queues(extension, queues)
        if self.action == "logout" and queues is None and limited is not None:
            # "all of his queues": those the agent may log out of, not his static ones
            static = {q.queue for q in self.services.agents.get(extension).queues if q.static}
            limited = [queue for queue in limited if queue not in static]
        agents = self.services.agents
        self.reply(agent_json(getattr(agents, self.action)(extension, limited)))


class AgentLoginHandler(_AgentQueuesHandler):
    action = "login"


class AgentLogoutHandler(_AgentQueuesHandler):
    action = "logout"


class AgentPauseHandler(_OwnAgentHandler):
    access = {"POST": ANY_ROLE}

    def post(self, extension: str) -> None:
        self.check_agent(extension)
        body = self.json_object(empty_ok=True)
        reject_unknown_fields(body, ("reason",))
        reason = body.get("reason")
        if reason is not None and not isinstance(reason, str):
            raise InvalidRequest("reason: expected a string", field="reason")
        self.reply(agent_json(self.services.agents.pause(extension, reason)))


class AgentUnpauseHandler(_OwnAgentHandler):
    access = {"POST": ANY_ROLE}

    def post(self, extension: str) -> None:
        self.check_agent(extension)
        reject_unknown_fields(self.json_object(empty_ok=True), ())
        self.reply(agent_json(self.services.agents.unpause(extension)))
