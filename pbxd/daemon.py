"""Wiring: builds every layer of pbxd from the settings and runs them on one asyncio loop."""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import os
import secrets
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path

from pbxd.call.apps.originate import ClickToDial
from pbxd.call.apps.queues import QueueFinished
from pbxd.call.auth_guard import AuthGuard
from pbxd.call.b2bua import B2bua
from pbxd.call.dialplan import CallCenterRuntime
from pbxd.call.history import extension_call_history, queue_call_history, queue_event_entry
from pbxd.call.legs import LegManager
from pbxd.call.pbx import Pbx
from pbxd.call.recording import CallRecording
from pbxd.call.sipcore import SipCore
from pbxd.media.engine import MediaEngine
from pbxd.media.ports import PortAllocator
from pbxd.media.prompts import PromptLibrary
from pbxd.media.recorder import repair_directory
from pbxd.media.session import MediaFactory
from pbxd.services import RECORDINGS_DIR, VOICEMAIL_DIR, Services, build_services
from pbxd.services.cdr import CdrEntry
from pbxd.services.live import LiveHub, WallboardFeed
from pbxd.services.softphone import AUTH_USER_INFIX
from pbxd.sip.auth import DigestAuthenticator
from pbxd.sip.protection import FailureTracker
from pbxd.sip.registrar import Registrar
from pbxd.transport.tcp import TcpTransport
from pbxd.transport.udp import UdpTransport
from pbxd.transport.ws import WebSocketTransport
from pbxd.web.app import make_app
from pbxd.web.tls import ensure_device_certificate

log = logging.getLogger("pbxd")

REGISTRAR_SWEEP_SECONDS = 30.0
# Queue calls whose SIP Call-ID agent rows may still need (wrap-ups end minutes later).
RECENT_QUEUE_CALLS = 1000
MAX_HTTP_BODY = 1 << 20  # above the app's own JSON 413 limit, so clients get JSON errors
WEBRTC_CLOSE_SECONDS = 5.0  # at shutdown, for aiortc to close the browsers' connections


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    bind: str = "0.0.0.0"
    sip_port: int = 5060
    http_port: int = 8080
    rtp_ports: tuple[int, int] = (10000, 20000)
    realm: str = "pbxd"
    digest_algorithms: tuple[str, ...] = ("SHA-256", "MD5")
    ring_timeout: float = 60.0
    media_timeout: float = 60.0
    admin_password: str | None = None
    external_address: str | None = None  # advertised to peers outside local_networks (NAT)
    prompts_dir: Path = Path("/usr/share/coocenter/prompts")  # system prompts (the image's)
    ui_dir: Path | None = None  # the built web console (pbxd.web.static); None: API only
    local_networks: tuple[IPv4Network | IPv6Network, ...] = ()
    # HTTPS (and wss:// at /ws) with the device certificate, pbxd.web.tls; 0: off
    https_port: int = 0


