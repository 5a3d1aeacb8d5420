"""N-party mix-minus with a talk/listen matrix (pure: frames in, frames out).

A link (source, listener, gain) means "listener hears source at this linear gain". Nobody
ever hears themself (mix-minus), so a link from a participant to itself is refused. Every
20 ms the engine calls `mix` with what each participant said (a frame, or None when it sent
nothing: no packet, DTX, on hold) and gets back what each participant hears.

Cost per tick, from cheapest:
- a listener with no active source gets one shared read-only silent frame;
- a listener with exactly one active source at unity gain gets that source's frame object
  itself (a 2-party bridge does no arithmetic at all);
- listeners that hear every other participant at unity gain (a plain conference) get
  total - own, with the total summed once in int32;
- the remaining listeners (whisper, listen, gains) come from one matrix product over the
  active sources.
All sums are taken wider than int16 and saturated once at the end.

Output frames may be the input arrays themselves or a shared silent frame: treat them as
read-only (the silent frame is flagged non-writeable).

Presets (`bridge`, `conference`, `listen`, `whisper`, `barge`) are plain functions returning a
`Matrix` ({(source, listener): gain}) for `Mixer.set_matrix`.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping

import numpy as np

from .frames import FRAME_SAMPLES, Frame, saturate

Pid = Hashable
Link = tuple[Pid, Pid]  # (source, listener)
Matrix = dict[Link, float]

MAX_GAIN = 16.0  # +24 dB: anything above is a configuration mistake, not a mix

_SILENT = np.zeros(FRAME_SAMPLES, dtype=np.int16)
_FRAME_SHAPE = (FRAME_SAMPLES,)
_INT16 = np.dtype(np.int16)
_SILENT.setflags(write=False)


class MixerError(ValueError):
    """A mixer set-up mistake: unknown participant, self link, bad gain or bad frame."""


# -- presets ---------------------------------------------------------------------------------


def bridge(a: Pid, b: Pid) -> Matrix:
    """Two parties hear each other."""
    return {(a, b): 1.0, (b, a): 1.0}


def conference(ids: Iterable[Pid]) -> Matrix:
    """Everyone hears everyone else."""
    members = list(dict.fromkeys(ids))
    return {(s, listener): 1.0 for listener in members for s in members if s != listener}


def listen(supervisor: Pid, agent: Pid, customer: Pid) -> Matrix:
    """Silent monitoring: the supervisor hears both; nobody hears the supervisor."""
    matrix = bridge(agent, customer)
    matrix[(agent, supervisor)] = 1.0
    matrix[(customer, supervisor)] = 1.0
    return matrix


def whisper(supervisor: Pid, agent: Pid, customer: Pid) -> Matrix:
    """Coaching: as `listen`, and the agent also hears the supervisor; the customer does not."""
    matrix = listen(supervisor, agent, customer)
    matrix[(supervisor, agent)] = 1.0
    return matrix


def barge(supervisor: Pid, agent: Pid, customer: Pid) -> Matrix:
    """The supervisor joins: all three hear each other."""
    return conference((supervisor, agent, customer))


# -- mixer -----------------------------------------------------------------------------------


def _check_gain(gain: float) -> float:
    gain = float(gain)
    if not math.isfinite(gain) or gain <= 0.0 or gain > MAX_GAIN:
        raise MixerError(f"gain {gain!r} outside (0, {MAX_GAIN}]; use clear_link to cut a link")
    return gain


class Mixer:
    """Participants, links between them, and the per-tick mix."""

    def __init__(self, matrix: Mapping[Link, float] | None = None) -> None:
        self._index: dict[Pid, int] = {}  # pid -> row/column in _gains
        self._pids: list[Pid] = []
        self._gains = np.zeros((0, 0), dtype=np.float32)  # [listener, source]
        self._muted: set[Pid] = set()
        self._deaf: set[Pid] = set()
        self._plan: _Plan | None = None
        if matrix is not None:
            self.set_matrix(matrix)

    # -- membership and links --

    @property
    def participants(self) -> tuple[Pid, ...]:
        return tuple(self._pids)

    def __contains__(self, pid: object) -> bool:
        return pid in self._index

    def __len__(self) -> int:
        return len(self._pids)

    def add(self, pid: Pid) -> None:
        """Add a participant, linked to nobody yet. Adding a present one does nothing."""
        if pid in self._index:
            return
        self._index[pid] = len(self._pids)
        self._pids.append(pid)
        n = len(self._pids)
        gains = np.zeros((n, n), dtype=np.float32)
        gains[: n - 1, : n - 1] = self._gains
        self._gains = gains
        self._plan = None

    def remove(self, pid: Pid) -> None:
        """Remove a participant and every link to or from it."""
        i = self._require(pid)
        del self._pids[i]
        self._index = {p: k for k, p in enumerate(self._pids)}
        self._gains = np.delete(np.delete(self._gains, i, axis=0), i, axis=1)
        self._muted.discard(pid)
        self._deaf.discard(pid)
        self._plan = None

    def set_link(self, source: Pid, listener: Pid, gain: float = 1.0) -> None:
        """`listener` hears `source` at linear `gain` (1.0 = as is)."""
        if source == listener:
            raise MixerError(f"{source!r} cannot hear itself (mix-minus)")
        gain = _check_gain(gain)
        self._gains[self._require(listener), self._require(source)] = gain
        self._plan = None

    def clear_link(self, source: Pid, listener: Pid) -> None:
        self._gains[self._require(listener), self._require(source)] = 0.0
        self._plan = None

    def gain(self, source: Pid, listener: Pid) -> float:
        """The link's gain; 0.0 when `listener` does not hear `source`."""
        return float(self._gains[self._require(listener), self._require(source)])

    def links(self) -> Matrix:
        rows, cols = np.nonzero(self._gains)
        return {
            (self._pids[c], self._pids[r]): float(self._gains[r, c])
            for r, c in zip(rows.tolist(), cols.tolist(), strict=True)
        }

    def set_matrix(self, matrix: Mapping[Link, float]) -> None:
        """Replace all links by `matrix`, adding the participants it names.

        Participants it does not name stay, unlinked. Checked in full before anything changes.
        """
        checked = []
        for (source, listener), gain in matrix.items():
            if source == listener:
                raise MixerError(f"{source!r} cannot hear itself (mix-minus)")
            checked.append((source, listener, _check_gain(gain)))
        for source, listener, _ in checked:
            self.add(source)
            self.add(listener)
        self._gains[:] = 0.0
        for source, listener, gain in checked:
            self._gains[self._index[listener], self._index[source]] = gain
        self._plan = None

    # -- mute (talk off) and deaf (listen off); links are kept --

    def set_muted(self, pid: Pid, muted: bool = True) -> None:
        self._require(pid)
        (self._muted.add if muted else self._muted.discard)(pid)
        self._plan = None

    def set_deaf(self, pid: Pid, deaf: bool = True) -> None:
        self._require(pid)
        (self._deaf.add if deaf else self._deaf.discard)(pid)
        self._plan = None

    def is_muted(self, pid: Pid) -> bool:
        self._require(pid)
        return pid in self._muted

    def is_deaf(self, pid: Pid) -> bool:
        self._require(pid)
        return pid in self._deaf

    # -- the mix --

    def mix(self, frames: Mapping[Pid, Frame | None]) -> dict[Pid, Frame]:
        """What each participant hears this tick, given what each one said.

        A participant missing from `frames` or mapped to None said nothing. Frames of
        unknown ids are ignored (an endpoint removed between ticks). Every participant gets
        an output frame, silence when it hears nobody active.
        """
        plan = self._plan
        if plan is None:
            plan = self._plan = _Plan.build(self)
        said: list[Frame | None] = [None] * len(self._pids)
        for pid, frame in frames.items():
            if frame is None:
                continue
            i = self._index.get(pid)
            if i is None or i in plan.silenced:
                continue
            # dtype identity first: comparing a dtype with np.int16 costs more than the mix
            if frame.shape != _FRAME_SHAPE or (frame.dtype is not _INT16 and frame.dtype != _INT16):
                raise MixerError(
                    f"frame from {pid!r} is {frame.dtype}{frame.shape}, "
                    f"expected int16({FRAME_SAMPLES},)"
                )
            said[i] = frame

        out: dict[Pid, Frame] = {}
        minus_own: list[int] = []  # listeners served by total - own
        general: list[int] = []  # listeners left for the matrix product
        for listener, sources in plan.routes:
            active = [s for s in sources if said[s] is not None]
            if not active:
                out[self._pids[listener]] = _SILENT
            elif len(active) == 1 and plan.unity[listener]:
                out[self._pids[listener]] = said[active[0]]  # type: ignore[assignment]
            elif plan.hears_all_others[listener]:
                minus_own.append(listener)
            else:
                general.append(listener)
        if not (minus_own or general):
            for listener in plan.deaf_rows:
                out[self._pids[listener]] = _SILENT
            return out

        cols = [i for i, f in enumerate(said) if f is not None]
        stack = np.stack([said[i] for i in cols]).astype(np.int32)  # type: ignore[misc]
        if minus_own:
            column = {source: k for k, source in enumerate(cols)}
            mixed = np.repeat(stack.sum(axis=0)[None, :], len(minus_own), axis=0)
            talking = [row for row, listener in enumerate(minus_own) if listener in column]
            mixed[talking] -= stack[[column[minus_own[row]] for row in talking]]
            mixed = saturate(mixed)
            for row, listener in enumerate(minus_own):
                out[self._pids[listener]] = mixed[row]
        if general:
            weights = self._gains[np.ix_(general, cols)]
            if plan.integral:
                mixed = weights.astype(np.int32) @ stack
            else:
                mixed = np.rint(weights @ stack.astype(np.float32))
            mixed = saturate(mixed)
            for row, listener in enumerate(general):
                out[self._pids[listener]] = mixed[row]
        for listener in plan.deaf_rows:
            out[self._pids[listener]] = _SILENT
        return out

    def _require(self, pid: Pid) -> int:
        try:
            return self._index[pid]
        except KeyError:
            raise MixerError(f"{pid!r} is not in this mixer") from None


