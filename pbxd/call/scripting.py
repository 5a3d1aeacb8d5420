"""Await-able steps for applications that run on legs: answer, play, collect digits, wait.

A leg reports by callbacks (`LegListener`); an IVR or a PIN prompt reads best as a coroutine.
`LegWatcher` turns one leg's callbacks into futures and a digit queue, and the helpers below
return None instead of raising when the caller hangs up mid-step, so an application ends with a
plain `if result is None: return`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from pbxd.media.dtmf import CollectResult
from pbxd.media.engine import MediaEngine
from pbxd.media.frames import ENGINE_RATE

from .legs import Leg


class Prompts(Protocol):
    """The prompt library as applications see it: frames by prompt id, never an exception
    (a missing prompt is a short silence and a log line, not dead air)."""

    def get(self, prompt_id: str) -> list[np.ndarray]: ...
    def music(self) -> list[np.ndarray]: ...
    def number(self, value: int) -> list[np.ndarray]: ...
    def digits(self, text: str) -> list[np.ndarray]: ...


class LegWatcher:
    """The LegListener of one leg, for coroutines: `answered`, `ended`, `digits`."""

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.answered: asyncio.Future[Leg] = loop.create_future()
        self.ended: asyncio.Future[int | None] = loop.create_future()  # failure status or None
        self.digits: asyncio.Queue[str] = asyncio.Queue()

    def on_leg_ringing(self, leg: Leg) -> None:
        pass

    def on_leg_answered(self, leg: Leg) -> None:
        if not self.answered.done():
            self.answered.set_result(leg)

    def on_leg_failed(self, leg: Leg, status: int, reason: str) -> None:
        self._end(status)

    def on_leg_ended(self, leg: Leg, by_remote: bool) -> None:
        self._end(None)

    def on_leg_digit(self, leg: Leg, digit: str) -> None:
        self.digits.put_nowait(digit)

    def _end(self, status: int | None) -> None:
        if not self.ended.done():
            self.ended.set_result(status)
        if not self.answered.done():
            self.answered.cancel()


def seconds_of(prompts: Sequence[np.ndarray]) -> float:
    return sum(len(p) for p in prompts) / ENGINE_RATE


async def until_ended(watcher: LegWatcher, work: asyncio.Future, timeout: float | None = None):
    """The result of `work`, or None when the leg ends first (or `timeout` passes)."""
    done, _ = await asyncio.wait(
        {work, watcher.ended}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
    )
    if work in done:
        return work.result()
    if not work.done():
        work.cancel()
    return None


async def play(
    engine: MediaEngine, leg: Leg, watcher: LegWatcher, prompts: Sequence[np.ndarray]
) -> bool:
    """Play `prompts` to the leg to the end (digits do not stop it); False if it hung up."""
    assert leg.endpoint is not None
    finished: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def done() -> None:
        if not finished.done():
            finished.set_result(True)

    engine.play(leg.endpoint, list(prompts), stop_on_dtmf=False, on_finished=done)
    return await until_ended(watcher, finished) is True


async def play_and_collect(
    engine: MediaEngine,
    leg: Leg,
    watcher: LegWatcher,
    prompts: Sequence[np.ndarray],
    *,
    max_digits: int,
    first_timeout: float,
    inter_timeout: float,
    terminator: str | None = "#",
) -> CollectResult | None:
    """Play `prompts` (a digit stops them) while collecting digits; None if the leg ended.

    The first-digit timeout starts when the prompts would end: a caller who knows the menu
    may type during it, a caller who listens gets the whole timeout after it.
    """
    assert leg.endpoint is not None
    if prompts:
        engine.play(leg.endpoint, list(prompts), stop_on_dtmf=True)
    future = engine.collect_digits(
        leg.endpoint,
        max_digits=max_digits,
        first_timeout=seconds_of(prompts) + first_timeout,
        inter_timeout=inter_timeout,
        terminator=terminator,
    )
    result = await until_ended(watcher, future)
    engine.stop_playing(leg.endpoint)
    return result