def load_or_create_key(path: Path) -> bytes:
    """A secret that must survive restarts (digest nonces), created once with mode 0600."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        return key


class Daemon:
    def __init__(self, settings: Settings, services: Services):
        self.settings = settings
        self.services = services
        self.core = SipCore(
            settings.bind,
            external_address=settings.external_address,
            local_networks=settings.local_networks,
        )
        self.registrar = Registrar()
        self._db_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cdr")
        self._queue_call_ids: dict[str, str] = {}  # queue's call id -> SIP Call-ID, oldest first
        key = load_or_create_key(settings.data_dir / "sip-nonce.key")
        self.guard = AuthGuard(
            DigestAuthenticator(
                settings.realm, key, algorithms=settings.digest_algorithms, started_at=time.time()
            ),
            FailureTracker(),
            self._password_for,
            identity_of=lambda username: services.softphone.extension_of(username) or username,
        )
        self.engine = MediaEngine(
            settings.bind, PortAllocator(*settings.rtp_ports), media_timeout=settings.media_timeout
        )
        self.media = MediaFactory(self.engine)
        self.legs = LegManager(
            self.core, self.engine, self.registrar, ring_timeout=settings.ring_timeout
        )
        # The live channel (issue 7): wallboard and agent state pushed to the console.
        self.live = LiveHub(masker_for=services.contacts.masker)
        self.wallboard = WallboardFeed(services, self.live)
        try:
            self.wallboard.seed()  # today's figures survive a restart
        except Exception:
            log.exception("wallboard: today's figures could not be read from the queue log")
        self.callcenter = CallCenterRuntime(
            services,
            self.engine,
            self.legs,
            PromptLibrary(settings.prompts_dir, settings.data_dir / "prompts"),
            recordings_dir=settings.data_dir / RECORDINGS_DIR,
            on_queue_finished=self._queue_call_finished,
            on_agent_events=self._agent_events,
            on_call_record=self._record_call,
            on_call_history=lambda history: self._write_history(
                self.services.history.record_call, history
            ),
            in_background=self._db_writer.submit,
            voicemail_dir=settings.data_dir / VOICEMAIL_DIR,
            ring_timeout=settings.ring_timeout,
            on_queue_change=self.wallboard.queue_actions,
        )
        self.wallboard.attach(self.callcenter.center)
        self.b2bua = B2bua(
            self.core,
            self.guard,
            self.registrar,
            lambda number: services.extensions.secret_for(number) is not None,
            self.media,
            self._record_call,
            ring_timeout=settings.ring_timeout,
            legs=self.legs,
            applications=self.callcenter.application,
            trunk_calls=self.callcenter.trunk_call,
            should_record=self._should_record,
            recordings_dir=settings.data_dir / RECORDINGS_DIR,
            unanswered=self.callcenter.unanswered,
            internal_call=lambda caller, callee: (
                services.agents.is_agent(caller) and services.agents.is_agent(callee)
            ),
        )
        # An internal call (agent to agent) has no call controls: say so, not "no call".
        self.callcenter.agent_calls.internal_call_of = lambda extension: any(
            call.internal and extension in (call.caller, call.callee)
            for call in self.b2bua.calls.values()
        )
        # Dead media the factory's RTP pairs do not cover: the B2BUA's calls with a browser
        # (WebRTC endpoints), then the legs pbxd answers itself.
        self.media.on_other_timeout = lambda endpoint: (
            self.b2bua.on_media_timeout(endpoint) or self.legs.on_media_timeout(endpoint)
        )
        self.core.app = Pbx(self.core, self.guard, self.registrar, self.b2bua)
        # SIP over WebSocket (RFC 7118) at /ws on the HTTP port: the browser softphone.
        self.sip_ws = WebSocketTransport(
            self.core.on_message,
            bindings_of=self._aors_bound_via,
            is_blocked=lambda host: self.guard.failures.is_blocked(host, time.time()),
        )
        self.sip_ws.on_closed = self.legs.peer_gone
        services.extensions.subscribe(self._on_extension_change)
        services.softphone.on_taken_over = self._drop_browsers_of
        self.legs.on_customer_call = self._customer_call
        # Wrap-up and screen pop of a call still up (or just over): who is on it, by call id.
        services.dispositions.set_live_parties(self.legs.directory.extensions)
        services.screenpop.set_live_calls(self.legs.directory.other_party)
        self.legs.shown_number = self._shown_number
        # Click-to-dial: ring the agent, then the number (extensions until trunks route out).
        self.click_to_dial = ClickToDial(self.engine, self.legs, self._record_call)
        services.mycalls.attach_dialer(
            self.click_to_dial.dial,
            lambda number: services.extensions.secret_for(number) is not None,
        )
        services.softphone.browser_connected = lambda extension: any(
            extension in self._aors_bound_via(peer) for peer in self.sip_ws.table
        )
        self._http_server = None
        self._https_server = None
        self._sweeper: asyncio.Task | None = None

    async def start(self) -> None:
        s = self.settings
        # The certificate first: a broken one stops pbxd before anything is bound.
        certificate = None
        if s.https_port:
            certificate = ensure_device_certificate(
                s.data_dir, addresses=(s.bind, s.external_address or "")
            )
        udp = await UdpTransport.listen(s.bind, s.sip_port, self.core.on_message)
        tcp = await TcpTransport.listen(s.bind, s.sip_port, self.core.on_message)
        self.core.add_transport("UDP", udp, s.sip_port)
        self.core.add_transport("TCP", tcp, s.sip_port)
        self.core.add_transport("WS", self.sip_ws, s.http_port)
        if certificate is not None:
            # The same connection table: the handler names peers of the HTTPS port WSS.
            self.core.add_transport("WSS", self.sip_ws, s.https_port)
        app = make_app(
            self.services,
            status_provider=self.status,
            ui_dir=s.ui_dir,
            sip_ws=self.sip_ws,
            live=self.live,
            tls=None if certificate is None else certificate.info(s.https_port),
        )
        self._http_server = app.listen(
            s.http_port, address=s.bind, xheaders=False, max_body_size=MAX_HTTP_BODY
        )
        if certificate is not None:
            # The same application: a request's protocol ("https") makes its cookie Secure.
            self._https_server = app.listen(
                s.https_port,
                address=s.bind,
                xheaders=False,
                max_body_size=MAX_HTTP_BODY,
                ssl_options=certificate.context,
            )
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep_registrations())
        # Off the loop, so that the first browser call does not wait for the import.
        asyncio.get_running_loop().run_in_executor(None, import_webrtc)

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        self.live.close_all()
        if self._http_server is not None:
            self._http_server.stop()
        if self._https_server is not None:
            self._https_server.stop()
        self.core.close()
        self.engine.close()
        if self.engine.closing:
            # aiortc closes WebRTC connections asynchronously (DTLS close_notify, its tasks
            # and threads): let them finish before the loop stops.
            await asyncio.wait(set(self.engine.closing), timeout=WEBRTC_CLOSE_SECONDS)
        self._db_writer.shutdown(wait=True)

    def status(self) -> dict:
        return {
            "registrations": self.registrar.count(),
            "active_calls": self.b2bua.active_calls(),
            "sip": dict(self.core.stats),
            "media": self.media.status(),
            "websocket": self.sip_ws.status(),
        }

    def _password_for(self, username: str) -> str | None:
        """The digest password of a SIP username: a browser softphone's key, or an
        extension's secret."""
        if AUTH_USER_INFIX in username:
            return self.services.softphone.password_for(username)
        return self.services.extensions.secret_for(username)

    def _shown_number(self, extension: str, number: str) -> str:
        """A caller's number as the user of `extension` may see it (his masking); unmasked
        for an extension without a user, and on any failure (a call is never refused)."""
        try:
            user = self.services.users.user_with_extension(extension)
            if user is None:
                return number
            masker = self.services.screenpop.masker_for(user)
            return masker.number(number, with_name=False) or number
        except Exception:
            log.exception("caller ID for %s not masked", extension)
            return number

    def _customer_call(self, extension: str, event: str, caller: str, info: dict) -> None:
        """An agent is rung with, answers or ends a customer call: his pages learn it (a desk
        phone's agent gets the screen pop and the wrap-up as a browser's does)."""
        message = {"type": "call", "event": event, "number": caller, **info}
        try:
            self.live.to_extension(extension, message, number_fields=["number"])
        except Exception:  # the call goes on whatever happens to a page
            log.exception("live: call event for %s not sent", extension)

    def _drop_browsers_of(self, extension: str) -> None:
        """Another browser took the softphone of `extension` over: the connections of the
        ones registered before it close (calls to them fail at once)."""
        for peer in list(self.sip_ws.table):
            if extension in self._aors_bound_via(peer):
                self.sip_ws.drop(peer, "softphone taken over by another login")

    def _aors_bound_via(self, source: object) -> list[str]:
        """The AORs registered through one connection (a SIP WebSocket's Peer)."""
        now = self.core.now()
        return [
            aor
            for aor in self.registrar.aors()
            if any(binding.source == source for binding in self.registrar.lookup(aor, now))
        ]

    def _record_call(self, entry: CdrEntry, recording: CallRecording | None = None) -> None:
        if recording is None:
            self._write_history(self.services.cdr.record, entry)
            return
        recordings_dir = self.settings.data_dir / RECORDINGS_DIR
        self._after_recording(
            recording,
            lambda: self._write_history(
                self.services.history.record_call,
                extension_call_history(entry, recording, recordings_dir),
            ),
        )

    def _queue_call_finished(self, finished: QueueFinished) -> None:
        """A caller's passage through a queue: CDR, queue events, recording, survey."""
        survey = self.callcenter.survey_of(finished.call.leg)
        surveyed_at = datetime.now(UTC)  # the survey, if any, is over when the queue reports
        offset = time.time() - asyncio.get_running_loop().time()
        call_id = finished.call.leg.request.call_id
        # Agent rows that come later (WRAPUP_END, a late RING_NO_ANSWER) name the call by
        # the queue's own id: remember its SIP Call-ID for them.
        self._queue_call_ids[finished.call.id] = call_id
        while len(self._queue_call_ids) > RECENT_QUEUE_CALLS:
            self._queue_call_ids.pop(next(iter(self._queue_call_ids)))
        events = [queue_event_entry(e, offset, call_id) for e in finished.call.events]
        recordings_dir = self.settings.data_dir / RECORDINGS_DIR
        self._after_recording(
            finished.call.recording,
            lambda: self._write_history(
                self.services.history.record_call,
                queue_call_history(finished, survey, recordings_dir, events, surveyed_at),
            ),
        )

    @staticmethod
    def _after_recording(recording: CallRecording | None, write: Callable[[], None]) -> None:
        """`write` once the recording is complete on disk (its writer thread finishes it, and
        the index reads its size), or now when the call was not recorded."""
        if recording is None:
            write()
        else:
            recording.recorder.completed.add_done_callback(lambda _: write())

    def _write_history(self, store: Callable, record) -> None:
        # SQLite commits with fsync: keep them off the event loop, in order, on one thread.
        future = self._db_writer.submit(store, record)
        future.add_done_callback(_log_failure)

    def _should_record(self, caller: str, callee: str) -> bool:
        """The caller's policy covers his outbound calls, the callee's his inbound ones."""
        policy = self.services.extensions.recording_policy
        return policy(caller) in ("all", "outbound") or policy(callee) in ("all", "inbound")

    def _agent_events(self, events: list) -> None:
        offset = time.time() - asyncio.get_running_loop().time()
        entries = [
            # "" when unknown: the queue's own id means nothing outside this process
            queue_event_entry(event, offset, self._queue_call_ids.get(event.call_id, ""))
            for event in events
        ]
        self._write_history(self.services.history.append_events, entries)

    def _on_extension_change(self, number: str, deleted: bool) -> None:
        if deleted:
            self.registrar.remove_aor(number)

    async def _sweep_registrations(self) -> None:
        while True:
            await asyncio.sleep(REGISTRAR_SWEEP_SECONDS)
            for binding in self.registrar.expire(self.core.now()):
                log.info("registration of %s expired (%s)", binding.aor, binding.uri)


