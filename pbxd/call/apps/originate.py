"""Click-to-dial (点击拨号): pbxd calls the agent first, then the number he clicked.

The agent's devices ring (his browser softphone answers at once: he just clicked; a desk
phone rings until he picks up), showing the number to be called; once he answers he hears
ringback while the other party rings, and the two are bridged when it answers. Either side
hanging up ends the call. The CDR row is the agent's outgoing call: caller the agent,
callee the number, answered when the other party answered.

Reachable numbers for now: what pbxd serves itself without a trunk (extensions); the number
must pass `dialable`, which the caller of `dial` gives.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from pbxd.media.engine import MediaEngine
from pbxd.media.tones import CHINA
from pbxd.services.cdr import CdrEntry
from pbxd.sip.dialog import new_call_id
from pbxd.sip.errors import SipError

from ..cdr import Disposition, HangupSide, call_record
from ..legs import Leg, LegManager
from ..scripting import LegWatcher

log = logging.getLogger(__name__)

AGENT_RING_SECONDS = 30.0  # the agent's desk phone rings this long for his own click
CALLEE_RING_SECONDS = 60.0


class ClickToDial:
    def __init__(
        self,
        engine: MediaEngine,
        legs: LegManager,
        record_call: Callable[[CdrEntry], None],
        *,
        agent_ring_seconds: float = AGENT_RING_SECONDS,
        callee_ring_seconds: float = CALLEE_RING_SECONDS,
    ):
        self.engine = engine
        self.legs = legs
        self.record_call = record_call
        self.agent_ring_seconds = agent_ring_seconds
        self.callee_ring_seconds = callee_ring_seconds
        self._calls: set[asyncio.Task] = set()

    async def dial(self, agent: str, number: str) -> str:
        """Ring `agent` for a call to `number`; the call id (its CDR's). Raises SipError
        (TemporarilyUnavailable: the agent has no device registered)."""
        call_id = new_call_id("click-to-dial")
        self.legs.directory.add(call_id, number, agent)
        watcher = LegWatcher()
        agent_leg = await self.legs.outbound(
            agent, watcher, caller=number, display=number,
            call_info={"kind": "originate", "call_id": call_id},
        )  # fmt: skip
        task = asyncio.get_running_loop().create_task(
            self._run(call_id, agent, number, agent_leg, watcher)
        )
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)
        log.info("click-to-dial %s: ringing %s for %s", call_id, agent, number)
        return call_id

    async def _run(
        self, call_id: str, agent: str, number: str, agent_leg: Leg, agent_watch: LegWatcher
    ) -> None:
        started = datetime.now(UTC)
        answered: datetime | None = None
        disposition, side = Disposition.CANCELLED, HangupSide.CALLER
        callee_leg: Leg | None = None
        try:
            if not await _answered(agent_watch, self.agent_ring_seconds):
                agent_leg.hang_up()
                return
            endpoint = agent_leg.endpoint
            assert endpoint is not None
            self.engine.play_tone(endpoint, CHINA, "ringback")
            callee_watch = LegWatcher()
            try:
                callee_leg = await self.legs.outbound(
                    number, callee_watch, caller=agent, preferred_codecs=[agent_leg.codec]
                )
            except SipError as exc:
                log.info("click-to-dial %s: %s not rung: %s", call_id, number, exc)
                disposition, side = Disposition.FAILED, HangupSide.SYSTEM
                agent_leg.hang_up()
                return
            outcome = await _first(
                agent_watch.ended, callee_watch.answered, self.callee_ring_seconds
            )
            if outcome != "answered":
                disposition = {
                    "hung_up": Disposition.CANCELLED,
                    "timeout": Disposition.NO_ANSWER,
                    "refused": Disposition.BUSY
                    if callee_watch.ended.done() and callee_watch.ended.result() == 486
                    else Disposition.NO_ANSWER,
                }[outcome]
                side = HangupSide.CALLER if outcome == "hung_up" else HangupSide.CALLEE
                callee_leg.hang_up()
                agent_leg.hang_up()
                return
            answered, disposition = datetime.now(UTC), Disposition.ANSWERED
            assert callee_leg.endpoint is not None
            self.engine.stop_playing(endpoint)
            self.engine.bridge([endpoint, callee_leg.endpoint])
            log.info("click-to-dial %s: %s <-> %s", call_id, agent, number)
            done, _ = await asyncio.wait(
                {agent_watch.ended, callee_watch.ended}, return_when=asyncio.FIRST_COMPLETED
            )
            side = HangupSide.CALLER if agent_watch.ended in done else HangupSide.CALLEE
            agent_leg.hang_up()
            callee_leg.hang_up()
        finally:
            self.record_call(
                call_record(
                    call_id, agent, number, started, answered, datetime.now(UTC), disposition, side
                )  # fmt: skip
            )


async def _answered(watch: LegWatcher, seconds: float) -> bool:
    try:
        await asyncio.wait_for(asyncio.shield(watch.answered), seconds)
    except (TimeoutError, asyncio.CancelledError):
        return False
    return True


async def _first(ended: asyncio.Future, answered: asyncio.Future, seconds: float) -> str:
    """What comes first: "hung_up" (the agent), "answered", "refused" (the callee's leg
    failed: `answered` is cancelled then), or "timeout" after `seconds`."""
    done, _ = await asyncio.wait({ended, answered}, timeout=seconds,
                                 return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
    if ended in done:
        return "hung_up"
    if answered in done:
        return "refused" if answered.cancelled() else "answered"
    return "timeout"
