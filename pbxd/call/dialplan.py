"""Which application answers a number, and the runs of destinations (IVR -> queue -> ...).

The B2BUA asks `application(number)` for every dialed number that is not an extension: a
queue, ring group, conference room or IVR number, or a feature code (`*45` agent login/logout,
`*46` pause, `*47` unpause, `*90`/`*91`/`*92<agent>` listen/whisper/barge on an agent's call,
for an admin or the agent's supervisor). Destinations (`queue:600`, `ivr:main`,
`extension:1001` ...) run on the caller's leg through `run`, which is also how an application
hands a caller on (overflow, IVR keys, failover). Configuration is read from the services at
each call, so an API change applies to the next call; the queues' live state follows the queue
and agent services through their listeners.

The blacklist (pbxd/services/blacklist.py) is checked here, on the two questions the B2BUA asks
first: `trunk_call` (every INVITE, before authentication) declines a caller whose From number
is blacklisted inbound with 603, from a trunk or from an extension; `application` (every number
an authenticated extension dials) refuses a number blacklisted outbound with 403. A refused
call is no call: no CDR row, one INFO log line, a hit on the entry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from pbxd.callcenter.agents import AgentError, LogEvent
from pbxd.callcenter.destinations import HANGUP, Destination, parse_destination
from pbxd.callcenter.ivr import IvrConfigError, IvrSession, parse_ivr
from pbxd.callcenter.queue import CallCenter, QueueConfig, QueueConfigError
from pbxd.callcenter.strategies import Member
from pbxd.callcenter.survey import SurveyDone, SurveySession
from pbxd.callcenter.timeconditions import parse_time_condition
from pbxd.callcenter.voicemail import VoicemailStore
from pbxd.media.engine import MediaEngine
from pbxd.media.prompts import PromptLibrary
from pbxd.services import LiveAgent, Services
from pbxd.services.blacklist import BlockDirection
from pbxd.services.calls import CallControlError, MonitorMode
from pbxd.services.cdr import CdrEntry, Disposition, HangupSide
from pbxd.services.errors import NotFound, ServiceError
from pbxd.services.history import CallHistory
from pbxd.sip.errors import Forbidden as SipForbidden
from pbxd.sip.errors import NotFound as SipNotFound
from pbxd.sip.errors import SipError, TemporarilyUnavailable
from pbxd.sip.message import Request
from pbxd.sip.peer import Peer
from pbxd.sip.uri import SipUri

from .apps.agentcalls import AgentCalls, parse_monitor_code
from .apps.conference import Conferences
from .apps.queues import QueueFinished, QueueRuntime
from .apps.ringgroup import RingGroupConfig, RingGroups
from .apps.sessions import run_session
from .apps.voicemail import Voicemail
from .cdr import call_record
from .legs import InboundLeg, LegManager
from .scripting import LegWatcher, play

log = logging.getLogger(__name__)

FEATURE_LOGIN = "*45"  # toggle: log in to every queue one is a member of, or log out
FEATURE_PAUSE = "*46"  # *46<n>: with reason n of PAUSE_REASONS
# Reasons a phone can give by digit (示忙原因); other digits are kept as "code <n>".
PAUSE_REASONS = {"1": "break", "2": "lunch", "3": "meeting", "4": "training",
                 "5": "after-call work"}  # fmt: skip
FEATURE_UNPAUSE = "*47"
FEATURE_MAILBOX = "*97"  # one's own voicemail (the phone authenticated: no PIN)
FEATURE_ANY_MAILBOX = "*98"  # any extension's voicemail: box number, then its PIN


# RFC 3261 section 20.43: warn-code 399 (miscellaneous), the agent named by a pseudonym.
_BLACKLISTED_WARNING = ("Warning", '399 pbxd "blacklisted number"')


class Declined(SipError):
    """RFC 3261 section 21.6.2: the call is not wanted (a caller on the blacklist)."""

    status = 603
    reason = "Decline"


class Blacklisted(SipForbidden):
    """A number an extension may not call (blacklisted outbound)."""

    reason = "Blacklisted"


class LibraryPrompts:
    """The prompt library as the applications use it (scripting.Prompts)."""

    def __init__(self, library: PromptLibrary):
        self.library = library

    def get(self, prompt_id: str) -> list[np.ndarray]:
        return [self.library.load(prompt_id)]

    def music(self) -> list[np.ndarray]:
        return [self.library.music_on_hold()]

    def number(self, value: int) -> list[np.ndarray]:
        return self.library.playlist(self.library.say_number(value))

    def digits(self, text: str) -> list[np.ndarray]:
        return self.library.playlist(self.library.say_digits(text))


class CallCenterRuntime:
    def __init__(
        self,
        services: Services,
        engine: MediaEngine,
        legs: LegManager,
        library: PromptLibrary,
        *,
        recordings_dir: Path,
        on_queue_finished: Callable[[QueueFinished], None],
        on_agent_events: Callable[[list[LogEvent]], None],
        on_call_record: Callable[[CdrEntry], None] = lambda entry: None,
        on_call_history: Callable[[CallHistory], None] = lambda history: None,
        in_background: Callable[..., Future] | None = None,
        voicemail_dir: Path | None = None,
        ring_timeout: float = 30.0,
        on_queue_change: Callable[[list[LogEvent]], None] | None = None,
    ):
        self.services = services
        self.engine = engine
        self.legs = legs
        self.prompts = LibraryPrompts(library)
        self.ring_timeout = ring_timeout
        self.center = CallCenter()
        # Connected calls: supervisors monitor them, agents hold, mute and transfer them.
        self.agent_calls = AgentCalls(
            engine, legs, transfer_ring_seconds=ring_timeout, number_kind=self.number_kind
        )
        self.on_agent_events = on_agent_events
        self.on_call_record = on_call_record
        self.on_call_history = on_call_history
        self.queues = QueueRuntime(
            engine,
            legs,
            self.prompts,
            self.center,
            recordings_dir=recordings_dir,
            recording_policy=self._recording_policy,
            transfer=self.run,
            on_finished=on_queue_finished,
            on_agent_events=on_agent_events,
            after_agent_hangup=self._after_agent_hangup,
            agent_calls=self.agent_calls,
            on_change=on_queue_change,  # the live wallboard (issue 7)
        )
        self.ring_groups = RingGroups(engine, legs, self.run)
        self.conferences = Conferences(engine, self.prompts)
        self.voicemail = Voicemail(
            engine,
            legs.core,
            legs.registrar,
            self.prompts,
            VoicemailStore(voicemail_dir or recordings_dir.parent / "voicemail"),
            services.voicemail,
            in_background or _inline,
            library.language,
        )
        self._surveys: dict[int, tuple[str | None, str | None]] = {}  # leg id -> result
        self.reload_queues()
        for view in services.agents.list():
            self._agent_changed(view)
        services.queues.subscribe(lambda *args: self.reload_queues())
        services.agents.subscribe(self._agent_changed)
        services.agents.show_live_state(self.live_agent)
        services.calls.attach(self.agent_calls)

    def _is_queue(self, number: str) -> bool:
        try:
            self.services.queues.get(number)
        except NotFound:
            return False
        return True

    def live_agent(self, extension: str) -> LiveAgent | None:
        """The agent as the queues see it now: ringing, on a call, in wrap-up ..."""
        if extension not in self.center.agents:
            return None
        view = self.center.agents.view(extension)
        since = None
        if view.since is not None:
            since = datetime.now(UTC) - timedelta(seconds=max(0.0, _now() - view.since))
        return LiveAgent(view.state.value, since, view.call_queue)

    # -- numbers -> applications ---------------------------------------------------------------

    def application(self, number: str):
        """What answers `number` (None: not ours, the B2BUA says 404). A number blacklisted
        outbound is answered by a 403."""
        refusal = self._blacklisted_callee(number)
        if refusal is not None:
            return refusal
        if number.startswith("*"):
            return lambda leg: self._recorded(self._feature_code(number, leg), leg)
        destination = self.destination_of(number)
        if destination is None:
            return None
        return lambda leg: self._recorded(self.run(destination, leg), leg)

    async def _recorded(self, work, leg: InboundLeg) -> None:
        """Run a call's application; every call leaves a CDR row (a queue writes its own,
        with the queue's details; any other call gets one for the caller's leg)."""
        try:
            await work
        finally:
            if not leg.ended:
                leg.hang_up()
            if not self.queues.recorded(leg):
                rating, reason = self.survey_of(leg)  # an IVR's survey key, outside a queue
                if rating is None:
                    self.on_call_record(leg_call_record(leg))
                else:
                    self.on_call_history(
                        CallHistory(leg_call_record(leg), survey=rating, survey_reason=reason)
                    )

    def unanswered(self, extension: str):
        """A direct call `extension` did not answer: its mailbox, when it has voicemail."""
        if not self.services.extensions.has_voicemail(extension):
            return None
        destination = Destination("voicemail", extension)
        return lambda leg: self._recorded(self.run(destination, leg), leg)

    def trunk_call(self, request: Request, peer: Peer):
        """What takes an INVITE before it is authenticated: a 603 for a caller blacklisted
        inbound (whatever the source); from a trunk peer, its inbound route (time conditions
        applied), or a 404. None when the source is no trunk (the caller must then
        authenticate as an extension): outside callers reach nothing but the routes."""
        trunk = self.services.trunks.trunk_for_address(peer.host)
        refusal = self._blacklisted_caller(request, from_trunk=trunk is not None)
        if refusal is not None:
            return refusal
        if trunk is None:
            return None
        uri = request.uri
        did = (uri.unescaped_user if isinstance(uri, SipUri) else None) or ""
        route = self.services.inbound_routes.route_for(did)
        if route is None:
            return lambda leg: self._recorded(self._no_route(did, leg), leg)
        name = trunk.name
        destination = parse_destination(route.destination)
        if route.time_condition:
            try:
                condition = parse_time_condition(route.time_condition)
            except ValueError as exc:
                log.error("route %s: time condition unusable (%s): treated as open", did, exc)
            else:
                if not condition.is_open(datetime.now(UTC)):
                    closed = route.closed_destination
                    destination = parse_destination(closed) if closed else HANGUP
                    log.info("route %s is closed now: to %s", did, destination)

        def answer(leg: InboundLeg):
            leg.trunk = name
            return self._recorded(self.run(destination, leg), leg)

        return answer

    # -- the blacklist ----------------------------------------------------------------------------

    def is_own_number(self, number: str) -> bool:
        """A number of our own dial plan (or a DID, or a feature code): only an entry naming
        it exactly blocks it, never a prefix."""
        return number.startswith("*") or number in self.services.contacts.own_numbers()

    def _blacklisted_caller(self, request: Request, *, from_trunk: bool):
        """A 603 for a caller (From user) blacklisted inbound; None to go on."""
        from_uri = request.from_.uri
        caller = from_uri.unescaped_user if isinstance(from_uri, SipUri) else None
        if not caller:
            return None
        internal = False if from_trunk else self.is_own_number
        entry = self.services.blacklist.blocks(caller, BlockDirection.INBOUND, internal=internal)
        if entry is None:
            return None
        uri = request.uri
        dialed = (uri.unescaped_user if isinstance(uri, SipUri) else None) or "?"
        log.info("blacklist: call from %s to %s declined (entry %s: %s, hit %d)",
                 caller, dialed, entry.id, entry.number, entry.hits)  # fmt: skip
        error = Declined(f"{caller} is blacklisted", headers=[_BLACKLISTED_WARNING])
        return lambda leg: self._refuse(leg, error)

    def _blacklisted_callee(self, number: str):
        """A 403 for a number blacklisted outbound; None to go on."""
        entry = self.services.blacklist.blocks(
            number, BlockDirection.OUTBOUND, internal=self.is_own_number
        )
        if entry is None:
            return None
        error = Blacklisted(f"{number} is blacklisted", headers=[_BLACKLISTED_WARNING])

        def refuse(leg: InboundLeg):
            log.info("blacklist: call from %s to %s refused (entry %s: %s, hit %d)",
                     leg.number, number, entry.id, entry.number, entry.hits)  # fmt: skip
            return self._refuse(leg, error)

        return refuse

    async def _refuse(self, leg: InboundLeg, error: SipError) -> None:
        """Refuse the call; no CDR row (not `_recorded`): a blocked call is no call."""
        leg.reject(error)

    async def _no_route(self, did: str, leg: InboundLeg) -> None:
        log.info("call from a trunk to %s: no inbound route", did)
        leg.reject(SipNotFound(f"no route for {did}"))

    def number_kind(self, number: str) -> str | None:
        """What `number` is, for an agent's transfer: "extension", "queue", another
        destination kind ("ring_group", "conference", "ivr"), or None."""
        if self.services.extensions.secret_for(number) is not None:
            return "extension"
        destination = self.destination_of(number)
        return destination.kind if destination is not None else None

    def destination_of(self, number: str) -> Destination | None:
        s = self.services
        for kind, service in (
            ("queue", s.queues),
            ("ring_group", s.ring_groups),
            ("conference", s.conferences),
        ):
            try:
                service.get(number)
            except NotFound:
                continue
            return Destination(kind, number)
        for ivr in s.ivrs.list():
            if ivr.number == number:
                return Destination("ivr", ivr.name)
        return None

    # -- destinations ------------------------------------------------------------------------------

    async def run(self, destination: Destination, leg: InboundLeg) -> None:
        """Carry the caller's leg to `destination` (answered or not yet)."""
        if leg.ended:
            return
        kind, target = destination.kind, destination.target
        try:
            if kind == "queue":
                await self.queues.answer(target, leg)
            elif kind == "ring_group":
                await self.ring_groups.answer(self.services.ring_groups.get(target), leg)
            elif kind == "conference":
                await self.conferences.answer(self.services.conferences.get(target), leg)
            elif kind == "ivr":
                await self._ivr(target, leg)
            elif kind == "extension":
                await self._extension(target, leg)
            elif kind == "survey":
                await self._survey(None, leg)
            elif kind == "voicemail":
                await self.voicemail.deposit(target, leg, queue=self._is_queue(target))
            elif kind == "hangup" and not leg.answered:
                leg.reject(TemporarilyUnavailable("closed"))
            else:
                await self._goodbye(leg, "goodbye" if kind == "hangup" else "unavailable")
        except NotFound:
            log.warning("destination %s no longer exists: 'unavailable' to the caller", destination)
            await self._goodbye(leg, "unavailable")

    async def _extension(self, number: str, leg: InboundLeg) -> None:
        await self.ring_groups.answer(
            RingGroupConfig(number, (number,), "ringall", self.ring_timeout, None), leg
        )

    async def _ivr(self, name: str, leg: InboundLeg) -> None:
        menus = {}
        for view in self.services.ivrs.list():
            try:
                menus[view.name] = parse_ivr(_ivr_json(view))
            except IvrConfigError as exc:
                log.error("IVR %s is not usable: %s", view.name, exc)
        if name not in menus:
            await self._goodbye(leg, "unavailable")
            return
        watcher = LegWatcher()
        await leg.prepare(watcher)
        leg.answer()
        known = {
            view.number: Destination("extension", view.number)
            for view in self.services.extensions.list()
        }
        session = IvrSession(menus, name, known)
        await run_session(self.engine, self.prompts, leg, watcher, session, transfer=self.run)

    async def _survey(self, queue: str | None, leg: InboundLeg) -> None:
        watcher = LegWatcher()
        await leg.prepare(watcher)
        leg.answer()
        session = SurveySession()

        def store(action: object) -> None:
            if isinstance(action, SurveyDone) and action.result.rating is not None:
                reason = action.result.reason.value if action.result.reason else None
                self._surveys[leg.id] = (action.result.rating.value, reason)

        await run_session(
            self.engine, self.prompts, leg, watcher, session, transfer=self.run, other=store
        )
        if not leg.ended:
            leg.hang_up()

    def survey_of(self, leg: InboundLeg) -> tuple[str | None, str | None]:
        return self._surveys.pop(leg.id, (None, None))

    async def _after_agent_hangup(self, queue: str, leg: InboundLeg) -> None:
        try:
            wants_survey = self.services.queues.get(queue).survey
        except NotFound:
            wants_survey = False
        if wants_survey:
            await self._survey(queue, leg)
        elif not leg.ended:
            leg.hang_up()

    async def _goodbye(self, leg: InboundLeg, prompt: str) -> None:
        if leg.answered:
            watcher = LegWatcher()
            await leg.prepare(watcher)
            await play(self.engine, leg, watcher, self.prompts.get(prompt))
            leg.hang_up()
        else:
            leg.reject(TemporarilyUnavailable(prompt))

    # -- agents' feature codes ---------------------------------------------------------------------

    async def _feature_code(self, code: str, leg: InboundLeg) -> None:
        agents = self.services.agents
        extension = leg.number
        prompt = "ivr-invalid"
        if code == FEATURE_MAILBOX:
            await self.voicemail.mailbox(extension, leg)
            return
        if code == FEATURE_ANY_MAILBOX:
            await self.voicemail.any_mailbox(leg, self.services.extensions.voicemail_pin)
            return
        monitor = parse_monitor_code(code)
        if monitor is not None:
            await self._monitor_code(code, leg, *monitor)
            return
        try:
            if code == FEATURE_LOGIN:
                if agents.get(extension).logged_in and any(
                    not q.static for q in agents.get(extension).queues
                ):
                    agents.logout(extension)
                    prompt = "agent-logged-out"
                else:
                    agents.login(extension)
                    prompt = "agent-logged-in"
            elif code.startswith(FEATURE_LOGIN) and code[3:].isdigit():
                agents.login(extension, [code[3:]])
                prompt = "agent-logged-in"
            elif code.startswith(FEATURE_PAUSE):
                digits = code[3:]
                reason = PAUSE_REASONS.get(digits, f"code {digits}") if digits else None
                agents.pause(extension, reason)
                prompt = "agent-paused"
            elif code == FEATURE_UNPAUSE:
                agents.unpause(extension)
                prompt = "agent-unpaused"
        except ServiceError as exc:
            log.info("feature code %s from %s refused: %s", code, extension, exc)
            prompt = "ivr-invalid"
        watcher = LegWatcher()
        await leg.prepare(watcher)
        leg.answer()
        await play(self.engine, leg, watcher, self.prompts.get(prompt))
        leg.hang_up()

    async def _monitor_code(
        self, code: str, leg: InboundLeg, mode: MonitorMode, agent: str
    ) -> None:
        """*90/*91/*92<agent>: the supervisor's phone joins the agent's call (listen, whisper,
        barge). Anyone else, or a call out of his scope, hears "unavailable" whatever the
        reason (no hint what exists); each attempt is in the operation log."""
        extension = leg.number
        source = leg.peer.host if leg.peer is not None else "unknown"
        try:
            self.services.calls.authorize_phone(extension, agent, mode, code=code, source=source)
            await self.agent_calls.monitor_with(leg, agent, mode)
            return
        except (ServiceError, CallControlError, SipError) as exc:
            log.warning("monitor code %s from %s refused: %s", code, extension, exc)
        if leg.ended:
            return
        watcher = LegWatcher()
        await leg.prepare(watcher)
        leg.answer()
        await play(self.engine, leg, watcher, self.prompts.get("unavailable"))
        leg.hang_up()

    # -- following the configuration ------------------------------------------------------------

    def reload_queues(self) -> None:
        configured = {view.number: view for view in self.services.queues.list()}
        for number, view in configured.items():
            config = _queue_config(view)
            queue = self.center.queues.get(number)
            if queue is None:
                self.center.add_queue(config)
                continue
            old = {m.extension for m in queue.config.members}
            queue.config = config
            for member in config.members:
                self.center.agents.add_static(member.extension, number, member.penalty)
            for gone in old - {m.extension for m in config.members}:
                self.center.agents.remove_static(gone, number)
        self.queues.run(self.center.poll(_now()))

    def _agent_changed(self, view) -> None:
        """The agent service changed an agent's logins or pause: the live pool follows."""
        now = _now()
        pool = self.center.agents
        extension = view.extension
        dynamic = [q.queue for q in view.queues if not q.static]
        known = extension in pool
        current = pool.view(extension) if known else None
        actions: list = []
        try:
            if dynamic:
                actions += self.center.login(extension, dynamic, now)
            if current is not None:
                gone = set(current.queues) - set(current.static_queues) - set(dynamic)
                if gone:
                    actions += self.center.logout(extension, now, sorted(gone))
            if view.paused and (dynamic or (current and current.queues)):
                actions += self.center.pause(extension, now, view.pause_reason or "")
            elif current is not None and current.paused:
                actions += self.center.unpause(extension, now)
        except (AgentError, QueueConfigError) as exc:
            log.info("agent %s: %s", extension, exc)
        self.queues.run(actions)

    def _recording_policy(self, queue: str) -> str:
        try:
            return self.services.queues.get(queue).recording
        except NotFound:
            return "none"


