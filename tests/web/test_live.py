"""/api/v1/live, the console's push channel (pbxd/web/live.py, pbxd/services/live.py).

The application under test is the daemon's own wiring (pbxd/daemon.py: the call-center
runtime, the wallboard feed and the hub), built in-process without its SIP and HTTP sockets;
a Tornado WebSocket client connects as a browser (session cookie) or a program (bearer token).
What a user would check: no credentials, no channel; the board comes at once; an agent gets his
own state and never the wallboard; a supervisor sees his queues only; a pause made through the
API shows within a second; screen pops reach the agent's sessions masked by his masking.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.testing import gen_test
from tornado.websocket import WebSocketClientConnection, websocket_connect

from pbxd.callcenter.queue import CallCenter, QueueConfig
from pbxd.callcenter.strategies import Member
from pbxd.callcenter.wallboard import DailyCounters, build_wallboard
from pbxd.daemon import Daemon, Settings
from pbxd.services import QueueEventEntry, Role
from pbxd.services.live import (
    CLOSE_FORBIDDEN,
    CLOSE_TOO_MANY,
    CLOSE_UNAUTHORIZED,
    Audience,
    LiveHub,
    LiveRefused,
    PushThrottle,
    WallboardFeed,
)
from pbxd.services.users import Masking, UserView
from pbxd.web import live as live_module
from pbxd.web import make_app

from .apitest import ADMIN_PASSWORD
from .sessiontest import SessionTestCase, session_cookie

READ_TIMEOUT = 2.0


class LiveTest(SessionTestCase):
    def get_app(self):
        async def build() -> Daemon:
            settings = Settings(data_dir=self.data_dir, bind="127.0.0.1")
            return Daemon(settings, self.services)

        self.daemon = self.io_loop.run_sync(build)
        self.hub = self.daemon.live
        return make_app(self.services, clock=self.monotonic, live=self.hub)

    def tearDown(self) -> None:
        self.io_loop.run_sync(self.daemon.stop)
        super().tearDown()

    # -- helpers ----------------------------------------------------------------------------------

    def in_loop(self, work) -> Any:
        """Configuration changes reach the call-center runtime, which needs its loop running."""

        async def run():
            return work()

        return self.io_loop.run_sync(run)

    def setUp(self) -> None:
        super().setUp()
        self.admin = self.login()

        def configure() -> None:
            for number, name in (("1001", "Nina"), ("1002", "Li Lei"), ("1003", "Wang")):
                self.services.extensions.create(number, name, f"secret-{number}-pw")
            self.services.queues.create({"number": "600", "name": "Sales", "members": ["1001"]})
            self.services.queues.create({"number": "700", "name": "Support", "members": ["1002"]})

        self.in_loop(configure)

    def url(self, query: str = "") -> str:
        return f"ws://127.0.0.1:{self.get_http_port()}/api/v1/live{query}"

    async def connect(
        self,
        *,
        cookie: str | None = None,
        token: str | None = None,
        query: str = "",
        headers: dict[str, str] | None = None,
        subprotocols: list[str] | None = None,
    ) -> WebSocketClientConnection:
        all_headers = dict(headers or {})
        if cookie is not None:
            all_headers["Cookie"] = f"pbxd_session={cookie}"
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        request = HTTPRequest(self.url(query), headers=all_headers)
        return await websocket_connect(request, subprotocols=subprotocols)

    async def refused(self, **options) -> tuple[int, dict]:
        """The HTTP status and JSON error of a handshake pbxd refuses."""
        with pytest.raises(HTTPClientError) as caught:
            await self.connect(**options)
        response = caught.value.response
        assert response is not None
        return caught.value.code, json.loads(response.body)

    async def read(self, ws: WebSocketClientConnection, timeout: float = READ_TIMEOUT) -> dict:
        message = await asyncio.wait_for(ws.read_message(), timeout)
        assert message is not None, (ws.close_code, ws.close_reason)
        return json.loads(message)

    async def read_until(self, ws, check, timeout: float = READ_TIMEOUT) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, "no such message in time"
            message = await self.read(ws, remaining)
            if check(message):
                return message

    async def closed(self, ws: WebSocketClientConnection) -> tuple[int | None, str | None]:
        message = await asyncio.wait_for(ws.read_message(), READ_TIMEOUT)
        while message is not None:  # what came before the close
            message = await asyncio.wait_for(ws.read_message(), READ_TIMEOUT)
        return ws.close_code, ws.close_reason

    def user(self, role: Role, name: str, extension: str | None = None, **settings) -> str:
        """A new user; returns his password (log in with log_in() or login())."""
        password = f"{name}-password"
        self.services.users.create_user(name, password, role, extension=extension, **settings)
        return password

    async def log_in(
        self, username: str = "admin", password: str = ADMIN_PASSWORD
    ) -> tuple[str, str]:
        """A browser session: (cookie, csrf token)."""
        response = await self.http_client.fetch(
            self.get_url("/api/v1/auth/session"),
            method="POST",
            body=json.dumps({"username": username, "password": password}),
        )
        cookie = session_cookie(response)["pbxd_session"].value
        return cookie, json.loads(response.body)["csrf_token"]

    async def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        response = await self.http_client.fetch(
            self.get_url(path),
            method=method,
            body=json.dumps(body) if body is not None else (b"" if method == "POST" else None),
            headers={"Authorization": f"Bearer {self.admin}"},
            raise_error=False,
        )
        return response.code, json.loads(response.body) if response.body else None

    # -- credentials ------------------------------------------------------------------------------

    @gen_test
    async def test_no_channel_without_valid_credentials(self) -> None:
        status, body = await self.refused()
        assert status == 401 and body["error"]["code"] == "unauthorized", body
        status, body = await self.refused(token="not-a-token")
        assert status == 401, body
        status, body = await self.refused(cookie="forged-cookie")
        assert status == 401, body
        # A token in the URL would be written to access logs: refused, whatever it is.
        status, body = await self.refused(query=f"?token={self.admin}")
        assert status == 400 and body["error"]["field"] == "token", body
        status, body = await self.refused(token=self.admin, query="?topics=gossip")
        assert status == 400 and body["error"]["field"] == "topics", body
        status, body = await self.refused(
            token=self.admin, headers={"Accept-Language": "zh-CN"}, query="?topics=gossip"
        )
        assert "未知的主题" in body["error"]["message"], body

    @gen_test
    async def test_a_page_of_another_site_cannot_use_the_visitors_session(self) -> None:
        cookie, _ = await self.log_in()
        status, body = await self.refused(cookie=cookie, headers={"Origin": "http://evil.example"})
        assert status == 403 and body["error"]["code"] == "csrf", body
        host = f"127.0.0.1:{self.get_http_port()}"
        ws = await self.connect(cookie=cookie, headers={"Origin": f"http://{host}"})
        assert (await self.read(ws))["type"] == "wallboard"
        ws.close()

    @gen_test
    async def test_a_program_may_offer_its_token_as_a_subprotocol(self) -> None:
        ws = await self.connect(subprotocols=["pbxd.live", f"pbxd.bearer.{self.admin}"])
        assert ws.selected_subprotocol == "pbxd.live"  # never the token back
        assert (await self.read(ws))["type"] == "wallboard"
        ws.close()

    # -- what each role gets ----------------------------------------------------------------------

    @gen_test
    async def test_an_admin_gets_the_whole_board_at_once(self) -> None:
        cookie, _ = await self.log_in()
        ws = await self.connect(cookie=cookie)
        board = await self.read(ws)
        assert board["type"] == "wallboard"
        queues = {q["number"]: q for q in board["queues"]}
        assert set(queues) == {"600", "700"}
        assert queues["600"]["name"] == "Sales"
        assert queues["600"]["waiting"] == 0 and queues["600"]["agents_idle"] == 1
        agents = {a["extension"]: a for a in board["agents"]}
        assert agents["1001"]["name"] == "Nina" and agents["1001"]["state"] == "idle"
        ws.write_message(json.dumps({"type": "ping"}))
        assert await self.read(ws) == {"type": "pong"}
        ws.close()

    @gen_test
    async def test_an_agent_gets_his_own_state_and_never_the_wallboard(self) -> None:
        password = self.user(Role.AGENT, "nina", "1001")
        cookie, _ = await self.log_in("nina", password)
        refused = await self.connect(cookie=cookie, query="?topics=wallboard")
        code, reason = await self.closed(refused)
        assert code == CLOSE_FORBIDDEN and "may not see the wallboard" in reason

        ws = await self.connect(cookie=cookie)
        first = await self.read(ws)
        assert first["type"] == "agent"
        assert first["agent"]["extension"] == "1001" and first["agent"]["state"] == "idle"
        # Another agent's pause is none of his business; his own is pushed.
        status, _ = await self.api("POST", "/api/v1/agents/1002/pause", {"reason": "lunch"})
        assert status == 200
        status, _ = await self.api("POST", "/api/v1/agents/1001/pause", {"reason": "break"})
        assert status == 200
        message = await self.read(ws)
        assert message["type"] == "agent", message
        assert message["agent"]["state"] == "paused"
        assert message["agent"]["pause_reason"] == "break"
        ws.close()

        password = self.user(Role.AGENT, "nobody", None)
        lost = await self.connect(cookie=(await self.log_in("nobody", password))[0])
        code, reason = await self.closed(lost)
        assert code == CLOSE_FORBIDDEN and "no extension" in reason

    @gen_test
    async def test_a_supervisor_sees_his_queues_and_their_agents(self) -> None:
        password = self.user(Role.SUPERVISOR, "lead", None, queues=["700"])
        ws = await self.connect(cookie=(await self.log_in("lead", password))[0])
        board = await self.read(ws)
        assert [q["number"] for q in board["queues"]] == ["700"]
        assert [a["extension"] for a in board["agents"]] == ["1002"]
        # 1003 logs in to queue 700: one of his agents now, 600's agent still is not.
        status, _ = await self.api("POST", "/api/v1/agents/1003/login", {"queues": ["700"]})
        assert status == 200
        board = await self.read(ws)
        assert [a["extension"] for a in board["agents"]] == ["1002", "1003"]
        assert board["agents"][1]["queues"] == ["700"]
        # A pause of 600's agent changes nothing he sees: no message.
        status, _ = await self.api("POST", "/api/v1/agents/1001/pause", {})
        assert status == 200
        with pytest.raises(asyncio.TimeoutError):
            await self.read(ws, timeout=0.5)
        ws.close()

    @gen_test
    async def test_a_pause_through_the_api_is_on_the_board_within_a_second(self) -> None:
        ws = await self.connect(token=self.admin)
        await self.read(ws)
        started = time.monotonic()
        status, _ = await self.api("POST", "/api/v1/agents/1001/pause", {"reason": "lunch"})
        assert status == 200
        board = await self.read_until(
            ws, lambda m: m["type"] == "wallboard" and m["agents"][0]["state"] == "paused"
        )
        assert time.monotonic() - started < 1.0
        nina = board["agents"][0]
        assert nina["extension"] == "1001" and nina["pause_reason"] == "lunch"
        sales = board["queues"][0]
        assert (sales["agents_idle"], sales["agents_paused"]) == (0, 1)
        ws.close()

    # -- messages to an agent's sessions ----------------------------------------------------------

    @gen_test
    async def test_to_extension_reaches_the_agents_sessions_masked(self) -> None:
        password = self.user(Role.AGENT, "nina", "1001")  # agents: partial masking
        tabs = [await self.connect(cookie=(await self.log_in("nina", password))[0]) for _ in "ab"]
        for tab in tabs:
            assert (await self.read(tab))["type"] == "agent"
        admin = await self.connect(token=self.admin)  # admin has no extension: no pops
        await self.read(admin)
        pop = {"type": "pop", "caller": "13812345678", "queue": "600", "note": "rang 13812345678"}
        sent = self.hub.to_extension("1001", pop, number_fields=["caller"], text_fields=["note"])
        assert sent == 2
        for tab in tabs:
            message = await self.read(tab)
            assert message == {
                "type": "pop",
                "caller": "138****5678",
                "queue": "600",
                "note": "rang 138****5678",
            }
            tab.close()
        assert self.hub.to_extension("1002", pop) == 0
        with pytest.raises(asyncio.TimeoutError):
            await self.read(admin, timeout=0.3)
        admin.close()

    # -- limits and the end of a session ----------------------------------------------------------

    @gen_test
    async def test_connections_are_limited_per_user(self) -> None:
        self.hub.max_per_user = 2
        first, second = [await self.connect(token=self.admin) for _ in "ab"]
        third = await self.connect(token=self.admin)
        code, reason = await self.closed(third)
        assert code == CLOSE_TOO_MANY and "per user" in reason
        for ws in (first, second):
            ws.close()

    @gen_test
    async def test_a_logout_closes_the_channel(self) -> None:
        original = live_module.REVALIDATE_SECONDS
        live_module.REVALIDATE_SECONDS = 0.2
        try:
            cookie, csrf_token = await self.log_in()
            ws = await self.connect(cookie=cookie)
            await self.read(ws)
            response = await self.http_client.fetch(
                self.get_url("/api/v1/auth/session"),
                method="DELETE",
                headers={"Cookie": f"pbxd_session={cookie}", "X-CSRF-Token": csrf_token},
                raise_error=False,
            )
            assert response.code == 204
            code, reason = await self.closed(ws)
            assert code == CLOSE_UNAUTHORIZED and "log in again" in reason
        finally:
            live_module.REVALIDATE_SECONDS = original

    def test_todays_figures_are_read_back_from_the_queue_log(self) -> None:
        """A restart does not zero the board: the feed counts the day's stored rows."""
        shanghai_morning = datetime(2024, 5, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
        hour = timedelta(hours=1)
        rows = [
            (shanghai_morning - hour, "ENTER", "1"),
            (shanghai_morning - hour, "CONNECT", "8|2"),
            (shanghai_morning - hour, "ENTER", "1"),
            (shanghai_morning - hour, "ABANDON", "1|1|45"),
            (shanghai_morning - 11 * hour, "ABANDON", "1|1|45"),  # 23:00 the day before
        ]
        self.services.history.append_events(
            QueueEventEntry(time=at, event=event, call_id="c", queue="600", data={"data": data})
            for at, event, data in rows
        )
        feed = WallboardFeed(
            self.services, LiveHub(), wall_clock=lambda: shanghai_morning, loop_clock=lambda: 0.0
        )
        assert feed.seed() == 4
        feed.attach(self.daemon.callcenter.center)
        board = feed.snapshot()
        assert board is not None
        sales = board.to_json()["queues"][0]
        assert (sales["entered"], sales["answered"], sales["abandoned"]) == (2, 1, 1)
        assert sales["service_level"] == 0.5
        assert board.to_json()["day"] == "2024-05-01"


# --- the hub alone: coalescing and audiences ----------------------------------------------------


class Recorder:
    """A connection that keeps what it is sent, with the loop time."""

    def __init__(self) -> None:
        self.messages: list[tuple[float, dict]] = []
        self.closed: tuple[int, str] | None = None

    def send(self, message) -> None:
        self.messages.append((asyncio.get_running_loop().time(), dict(message)))

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


def admin_user(**overrides) -> UserView:
    return UserView(**{"id": 1, "username": "admin", "role": Role.ADMIN, **overrides})


def test_the_throttle_pushes_at_once_then_at_most_every_interval() -> None:
    throttle = PushThrottle(0.1)
    assert throttle.request(10.0) == 10.0  # quiet before: at once
    assert throttle.request(10.01) is None  # already due
    throttle.pushed(10.0)
    assert throttle.request(10.03) == pytest.approx(10.1)  # 70 ms after the change
    throttle.pushed(10.1)
    assert throttle.request(10.5) == 10.5


def test_topics_follow_the_role() -> None:
    assert Audience.of(admin_user()).topics == {"wallboard"}
    assert Audience.of(admin_user(extension="1001")).topics == {"wallboard", "agent"}
    agent = UserView(2, "nina", Role.AGENT, extension="1001")
    assert Audience.of(agent).topics == {"agent"}
    assert Audience.of(agent).masking is Masking.PARTIAL
    with pytest.raises(LiveRefused) as refused:
        Audience.of(agent, ["wallboard"])
    assert refused.value.close_code == CLOSE_FORBIDDEN
    with pytest.raises(LiveRefused):
        Audience.of(UserView(3, "lost", Role.AGENT))
    lead = UserView(4, "lead", Role.SUPERVISOR, queues=("700",))
    assert Audience.of(lead).queues == {"700"}


async def test_a_burst_of_changes_is_coalesced() -> None:
    loop = asyncio.get_running_loop()
    center = CallCenter()
    center.add_queue(QueueConfig("600", members=(Member("1001"),), timeout=10))
    counters = DailyCounters()

    def source():
        return build_wallboard(
            center,
            counters,
            now=loop.time(),
            at=datetime.now(UTC),
            queue_names={"600": "Sales"},
        )

    hub = LiveHub(source, refresh_interval=0)
    connection = Recorder()
    hub.subscribe(connection, Audience.of(admin_user()))
    assert len(connection.messages) == 1  # the board at once
    changes = []
    for index in range(20):  # a caller joins every 15 ms: 20 changes in 300 ms
        center.join("600", f"call-{index}", loop.time())
        changes.append(loop.time())
        hub.changed()
        await asyncio.sleep(0.015)
    await asyncio.sleep(0.25)
    pushes = [when for when, message in connection.messages[1:]]
    assert 3 <= len(pushes) <= 5, pushes  # about one per 100 ms, not one per change
    assert all(b - a >= 0.095 for a, b in zip(pushes, pushes[1:], strict=False)), pushes
    assert pushes[-1] - changes[-1] <= 0.2
    last = connection.messages[-1][1]
    assert last["queues"][0]["waiting"] == 20  # the newest state went out
    hub.changed()  # nothing new: nothing sent
    await asyncio.sleep(0.15)
    assert len(connection.messages) == len(pushes) + 1
    hub.close_all()
    assert connection.closed == (1001, "pbxd stops")
