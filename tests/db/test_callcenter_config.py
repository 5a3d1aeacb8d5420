"""Call-center configuration below the API: the schema's own safety nets, users linked to
extensions, listeners, and a kill -9 right after a 201."""

from __future__ import annotations

import json
import subprocess
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest
from peewee import IntegrityError

from pbxd.db import db
from pbxd.db.models import Agent, Queue, QueueMember, User
from pbxd.services import Conflict, InUse, NotFound, Role, Services, ValidationError

from .conftest import killed_afterwards, read_until, reopened_database
from .historydata import FakeClock


@pytest.fixture
def plan(services: Services) -> Services:
    for number in ("1001", "1002", "1003"):
        services.extensions.create(number, f"Agent {number}", f"secret-{number}-pw")
    services.queues.create({"number": "600", "members": ["1001"]})
    return services


def test_schema_refuses_deleting_a_member_extension_even_past_the_service(plan) -> None:
    with pytest.raises(IntegrityError):
        db.execute_sql("DELETE FROM extension WHERE number = '1001'")
    assert QueueMember.select().count() == 1


def test_deleting_an_extension_unlinks_its_user_and_drops_its_agent_state(plan) -> None:
    plan.users.create_user("bob", "bob-password", Role.AGENT, extension="1002")
    plan.agents.login("1002", ["600"])
    plan.agents.pause("1002", "lunch")
    assert Agent.select().count() == 1
    plan.extensions.delete("1002")
    assert User.get(User.username == "bob").extension is None
    assert Agent.select().count() == 0
    assert plan.agents.for_queue("600") == [("1001", 0)]


def test_user_extension_link(plan) -> None:
    view = plan.users.create_user("alice", "alice-password", Role.AGENT, extension="1001")
    assert view.extension == "1001"
    assert plan.users.authenticate("alice", "alice-password").extension == "1001"
    with pytest.raises(ValidationError, match="no extension 1999") as error:
        plan.users.create_user("carol", "carol-password", Role.AGENT, extension="1999")
    assert error.value.field == "extension"
    with pytest.raises(Conflict, match="linked to another user"):
        plan.users.create_user("dave", "dave-password", Role.AGENT, extension="1001")
    plan.users.create_user("erin", "erin-password", Role.AGENT)
    with pytest.raises(Conflict, match="linked to another user"):
        plan.users.link_extension("erin", "1001")
    assert plan.users.link_extension("erin", "1002").extension == "1002"
    assert plan.users.link_extension("alice", None).extension is None
    with pytest.raises(NotFound):
        plan.users.link_extension("nobody", "1003")


def test_extension_numbers_stay_out_of_other_kinds(plan) -> None:
    with pytest.raises(Conflict, match="queue 600"):
        plan.extensions.create("600", "Clash", "secret-600-pw")
    with pytest.raises(InUse, match="member of queue 600"):
        plan.extensions.delete("1001")


def test_for_queue_lists_static_members_first_then_logins_by_time(plan, clock: FakeClock) -> None:
    plan.agents.login("1003", ["600"])
    clock.advance(seconds=5)
    plan.agents.login("1002", ["600"])
    plan.queues.update("600", {"members": [{"extension": "1001", "penalty": 3}]})
    assert plan.agents.for_queue("600") == [("1001", 3), ("1003", 0), ("1002", 0)]
    plan.agents.pause("1003")
    assert plan.agents.for_queue("600") == [("1001", 3), ("1002", 0)]
    with pytest.raises(NotFound):
        plan.agents.for_queue("699")


def test_failing_listener_does_not_undo_the_change(plan, caplog) -> None:
    heard = []

    def broken(*change):
        raise RuntimeError("listener bug")

    plan.ring_groups.subscribe(broken)
    unsubscribe = plan.ring_groups.subscribe(lambda *change: heard.append(change))
    view = plan.ring_groups.create({"number": "700", "members": ["1002"]})
    assert view.members == ("1002",)
    assert heard == [("ring_group", "700", False)]
    assert "listener bug" in caplog.text
    with pytest.raises(ValidationError):
        plan.ring_groups.update("700", {"members": ["1999"]})
    assert heard == [("ring_group", "700", False)]  # nothing committed, nothing heard
    unsubscribe()
    plan.ring_groups.delete("700")
    assert len(heard) == 1


SERVER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from tornado.httpserver import HTTPServer
    from tornado.netutil import bind_sockets
    from pbxd.services import build_services
    from pbxd.web import make_app

    async def main():
        data_dir = Path(sys.argv[1])
        services = build_services(data_dir)
        services.users.ensure_admin(data_dir, "crash-admin-pass")
        sockets = bind_sockets(0, "127.0.0.1")
        HTTPServer(make_app(services)).add_sockets(sockets)
        print("port", sockets[0].getsockname()[1], flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())
    """
)


def _read_port(process: subprocess.Popen, deadline: float) -> int:
    word, port = read_until(process, b"\n", deadline).split(b"\n")[0].split()
    assert word == b"port"
    return int(port)


def _post(url: str, body: dict, token: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def test_a_201_survives_kill_9(tmp_path: Path) -> None:
    with killed_afterwards(SERVER, tmp_path) as process:
        port = _read_port(process, time.monotonic() + 30)
        base = f"http://127.0.0.1:{port}/api/v1"
        _, login = _post(
            f"{base}/auth/login", {"username": "admin", "password": "crash-admin-pass"}
        )
        status, queue = _post(f"{base}/queues", {"number": "600", "name": "Sales"}, login["token"])
        assert (status, queue["number"]) == (201, "600")

    with reopened_database(tmp_path / "pbxd.sqlite3"):
        assert [(row.number, row.name) for row in Queue.select()] == [("600", "Sales")]
