"""How busy the media thread is, and whether it can take another call (pure).

pbxd's SIP, RTP and mixing share one event-loop thread. Once that thread is busy nearly all
the time, every further call makes every call's audio late. So the engine samples the thread's
CPU time against the wall clock about once a second, and new calls are refused (503) while
the smoothed load is above `high`, until it falls below `low` (hysteresis: no flapping at the
edge). Calls already up are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass

HIGH_LOAD = 0.85  # of one core: new calls are refused above this
LOW_LOAD = 0.75  # ... and admitted again below this
SMOOTHING = 0.5  # weight of the newest one-second sample


@dataclass
class LoadGauge:
    high: float = HIGH_LOAD
    low: float = LOW_LOAD
    load: float = 0.0  # smoothed share of one core the media thread used
    overloaded: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.low <= self.high:
            raise ValueError(f"need 0 < low ({self.low}) <= high ({self.high})")

    def update(self, cpu_seconds: float, wall_seconds: float) -> None:
        """One sample: the thread's CPU time over `wall_seconds` of wall-clock time."""
        if wall_seconds <= 0:
            return
        sample = min(max(cpu_seconds / wall_seconds, 0.0), 1.0)
        self.load += SMOOTHING * (sample - self.load)
        if self.overloaded:
            self.overloaded = self.load >= self.low
        else:
            self.overloaded = self.load > self.high
