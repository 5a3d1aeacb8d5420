"""Agent call controls (issue 7), the pure part: the state of an agent's customer call under
hold, mute, transfers and consultation, and who hears whom in it.

`Control` is the call's state: a phase and two flags. Every change, whether the agent asked
for it (the API: hold, resume, mute, unmute, transfer, consult, complete, cancel, conference)
or a phone did it (the consulted party answers or hangs up, the agent hangs up), is an event
of the table `_TRANSITIONS`; anything else raises `ControlStateError` naming the event, the
phase and why it does not fit.

    TALKING --consult--> CONSULT_RINGING --answered--> CONSULTING --conference--> CONFERENCE
    TALKING --transfer--> TRANSFERRING --answered--> TALKING (the target is the agent now)
    CONSULTING, CONFERENCE --complete / agent_gone--> TALKING (the target is the agent now)
    CONSULT_RINGING, CONSULTING, CONFERENCE --cancel / target_gone--> TALKING
    CONSULT_RINGING --agent_gone--> TRANSFERRING (the agent hung up: it rings on, blind)
    TRANSFERRING --target_gone--> the caller goes back to his queue (the owner's business)

`held`: the customer is out of the conversation (he hears music, nobody hears him): on hold,
during a consultation, while a blind transfer rings. Resume, cancel, conference, or the
target taking the call bring him back; a consulted party who hangs up or does not answer
leaves him on hold (the agent resumes). `muted`: the customer does not hear the agent (the
agent still hears him); kept until unmuted, dropped when another agent takes the call.

`call_matrix` is who hears whom for a state: the mixer's talk/listen matrix of the call's
bridge, monitoring supervisors included (pbxd/media/mixer.py presets, generalised to the
parties in the conversation).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import Enum

from pbxd.media.mixer import Matrix, Pid
from pbxd.services.calls import (
    CallPhase,
    ConsultState,
    ControlAction,
    ControlStateError,
    Misfit,
    MonitorMode,
)


class Phase(Enum):
    TALKING = "talking"
    CONSULT_RINGING = "consult_ringing"
    CONSULTING = "consulting"
    CONFERENCE = "conference"
    TRANSFERRING = "transferring"


# Events phones cause, beside the agent's actions (ControlAction values).
ANSWERED = "answered"  # the consulted party or the transfer's target answered
TARGET_GONE = "target_gone"  # it hung up, refused or did not answer
AGENT_GONE = "agent_gone"  # the agent hung up during a consultation or three-way call

_T, _CR, _C, _CF, _X = (
    Phase.TALKING,
    Phase.CONSULT_RINGING,
    Phase.CONSULTING,
    Phase.CONFERENCE,
    Phase.TRANSFERRING,
)
A = ControlAction
_FLAGS = (A.MUTE, A.UNMUTE)

# (phase, event) -> next phase. Flags are set by `_flags` below.
_TRANSITIONS: dict[tuple[Phase, str], Phase] = {
    (_T, A.HOLD): _T,
    (_T, A.RESUME): _T,
    (_T, A.TRANSFER): _X,
    (_T, A.CONSULT): _CR,
    (_CR, A.HOLD): _CR,  # on hold already: nothing changes
    (_CR, A.CANCEL): _T,
    (_CR, ANSWERED): _C,
    (_CR, TARGET_GONE): _T,
    (_CR, AGENT_GONE): _X,
    (_C, A.HOLD): _C,
    (_C, A.COMPLETE): _T,
    (_C, A.CANCEL): _T,
    (_C, A.CONFERENCE): _CF,
    (_C, TARGET_GONE): _T,
    (_C, AGENT_GONE): _T,
    (_CF, A.COMPLETE): _T,
    (_CF, A.CANCEL): _T,
    (_CF, TARGET_GONE): _T,
    (_CF, AGENT_GONE): _T,
    (_X, ANSWERED): _T,
    **{(phase, flag): phase for phase in (_T, _CR, _C, _CF) for flag in _FLAGS},
}

# The events after which the consulted party (or the transfer's target) is the call's agent.
TAKES_OVER = frozenset({(_C, A.COMPLETE), (_CF, A.COMPLETE), (_C, AGENT_GONE),
                        (_CF, AGENT_GONE), (_X, ANSWERED)})  # fmt: skip


def _misfit(phase: Phase, event: str) -> Misfit:
    if phase is _X:
        return Misfit.TRANSFERRING
    if phase is _CF:
        return Misfit.CONFERENCE
    if phase is _CR and event in (A.COMPLETE, A.CONFERENCE):
        return Misfit.NOT_ANSWERED
    if phase in (_CR, _C):
        return Misfit.CONSULTING
    return Misfit.NO_CONSULTATION


@dataclass(frozen=True)
class Control:
    phase: Phase = Phase.TALKING
    held: bool = False
    muted: bool = False

    def after(self, event: str) -> Control:
        """The state after `event`; ControlStateError when it does not fit."""
        phase = _TRANSITIONS.get((self.phase, event))
        if phase is None:
            raise ControlStateError(
                f"{event}: illegal in phase {self.phase.value}",
                action=str(event),
                phase=self.phase.value,
                why=_misfit(self.phase, event),
            )
        return replace(self, phase=phase, **_flags(self, event))

    def takes_over(self, event: str) -> bool:
        """Whether `event` hands the call to the consulted party (or transfer target)."""
        return (self.phase, event) in TAKES_OVER

    @property
    def target_in_call(self) -> bool:
        """Whether the consulted party's endpoint belongs in the bridge."""
        return self.phase in (Phase.CONSULTING, Phase.CONFERENCE)

    @property
    def music(self) -> bool:
        """Whether the customer hears music on hold."""
        return self.held

    @property
    def ringback(self) -> bool:
        """Whether the agent hears ringback (his consultation rings)."""
        return self.phase is Phase.CONSULT_RINGING

    @property
    def api_phase(self) -> CallPhase:
        if self.phase in (Phase.CONSULT_RINGING, Phase.CONSULTING):
            return CallPhase.CONSULTING
        if self.phase is Phase.CONFERENCE:
            return CallPhase.CONFERENCE
        return CallPhase.TALKING

    @property
    def consult_state(self) -> ConsultState | None:
        if self.phase is Phase.CONSULT_RINGING:
            return ConsultState.RINGING
        if self.phase in (Phase.CONSULTING, Phase.CONFERENCE):
            return ConsultState.CONNECTED
        return None