def leg_call_record(leg: InboundLeg) -> CdrEntry:
    """The CDR row of a call pbxd answered itself (IVR, ring group, conference ...)."""
    end = leg.ended_at or datetime.now(UTC)
    if leg.answered:
        disposition = Disposition.ANSWERED
    elif leg.end_status == 487:
        disposition = Disposition.CANCELLED
    elif leg.end_status == 486:
        disposition = Disposition.BUSY
    elif leg.end_status in (408, 480):
        disposition = Disposition.NO_ANSWER
    else:
        disposition = Disposition.FAILED
    side = HangupSide.CALLER if leg.ended_by_remote else HangupSide.SYSTEM
    return call_record(
        leg.request.call_id,
        leg.number,
        leg.dialed,
        leg.started_at,
        leg.answered_at,
        end,
        disposition,
        side,
    )


def _inline(function: Callable, *args, **kwargs) -> Future:
    """Run now, on this thread (when no database writer thread is given)."""
    future: Future = Future()
    try:
        future.set_result(function(*args, **kwargs))
    except Exception as exc:
        future.set_exception(exc)
    return future


def _now() -> float:
    return asyncio.get_running_loop().time()


def _queue_config(view) -> QueueConfig:
    return QueueConfig(
        name=view.number,
        strategy=view.strategy,
        members=tuple(Member(m.extension, m.penalty) for m in view.members),
        timeout=float(view.timeout),
        retry=float(view.retry),
        wrapup=float(view.wrapup),
        max_wait=float(view.max_wait),
        max_length=view.max_length,
        overflow=_overflow(view),
        join_empty=view.join_empty,
        leave_when_empty=view.leave_when_empty,
        welcome_prompt=view.welcome_prompt or "",
        music=view.music or "",
        announce_position=view.announce_position,
        announce_wait=view.announce_wait,
        periodic_prompt=view.periodic_prompt or "",
        periodic_interval=float(view.periodic_interval),
        announce_agent_id=view.announce_agent_id,
    )


def _overflow(view) -> Destination:
    """Where a caller goes when the queue gives up: its overflow, else its own mailbox when
    the queue takes voicemail, else hang-up."""
    if view.overflow:
        return parse_destination(view.overflow)
    return Destination("voicemail", view.number) if view.voicemail else HANGUP


def _ivr_json(view) -> dict:
    data = {
        "name": view.name,
        "prompt": view.prompt,
        "keys": dict(view.keys),
        "dial_extension": view.dial_extension,
        "timeout": view.timeout,
        "retries": view.retries,
    }
    if view.number:
        data["number"] = view.number
    if view.invalid_prompt:
        data["invalid_prompt"] = view.invalid_prompt
    if view.timeout_destination:
        data["timeout_destination"] = view.timeout_destination
    if view.invalid_destination:
        data["invalid_destination"] = view.invalid_destination
    return data
