"""Runs the action lists of the pure IVR and survey sessions on a real leg.

`Play` prompts accumulate until the next step: before a `Collect` they play interruptibly
while the digits are collected (the first-digit timeout counting from the end of the
prompts), before a `Transfer` or `Hangup` they play to their end. Digit results go back to
the session; a hang-up ends it (`on_hangup`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from pbxd.callcenter.destinations import Destination
from pbxd.callcenter.ivr import Collect, Hangup, Play, Transfer
from pbxd.media.engine import MediaEngine

from ..legs import InboundLeg
from ..scripting import LegWatcher, Prompts, play, play_and_collect

log = logging.getLogger(__name__)


class ActionSession(Protocol):
    def start(self, now: float) -> Sequence[object]: ...
    def on_digits(self, result, now: float) -> Sequence[object]: ...
    def on_hangup(self, now: float) -> Sequence[object]: ...


def _now() -> float:
    return asyncio.get_running_loop().time()


async def run_session(
    engine: MediaEngine,
    prompts: Prompts,
    leg: InboundLeg,
    watcher: LegWatcher,
    session: ActionSession,
    *,
    transfer: Callable[[Destination, InboundLeg], Awaitable[None]],
    other: Callable[[object], None] = lambda action: None,
) -> None:
    """Carry out the session's actions until it transfers, hangs up, or the caller leaves."""
    actions = list(session.start(_now()))
    while actions:
        queued: list[str] = []
        interruptible = True
        following: list[object] = []
        for action in actions:
            if isinstance(action, Play):
                queued += action.prompts
                interruptible = interruptible and action.interruptible
            elif isinstance(action, Collect):
                frames = [f for prompt_id in queued for f in prompts.get(prompt_id)]
                if not interruptible and frames:
                    if not await play(engine, leg, watcher, frames):
                        session.on_hangup(_now())
                        return
                    frames = []
                result = await play_and_collect(
                    engine,
                    leg,
                    watcher,
                    frames,
                    max_digits=action.max_digits,
                    first_timeout=action.first_timeout,
                    inter_timeout=action.inter_timeout,
                    terminator=action.terminator,
                )
                if result is None:
                    session.on_hangup(_now())
                    return
                queued = []
                following = list(session.on_digits(result, _now()))
                break
            elif isinstance(action, Transfer | Hangup):
                if queued and not await _play_ids(engine, prompts, leg, watcher, queued):
                    session.on_hangup(_now())
                    return
                queued = []
                if isinstance(action, Transfer):
                    await transfer(action.destination, leg)
                else:
                    leg.hang_up()
                return
            else:
                other(action)  # e.g. the survey's result, to be stored
        if queued:
            await _play_ids(engine, prompts, leg, watcher, queued)
        actions = following


async def _play_ids(
    engine: MediaEngine, prompts: Prompts, leg: InboundLeg, watcher: LegWatcher, ids: list[str]
) -> bool:
    return await play(engine, leg, watcher, [f for i in ids for f in prompts.get(i)])
