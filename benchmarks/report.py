"""Results of one benchmark for pbxd and its peer, and the RESULT line that sums them up.

Each benchmark ends in two lines of the form

    RESULT <name> <value> <unit> peer=<peer value> ratio=<ours/peer>

first the rate (the headline), then the same work per CPU-second of the target, which
other load on a shared machine disturbs far less. `n/a` marks a figure that could not be
measured (target failed to start, for example).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from benchmarks.capacity import Capacity


@dataclass(frozen=True)
class TargetResult:
    """What one target (pbxd or a peer) did in one benchmark."""

    label: str
    capacity: Capacity | None = None
    error: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if (self.capacity is None) == (self.error is None):
            raise ValueError("a target result has either a capacity or an error")

    @property
    def rate(self) -> float | None:
        return None if self.capacity is None else self.capacity.final.rate

    @property
    def per_cpu_second(self) -> float | None:
        return None if self.capacity is None else self.capacity.per_cpu_second

    @property
    def valid(self) -> bool:
        return self.capacity is not None and self.capacity.valid


@dataclass(frozen=True)
class Comparison:
    name: str  # e.g. register_rate; the CPU line is <prefix>_per_cpu_second
    unit: str  # e.g. reg/s; the CPU line uses reg/cpu-s
    ours: TargetResult | None  # None: not run (--no-pbxd)
    peer: TargetResult | None  # None: not run (--no-peer)

    @property
    def ok(self) -> bool:
        """Every target that was run gave a valid figure."""
        return all(t.valid for t in (self.ours, self.peer) if t is not None)

    def result_lines(self) -> list[str]:
        cpu_name = self.name.removesuffix("_rate") + "_per_cpu_second"
        cpu_unit = self.unit.removesuffix("/s") + "/cpu-s"
        return [
            _line(
                self.name,
                self.unit,
                self.ours.rate if self.ours else None,
                self.peer.rate if self.peer else None,
            ),
            _line(
                cpu_name,
                cpu_unit,
                self.ours.per_cpu_second if self.ours else None,
                self.peer.per_cpu_second if self.peer else None,
            ),
        ]


def _line(name: str, unit: str, ours: float | None, peer: float | None) -> str:
    ratio = ours / peer if ours is not None and peer else None
    return (
        f"RESULT {name} {format_rate(ours)} {unit} "
        f"peer={format_rate(peer)} ratio={format_ratio(ratio)}"
    )


def format_rate(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def format_ratio(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    return f"{value:.2f}" if value >= 0.1 else f"{value:.3f}"


def log_target(result: TargetResult, server: str, what: str, log: Callable[[str], None]) -> None:
    """Details under the probe lines: CPU use, or the error that stopped the target."""
    if result.capacity is None:
        log(f"    ERROR: {result.error}")
        return
    cap = result.capacity
    efficiency = cap.per_cpu_second
    per_cpu = f", {efficiency:.0f} {what} per {server} CPU-second" if efficiency else ""
    log(
        f"    {server} CPU {cap.server_cpu_percent:.0f} % of one core{per_cpu}; sipp UAC CPU "
        f"{cap.sipp_cpu_percent:.0f} %; {cap.concurrency} {what} in flight"
    )
    if cap.other_cpu_percent > 20:
        log(
            f"    WARNING: other processes used {cap.other_cpu_percent:.0f} % of one core during "
            "the run: the machine was not idle, the rate is disturbed (CPU-second figure less so)"
        )
    for note in result.notes:
        log(f"    note: {note}")
    if not cap.valid:
        log("    WARNING: 1 % or more failed or retransmitted: this figure is not valid")