def import_webrtc() -> None:
    """Import aiortc (and PyAV, aioice) now: it takes a few hundred ms on a PC, more on the
    appliance. Without it pbxd runs on; WebRTC offers then get 503."""
    try:
        importlib.import_module("aiortc")
    except Exception as exc:  # not installed, or a library it loads is missing
        log.info("no WebRTC (browser softphones' media): %s", exc)


def _log_failure(future) -> None:
    if future.exception() is not None:
        log.error("could not store a call record: %s", future.exception())


def repair_recordings(recordings: Path) -> None:
    """Recordings cut by a crash or power loss get their headers fixed before anything records."""
    recordings.mkdir(parents=True, exist_ok=True)
    for outcome in repair_directory(recordings):
        if outcome.error:
            log.error("recording %s could not be repaired: %s", outcome.path, outcome.error)
        else:
            log.warning("recording %s was cut short; repaired, audio kept", outcome.path)


async def serve(settings: Settings, ready: asyncio.Event | None = None) -> None:
    repair_recordings(settings.data_dir / "recordings")
    services = build_services(settings.data_dir, prompts_dir=settings.prompts_dir)
    created_password = services.users.ensure_admin(settings.data_dir, settings.admin_password)
    daemon = Daemon(settings, services)
    await daemon.start()
    # What start-up built lives as long as the process: keep it out of every full collection.
    gc.freeze()
    shown = "localhost" if settings.bind in ("0.0.0.0", "::") else settings.bind
    print(
        f"pbxd ready: web/API http://{shown}:{settings.http_port}/  "
        + (f"https://{shown}:{settings.https_port}/  " if settings.https_port else "")
        + f"SIP udp+tcp {settings.bind}:{settings.sip_port}  "
        f"RTP {settings.rtp_ports[0]}-{settings.rtp_ports[1]}",
        flush=True,
    )
    if created_password is not None:
        print(
            f"admin password (shown once, also in {settings.data_dir / 'admin-password'}): "
            f"{created_password}",
            flush=True,
        )
    elif settings.admin_password is None:
        print(f"admin password: see {settings.data_dir / 'admin-password'}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if ready is not None:
        ready.set()
    await stop.wait()
    log.info("stopping")
    await daemon.stop()
    services.close()