class _Plan:
    """Per-listener routes, derived from links, mute and deaf; rebuilt only when they change."""

    __slots__ = ("routes", "unity", "hears_all_others", "silenced", "deaf_rows", "integral")

    def __init__(self) -> None:
        self.routes: list[tuple[int, tuple[int, ...]]] = []
        self.unity: dict[int, bool] = {}
        self.hears_all_others: dict[int, bool] = {}
        self.silenced: frozenset[int] = frozenset()
        self.deaf_rows: list[int] = []
        self.integral = True

    @classmethod
    def build(cls, mixer: Mixer) -> _Plan:
        plan = cls()
        n = len(mixer._pids)
        plan.silenced = frozenset(mixer._index[p] for p in mixer._muted)
        gains = mixer._gains.copy()
        if plan.silenced:
            gains[:, sorted(plan.silenced)] = 0.0
        talkers = [i for i in range(n) if i not in plan.silenced]
        for listener in range(n):
            if mixer._pids[listener] in mixer._deaf:
                plan.deaf_rows.append(listener)
                continue
            row = gains[listener]
            sources = tuple(int(s) for s in np.nonzero(row)[0])
            plan.routes.append((listener, sources))
            plan.unity[listener] = bool(np.all(row[list(sources)] == 1.0))
            plan.hears_all_others[listener] = plan.unity[listener] and sources == tuple(
                t for t in talkers if t != listener
            )
        plan.integral = bool(np.all(gains == np.rint(gains)))
        return plan
