"""Queue ring strategies: which logged-in members one ring attempt offers a caller to.

Pure functions: the queue (queue.py) gives the members, who is available right now, what this
caller already tried, the statistics and a seeded `random.Random`; `pick` answers with the
extensions to ring in this attempt. Nothing here remembers anything between calls: the queue
keeps the memory (its last answerer, each caller's tried set).

Words used below
- member order: the order the queue lists its logged-in members, see `member_order`.
  For every strategy but rrordered it is the *join order*: static members in the configured
  order, then dynamic members in the order they logged in (logging in again moves an agent to
  the end). For rrordered it is the *configured order*: static members in the configured order,
  then dynamic members by extension number (shorter first, then digit by digit), so that a
  re-login never reorders the queue.
- available: logged in to this queue, idle (not ringing, not on a call, not in wrap-up) and not
  paused; agents.py decides (`AgentPool.can_offer`).
- tier: penalties are tiers (Asterisk semantics). An attempt only considers the available
  members with the lowest penalty among the available ones; a member with a higher penalty is
  rung only when no member with a lower penalty is available (all busy, paused, in wrap-up,
  ringing for another caller or logged out). wrandom is the exception: there the penalty is a
  weight, every available member is a candidate (see below).
- round: within one caller, a sequential strategy does not ring a member again before every
  member of the tier has been rung for that caller ("tried"). Once all of them were tried, a
  new round starts (`Attempt.new_round`, the queue then forgets the tried set).
- fresh: the members of the tier not yet tried in this round (the whole tier in a new round).
- pivot: for the round-robin strategies, the member after which the search starts: the member
  rung last for this caller, or for the first attempt of a caller the member who answered the
  queue's previous call (the queue's memory); none at the very beginning.

The order each strategy produces (one attempt = one call of `pick`)
- ringall (default): every available member of the tier at once, in member order; the tried
  set plays no part (each attempt rings the whole tier again).
- linear: the first fresh member in member order. So every call starts with the first member
  of the list and goes down the list one attempt after the other, wrapping around.
- rrmemory: walk the member order cyclically starting just after the pivot, take the first
  fresh member. With the first attempt's pivot being the previous answerer, each call starts
  with the member after the agent who answered last; if the pivot is no longer a member the
  walk starts at the head of the list.
- rrordered: exactly like rrmemory, over the configured order instead of the join order.
- leastcalled: the fresh member rung the fewest times by this queue (`MemberStats.rung`),
  ties broken by member order.
- fewestcalls: the fresh member with the fewest calls answered in this queue
  (`MemberStats.answered`), ties broken by member order.
- leastrecent: the fresh member whose last call (in any queue) ended longest ago; a member who
  never had a call comes first; ties broken by member order.
- random: `rng.choice(fresh)` with fresh in member order (uniform).
- wrandom: candidates are all available members (no tier); fresh as above; the pick is
  `rng.choices(fresh, weights=[1 / (1 + penalty) ...])[0]`, fresh in member order: a member
  with penalty 0 is twice as likely as one with penalty 1, three times one with penalty 2.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "DEFAULT_STRATEGY",
    "STRATEGIES",
    "Attempt",
    "Member",
    "MemberStats",
    "StrategyError",
    "member_order",
    "pick",
    "validate_strategy",
]

STRATEGIES = (
    "ringall",
    "random",
    "rrmemory",
    "linear",
    "rrordered",
    "leastcalled",
    "fewestcalls",
    "leastrecent",
    "wrandom",
)
DEFAULT_STRATEGY = "ringall"
SEQUENTIAL = frozenset(STRATEGIES) - {"ringall"}
ROUND_ROBIN = frozenset({"rrmemory", "rrordered"})


class StrategyError(ValueError):
    """An unknown strategy or a bad member: a configuration error (HTTP 400)."""

    status = 400
    code = "bad_strategy"


def validate_strategy(name: str) -> str:
    if name not in STRATEGIES:
        raise StrategyError(f"unknown queue strategy {name!r}; one of {', '.join(STRATEGIES)}")
    return name


@dataclass(frozen=True)
class Member:
    """A queue member: an agent's extension and its penalty (0 is the best)."""

    extension: str
    penalty: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.extension, str) or not self.extension:
            raise StrategyError("a member needs an extension")
        if not isinstance(self.penalty, int) or self.penalty < 0:
            raise StrategyError(f"member {self.extension}: penalty must be an integer >= 0")


