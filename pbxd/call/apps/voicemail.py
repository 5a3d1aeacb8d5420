"""Voicemail on real calls: leaving a message, listening to one's mailbox, MWI to the phones.

Leaving a message (`voicemail:<box>`): the box's greeting (or the default one saying the
number), a beep, then the caller is recorded until he hangs up, presses #, or the maximum
length passes. The message is indexed and every registered phone of the box gets an
unsolicited NOTIFY (RFC 3842 message-summary) so its message light follows.

Listening: the mailbox menu of pbxd/callcenter/voicemail.py (play, next, delete, end), by
`*97` from one's own phone (already authenticated by digest, so no PIN) or by `*98` from any
phone: the box number, then its PIN. A box without a PIN, an unknown box and a box locked after
wrong PINs (`PinLockout`) all ask for a PIN and refuse it alike.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from pbxd.callcenter.voicemail import (
    Collect,
    DeleteMessage,
    Hangup,
    MailboxMenu,
    MarkRead,
    MessageInfo,
    PinLockout,
    Play,
    PlayFile,
    PlayMessage,
    VoicemailStore,
)
from pbxd.media.engine import MediaEngine
from pbxd.media.frames import ENGINE_RATE
from pbxd.media.player import PromptError, load_prompt
from pbxd.services.errors import ServiceError
from pbxd.services.voicemail_index import VoicemailEntry, VoicemailService
from pbxd.sip.mwi import MessageSummary, unsolicited_notify
from pbxd.sip.registrar import Registrar
from pbxd.sip.uri import SipUri

from ..legs import InboundLeg
from ..scripting import LegWatcher, Prompts, play, play_and_collect
from ..sipcore import SipCore

log = logging.getLogger(__name__)

MAX_MESSAGE_SECONDS = 120.0
MAX_BOX_DIGITS = 6
BOX_TIMEOUT = 8.0
BOX_TRIES = 3
MIN_MESSAGE_SECONDS = 0.5  # shorter: a hang-up at the beep, not a message
BEEP = (6000 * np.sin(2 * np.pi * 1000 * np.arange(int(0.3 * ENGINE_RATE)) / ENGINE_RATE)).astype(
    np.int16
)


class Voicemail:
    def __init__(
        self,
        engine: MediaEngine,
        core: SipCore,
        registrar: Registrar,
        prompts: Prompts,
        store: VoicemailStore,
        index: VoicemailService,
        in_background: Callable[..., Future],
        language: str = "zh",
    ):
        self.engine = engine
        self.core = core
        self.registrar = registrar
        self.prompts = prompts
        self.store = store
        self.index = index
        self.in_background = in_background  # the database writer thread: submit(fn, *args)
        self.language = language
        self.lockout = PinLockout()

    # -- leaving a message ----------------------------------------------------------------------

    async def deposit(self, box: str, leg: InboundLeg, *, queue: bool = False) -> None:
        """Leave a message in `box`: an extension's, or a queue's (`queue`: "all agents are
        busy" rather than "the person at extension ...")."""
        watcher = LegWatcher()
        await leg.prepare(watcher)
        leg.answer()
        if not await play(self.engine, leg, watcher, self._greeting(box, queue) + [BEEP]):
            return
        assert leg.endpoint is not None
        path = self.store.new_message_path(box, time.time())
        started = datetime.now(UTC)
        bridge = self.engine.bridge([leg.endpoint])
        recorder = self.engine.record(bridge, path, "wav-pcm16", channels=1)
        pound = asyncio.ensure_future(_wait_for_digit(watcher, "#"))
        await asyncio.wait(
            {pound, watcher.ended}, timeout=MAX_MESSAGE_SECONDS, return_when=asyncio.FIRST_COMPLETED
        )
        pound.cancel()
        self.engine.stop_recording(bridge, recorder)
        self.engine.unbridge(leg.endpoint)
        if not leg.ended:
            await play(self.engine, leg, watcher, self.prompts.get("goodbye"))
            leg.hang_up()
        try:
            final = await asyncio.wrap_future(recorder.completed)
        except Exception as exc:
            log.error("voicemail %s: message lost: %s", box, exc)
            return
        if recorder.duration < MIN_MESSAGE_SECONDS:
            final.unlink(missing_ok=True)
            return
        entry = VoicemailEntry(
            box=box,
            caller=leg.number,
            time=started,
            duration=round(recorder.duration, 2),
            path=str(final.relative_to(self.store.root)),
        )
        log.info("voicemail %s: %.1f s message from %s", box, recorder.duration, leg.number)
        stored = self.in_background(self.index.add, entry)
        loop = asyncio.get_running_loop()
        stored.add_done_callback(lambda _: loop.call_soon_threadsafe(self.notify, box))

    def _greeting(self, box: str, queue: bool) -> list[np.ndarray]:
        own = self.store.greeting_path(box)
        if own is not None:
            try:
                return [load_prompt(own)]
            except PromptError as exc:
                log.warning("voicemail %s: greeting unusable (%s): the default one", box, exc)
        p = self.prompts
        if queue:
            return p.get("vm-greeting-queue")
        return p.get("vm-greeting-default") + p.digits(box) + p.get("vm-greeting-default-end")

    # -- message waiting indication ---------------------------------------------------------------

    def notify(self, box: str) -> None:
        """Tell every registered phone of `box` how many messages wait (RFC 3842)."""
        counts = self.index.counts(box)
        for binding in self.registrar.lookup(box, self.core.now()):
            peer = binding.source
            host = self.core.host_for(peer)
            summary = MessageSummary.for_voicemail(counts.new, counts.old, SipUri("sip", host, box))
            request = unsolicited_notify(
                summary,
                target=binding.uri,
                aor=SipUri("sip", host, box),
                via=self.core.make_via(peer),
                contact=self.core.contact_for(peer, box),
            )
            self.core.send_request(request, peer, lambda response: None)

    # -- listening ------------------------------------------------------------------------------

    async def mailbox(self, box: str, leg: InboundLeg) -> None:
        """`*97`: the caller's own box, no PIN."""
        watcher = LegWatcher()
        await leg.prepare(watcher)
        leg.answer()
        await self._menu(box, leg, watcher, pin=None, locked=False)

    async def any_mailbox(self, leg: InboundLeg, pin_of: Callable[[str], str | None]) -> None:
        """`*98`: asks for a box number, then its PIN (`pin_of(box)`, None: cannot open)."""
        watcher = LegWatcher()
        await leg.prepare(watcher)
        leg.answer()
        prompt = self.prompts.get("vm-enter-mailbox")
        for _ in range(BOX_TRIES):
            result = await play_and_collect(
                self.engine, leg, watcher, prompt, max_digits=MAX_BOX_DIGITS,
                first_timeout=BOX_TIMEOUT, inter_timeout=BOX_TIMEOUT, terminator="#",
            )  # fmt: skip
            if result is None:
                return
            box = result.digits.rstrip("#")
            if box:
                break
        else:
            await play(self.engine, leg, watcher, self.prompts.get("goodbye"))
            leg.hang_up()
            return
        now = time.monotonic()
        pin = pin_of(box)
        locked = pin is None or self.lockout.locked(box, now)
        if pin is not None and locked:
            log.warning("voicemail %s: locked after wrong PINs; refused a call from %s",
                        box, leg.number)  # fmt: skip
        menu = await self._menu(box, leg, watcher, pin=pin, locked=locked)
        if menu.pin_failures:
            log.warning("voicemail %s: %d wrong PIN(s) from %s", box, menu.pin_failures, leg.number)
        if pin is not None:
            self.lockout.record(box, menu.pin_failures, time.monotonic(), opened=menu.authenticated)

    async def _menu(
        self, box: str, leg: InboundLeg, watcher: LegWatcher, *, pin: str | None, locked: bool
    ) -> MailboxMenu:
        messages = [] if locked else self.index.messages(box)
        views = {str(v.id): v for v in messages if v.available}
        infos = [MessageInfo(i, v.new, v.time.timestamp()) for i, v in views.items()]
        menu = MailboxMenu(box, infos, self.language, pin=pin, locked=locked)
        actions = menu.start()
        last_change: Future | None = None
        try:
            while actions:
                following: list = []
                queued: list[np.ndarray] = []  # interruptible prompts, played while collecting
                for action in actions:
                    if isinstance(action, Play) and action.interruptible:
                        queued += [f for i in action.prompts for f in self.prompts.get(i)]
                        continue
                    if queued and not isinstance(action, Collect):
                        if not await play(self.engine, leg, watcher, queued):
                            return menu
                        queued = []
                    if isinstance(action, Play):
                        frames = [f for i in action.prompts for f in self.prompts.get(i)]
                        if not await play(self.engine, leg, watcher, frames):
                            return menu
                    elif isinstance(action, PlayFile | PlayMessage):
                        path = (
                            action.path
                            if isinstance(action, PlayFile)
                            else self._message_path(views.get(action.message_id))
                        )
                        if path is not None and not await self._play_file(leg, watcher, path):
                            return menu
                    elif isinstance(action, Collect):
                        result = await play_and_collect(
                            self.engine, leg, watcher, queued,
                            max_digits=action.max_digits, first_timeout=action.timeout,
                            inter_timeout=action.timeout, terminator=_terminator(action),
                        )  # fmt: skip
                        if result is None:
                            break
                        following = menu.collected(result.digits)
                        break
                    elif isinstance(action, MarkRead | DeleteMessage):
                        last_change = self._change(box, action)
                    elif isinstance(action, Hangup):
                        leg.hang_up()
                actions = following
            if not leg.ended:
                leg.hang_up()
        finally:
            if last_change is not None:  # once written; also when he hung up after deleting
                loop = asyncio.get_running_loop()
                last_change.add_done_callback(lambda _: loop.call_soon_threadsafe(self.notify, box))
        return menu

    def _message_path(self, view) -> Path | None:
        if view is None:
            return None
        try:
            return self.index.audio(view.box, view.id).path
        except (ServiceError, AttributeError):
            return None

    async def _play_file(self, leg: InboundLeg, watcher: LegWatcher, path: Path) -> bool:
        try:
            frames = [load_prompt(path)]
        except PromptError as exc:
            log.warning("voicemail: cannot play %s: %s", path, exc)
            return True
        return await play(self.engine, leg, watcher, frames)

    def _change(self, box: str, action: MarkRead | DeleteMessage) -> Future:
        message_id = int(action.message_id)
        if isinstance(action, MarkRead):
            future = self.in_background(self.index.mark, box, message_id, new=False)
        else:
            future = self.in_background(self.index.delete, box, message_id)
        future.add_done_callback(_log_failure)
        return future


def _terminator(action: Collect) -> str | None:
    """A one-key menu takes # as a key (end); longer entries (a PIN) end with it."""
    return action.terminators[:1] or None if action.max_digits > 1 else None


async def _wait_for_digit(watcher: LegWatcher, wanted: str) -> None:
    while await watcher.digits.get() != wanted:
        pass


def _log_failure(future: Future) -> None:
    if future.exception() is not None:
        log.error("voicemail index: %s", future.exception())
