"""Joining a caller's leg to the leg of whoever answered, until one of them hangs up."""

from __future__ import annotations

import asyncio

from pbxd.media.engine import MediaEngine

from .legs import InboundLeg, OutboundLeg
from .scripting import LegWatcher


async def connect(
    engine: MediaEngine,
    caller: InboundLeg,
    caller_watch: LegWatcher,
    callee: OutboundLeg,
    callee_watch: LegWatcher,
) -> None:
    """Answer the caller, bridge both endpoints, and end the call when either side ends."""
    if caller.ended:
        callee.hang_up()
        return
    caller.answer()
    assert caller.endpoint is not None and callee.endpoint is not None
    engine.stop_playing(caller.endpoint)
    engine.bridge([caller.endpoint, callee.endpoint])
    await asyncio.wait(
        {caller_watch.ended, callee_watch.ended}, return_when=asyncio.FIRST_COMPLETED
    )
    for leg in (caller, callee):
        if not leg.ended:
            leg.hang_up()