@dataclass(frozen=True)
class MemberStats:
    """What the statistic strategies look at, for one agent in one queue."""

    rung: int = 0  # times this queue rang the agent
    answered: int = 0  # calls of this queue the agent answered
    last_call_end: float | None = None  # when the agent's last call ended (any queue)


@dataclass(frozen=True)
class Attempt:
    """The agents to ring now; new_round: every member of the tier had been tried before."""

    agents: tuple[str, ...]
    new_round: bool = False


def _extension_key(extension: str) -> tuple[int, str]:
    return (len(extension), extension)


def member_order(
    strategy: str, joined: Sequence[Member], configured: Sequence[str]
) -> list[Member]:
    """The member order of `strategy` (module docstring).

    `joined`: the logged-in members in join order; `configured`: the static members'
    extensions in configuration order.
    """
    validate_strategy(strategy)
    if strategy != "rrordered":
        return list(joined)
    rank = {ext: i for i, ext in enumerate(configured)}
    static = sorted((m for m in joined if m.extension in rank), key=lambda m: rank[m.extension])
    dynamic = sorted(
        (m for m in joined if m.extension not in rank), key=lambda m: _extension_key(m.extension)
    )
    return static + dynamic


def pick(
    strategy: str,
    members: Sequence[Member],
    available: Collection[str],
    *,
    tried: Collection[str] = (),
    pivot: str | None = None,
    stats: Mapping[str, MemberStats] | None = None,
    rng: random.Random | None = None,
) -> Attempt:
    """The agents one attempt rings (module docstring); Attempt(()) when nobody is available.

    `members` is in member order (`member_order`); `available` the extensions that can be
    offered a call now; `tried` the members already rung for this caller in this round.
    """
    validate_strategy(strategy)
    candidates = [m for m in members if m.extension in available]
    if not candidates:
        return Attempt(())
    if strategy != "wrandom":
        best = min(m.penalty for m in candidates)
        candidates = [m for m in candidates if m.penalty == best]
    if strategy == "ringall":
        return Attempt(tuple(m.extension for m in candidates))

    fresh = [m for m in candidates if m.extension not in tried]
    new_round = not fresh
    if new_round:
        fresh = candidates
    position = {m.extension: i for i, m in enumerate(members)}
    stats = stats or {}

    def stat(m: Member) -> MemberStats:
        return stats.get(m.extension, MemberStats())

    if strategy == "linear":
        chosen = fresh[0]
    elif strategy in ROUND_ROBIN:
        start = position[pivot] + 1 if pivot in position else 0
        fresh_set = {m.extension for m in fresh}
        walk = list(members[start:]) + list(members[:start])
        chosen = next(m for m in walk if m.extension in fresh_set)
    elif strategy == "leastcalled":
        chosen = min(fresh, key=lambda m: (stat(m).rung, position[m.extension]))
    elif strategy == "fewestcalls":
        chosen = min(fresh, key=lambda m: (stat(m).answered, position[m.extension]))
    elif strategy == "leastrecent":

        def recency(m: Member) -> tuple[bool, float, int]:
            end = stat(m).last_call_end
            return (end is not None, end or 0.0, position[m.extension])

        chosen = min(fresh, key=recency)
    else:  # random, wrandom: randomness only from the caller's generator (tests seed it)
        if rng is None:
            raise StrategyError(f"strategy {strategy} needs a random.Random")
        if strategy == "random":
            chosen = rng.choice(fresh)
        else:
            chosen = rng.choices(fresh, weights=[1 / (1 + m.penalty) for m in fresh])[0]
    return Attempt((chosen.extension,), new_round)