def _flags(state: Control, event: str) -> dict[str, bool]:
    if event == A.HOLD:
        return {"held": True}
    if event in (A.RESUME, A.CANCEL, A.CONFERENCE):
        return {"held": False}
    if event == A.MUTE:
        return {"muted": True}
    if event == A.UNMUTE:
        return {"muted": False}
    if event in (A.CONSULT, A.TRANSFER):
        return {"held": True}
    if event == TARGET_GONE and state.phase is Phase.CONFERENCE:
        return {"held": False}  # back to the customer and the agent, who talked already
    if state.takes_over(event):
        return {"held": False, "muted": False}  # another agent takes the caller
    return {}


# -- who hears whom ------------------------------------------------------------------------------


def call_matrix(
    customer: Pid,
    agent: Pid,
    monitors: Mapping[Pid, MonitorMode],
    *,
    target: Pid | None = None,
    held: bool = False,
    muted: bool = False,
    conference: bool = False,
) -> Matrix:
    """Who hears whom in an agent's call (pure).

    Customer and agent hear each other, unless the customer is `held` (nobody hears him, he
    hears nobody: music replaces the bridge for him) or the agent `muted` (the customer does
    not hear him). A consulted `target` and the agent hear each other; in a `conference` the
    customer and the target hear each other too. A supervisor hears everyone in the
    conversation; whisper: the agent hears him; barge: everyone in the conversation hears him.
    A supervisor also hears the other supervisors who speak into the call."""
    matrix: Matrix = {}

    def link(source: Pid, listener: Pid) -> None:
        matrix[(source, listener)] = 1.0

    if not held:
        link(customer, agent)
        if not muted:
            link(agent, customer)
    if target is not None:
        link(agent, target)
        link(target, agent)
        if conference and not held:
            link(customer, target)
            link(target, customer)
    talking = [agent] + ([] if held else [customer]) + ([] if target is None else [target])
    for supervisor, mode in monitors.items():
        for party in talking:
            link(party, supervisor)
        if mode is MonitorMode.WHISPER:
            link(supervisor, agent)
        elif mode is MonitorMode.BARGE:
            for party in talking:
                link(supervisor, party)
    speaking = [s for s, mode in monitors.items() if mode is not MonitorMode.LISTEN]
    for supervisor in monitors:
        for other in speaking:
            if other != supervisor:
                link(other, supervisor)
    return matrix
