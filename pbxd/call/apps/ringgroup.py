"""Ring groups (振铃组): ring all members at once, or one after the other, then bridge.

The caller hears ringing (180) while the members' phones ring; the first member to answer is
bridged to the caller and the others stop ringing. In order: each member rings `timeout`
seconds, then the next. Nobody answers (or nobody is registered): the failover destination
takes the still unanswered call, else the caller gets 480.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pbxd.media.engine import MediaEngine
from pbxd.media.tones import CHINA
from pbxd.sip.errors import SipError, TemporarilyUnavailable

from ..callcenter_bridge import connect
from ..legs import InboundLeg, LegManager, OutboundLeg
from ..scripting import LegWatcher

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RingGroupConfig:
    number: str
    members: tuple[str, ...]
    strategy: str = "ringall"  # or "order"
    timeout: float = 20.0  # seconds: the whole group (ringall) or each member (order)
    failover: str | None = None  # a destination ("voicemail:1001") when nobody answers


class RingGroups:
    def __init__(
        self,
        engine: MediaEngine,
        legs: LegManager,
        transfer: Callable[[str, InboundLeg], Awaitable[None]],
    ):
        self.engine = engine
        self.legs = legs
        self.transfer = transfer  # runs another destination on the still unanswered leg

    async def answer(self, config: RingGroupConfig, leg: InboundLeg) -> None:
        caller = LegWatcher()
        await leg.prepare(caller)
        if leg.answered and leg.endpoint is not None:
            # Already answered (an IVR handed the caller on): ringback in the media instead.
            self.engine.play_tone(leg.endpoint, CHINA, "ringback")
        leg.ring()
        if config.strategy == "ringall":
            groups = [config.members]
        else:
            groups = [(member,) for member in config.members]
        for members in groups:
            if leg.ended:
                return
            answered = await self._ring(leg, caller, members, config.timeout)
            if answered is not None:
                await connect(self.engine, leg, caller, answered[0], answered[1])
                return
        if leg.ended:
            return
        if config.failover:
            log.info("ring group %s: no answer, to %s", config.number, config.failover)
            await self.transfer(config.failover, leg)
        else:
            leg.reject(TemporarilyUnavailable("nobody in the ring group answered"))

    async def _ring(
        self, leg: InboundLeg, caller: LegWatcher, members: tuple[str, ...], timeout: float
    ) -> tuple[OutboundLeg, LegWatcher] | None:
        """Ring `members` at once; the first to answer (the others are cancelled), or None."""
        codec = leg.codec
        ringing: list[tuple[OutboundLeg, LegWatcher]] = []
        for member in members:
            watcher = LegWatcher()
            try:
                out = await self.legs.outbound(
                    member, watcher, caller=leg.number, preferred_codecs=[codec] if codec else []
                )
            except SipError as exc:
                log.info("ring group: %s not rung: %s", member, exc)
                continue
            ringing.append((out, watcher))
        if not ringing:
            return None
        answers = {asyncio.ensure_future(_wait_answer(w)): (o, w) for o, w in ringing}
        deadline = asyncio.get_running_loop().time() + timeout
        winner = None
        pending = set(answers)
        try:
            while pending and winner is None and not caller.ended.done():
                left = deadline - asyncio.get_running_loop().time()
                if left <= 0:
                    break
                done, pending = await asyncio.wait(
                    pending | {caller.ended}, timeout=left, return_when=asyncio.FIRST_COMPLETED
                )
                pending.discard(caller.ended)  # type: ignore[arg-type]
                winner = next((answers[t] for t in done if t in answers and t.result()), None)
        finally:
            for task in answers:
                task.cancel()
            for out, _ in ringing:
                if winner is None or out is not winner[0]:
                    out.cancel()
        return winner


async def _wait_answer(watcher: LegWatcher) -> bool:
    """True once the leg answers; False when it fails or ends first."""
    try:
        await watcher.answered
    except asyncio.CancelledError:
        return False
    return True
