"""Conference rooms (会议室): N-way mix-minus, optional PIN, moderator.

A caller who dials a room's number is answered, asked for the PIN when the room has one
(three tries), and joins. Alone in the room, or waiting for the moderator of a room that has a
moderator PIN, a member hears music on hold; two or more (moderator present when needed) hear
each other through the engine's conference mix (each hears everyone but himself). When the
last moderator leaves, the others are told goodbye and hung up. A full room says so and ends.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from pbxd.media.engine import MediaEngine

from ..legs import InboundLeg, Leg
from ..scripting import LegWatcher, Prompts, play, play_and_collect

log = logging.getLogger(__name__)

PIN_TRIES = 3
PIN_MAX_DIGITS = 8
PIN_TIMEOUT = 10.0


@dataclass(frozen=True)
class RoomConfig:
    number: str
    pin: str | None = None
    moderator_pin: str | None = None
    max_members: int = 10


@dataclass
class Member:
    leg: Leg
    watcher: LegWatcher
    moderator: bool


@dataclass
class Room:
    config: RoomConfig
    members: list[Member] = field(default_factory=list)

    @property
    def waits_for_moderator(self) -> bool:
        return bool(self.config.moderator_pin) and not any(m.moderator for m in self.members)


class Conferences:
    """The live rooms; `answer(config, leg)` runs one caller's stay in a room."""

    def __init__(self, engine: MediaEngine, prompts: Prompts):
        self.engine = engine
        self.prompts = prompts
        self.rooms: dict[str, Room] = {}

    async def answer(self, config: RoomConfig, leg: InboundLeg) -> None:
        watcher = LegWatcher()
        await leg.prepare(watcher)
        leg.answer()
        room = self.rooms.setdefault(config.number, Room(config))
        room.config = config
        if len(room.members) >= config.max_members:
            await play(self.engine, leg, watcher, self.prompts.get("conf-full"))
            leg.hang_up()
            return
        moderator = await self._check_pin(config, leg, watcher)
        if moderator is None:
            return
        if len(room.members) >= config.max_members:  # filled up while the PIN was typed
            await play(self.engine, leg, watcher, self.prompts.get("conf-full"))
            leg.hang_up()
            return
        member = Member(leg, watcher, moderator)
        room.members.append(member)
        log.info(
            "conference %s: %s joins (%d in the room)", config.number, leg.number, len(room.members)
        )
        if len(room.members) == 1 and not room.waits_for_moderator:
            await play(self.engine, leg, watcher, self.prompts.get("conf-alone"))
        self._mix(room)
        await watcher.ended
        self._leave(room, member)

    async def _check_pin(self, config: RoomConfig, leg: Leg, watcher: LegWatcher) -> bool | None:
        """True: moderator, False: member, None: hung up (wrong PIN or gone)."""
        if not config.pin and not config.moderator_pin:
            return False
        for attempt in range(PIN_TRIES):
            prompt = self.prompts.get("conf-enter-pin" if attempt == 0 else "conf-wrong-pin")
            result = await play_and_collect(
                self.engine, leg, watcher, prompt,
                max_digits=PIN_MAX_DIGITS, first_timeout=PIN_TIMEOUT, inter_timeout=PIN_TIMEOUT,
            )  # fmt: skip
            if result is None:
                return None
            if config.moderator_pin and result.digits == config.moderator_pin:
                return True
            if config.pin and result.digits == config.pin:
                return False
            if not config.pin and not result.digits:
                return False  # only the moderator has a PIN: members just press #
        await play(self.engine, leg, watcher, self.prompts.get("goodbye"))
        leg.hang_up()
        return None

    def _mix(self, room: Room) -> None:
        """Bridge who can talk; music on hold for whoever waits (alone, or for the moderator)."""
        present = [m for m in room.members if m.leg.endpoint is not None and not m.leg.ended]
        talking = [] if room.waits_for_moderator or len(present) < 2 else present
        for member in present:
            endpoint = member.leg.endpoint
            assert endpoint is not None
            if member in talking:
                self.engine.stop_playing(endpoint)
            else:
                self.engine.unbridge(endpoint)
                self.engine.play(endpoint, self.prompts.music(), loop=True)
        if talking:
            self.engine.bridge([m.leg.endpoint for m in talking])  # type: ignore[misc]

    def _leave(self, room: Room, member: Member) -> None:
        if member in room.members:
            room.members.remove(member)
        log.info(
            "conference %s: %s leaves (%d left)",
            room.config.number,
            member.leg.number,
            len(room.members),
        )
        if member.moderator and room.config.moderator_pin and room.waits_for_moderator:
            for other in list(room.members):
                other.leg.hang_up()  # the moderator closed the conference
            room.members.clear()
        if not room.members:
            self.rooms.pop(room.config.number, None)
            return
        self._mix(room)
