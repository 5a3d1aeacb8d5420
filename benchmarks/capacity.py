"""Find the highest rate a target sustains, then measure it over a longer run.

Method (closed loop, the same for every target):
1. Probe runs of PROBE_SECONDS with 8, 16, 32 ... calls in flight, while the completed rate
   still grows by more than 5 % and the probe stays healthy: < 1 % failed calls and
   < 0.1 % retransmitted requests, i.e. answers come back well inside SIP timer T1
   (500 ms) and nothing is lost in socket buffers.
2. One measured run of `seconds` at the best concurrency; the first 2 s are warm-up.
The figure is completed calls (or registrations) per second in that measured run; it is
valid if < 1 % of the calls failed and < 1 % of them needed a retransmission.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.sipp import SippClient, SippStats

PROBE_SECONDS = 3
MAX_FAILURE_RATIO = 0.01
MAX_RETRANSMISSION_RATIO = 0.01
# Probes choose with a margin so that the longer run stays under the limits above.
PROBE_MAX_RETRANSMISSION_RATIO = 0.001
MIN_GAIN = 1.05
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def healthy(
    stats: SippStats, *, max_retransmission_ratio: float = MAX_RETRANSMISSION_RATIO
) -> bool:
    return (
        stats.attempted > 0
        and stats.failure_ratio < MAX_FAILURE_RATIO
        and stats.retransmission_ratio < max_retransmission_ratio
    )


def _probe_healthy(stats: SippStats) -> bool:
    return healthy(stats, max_retransmission_ratio=PROBE_MAX_RETRANSMISSION_RATIO)


@dataclass(frozen=True)
class Probe:
    concurrency: int
    stats: SippStats


@dataclass(frozen=True)
class Capacity:
    concurrency: int
    probes: tuple[Probe, ...]
    final: SippStats
    wall_seconds: float
    server_cpu_seconds: float
    other_cpu_seconds: float  # everything else on the machine during the measured run

    @property
    def other_cpu_percent(self) -> float:
        return 100.0 * self.other_cpu_seconds / self.wall_seconds

    @property
    def valid(self) -> bool:
        return healthy(self.final)

    @property
    def server_cpu_percent(self) -> float:
        """CPU of the target during the measured run, in % of one core."""
        return 100.0 * self.server_cpu_seconds / self.wall_seconds

    @property
    def per_cpu_second(self) -> float | None:
        """Completed calls per CPU-second of the target: its efficiency, which other load
        on the machine disturbs far less than the rate."""
        if self.server_cpu_seconds <= 0:
            return None
        return self.final.total_successful / self.server_cpu_seconds

    @property
    def sipp_cpu_percent(self) -> float:
        return 100.0 * self.final.sipp_cpu_seconds / self.wall_seconds


def describe(stats: SippStats) -> str:
    response = (
        f", mean response {stats.mean_response_ms:.1f} ms"
        if stats.mean_response_ms is not None
        else ""
    )
    spread = stats.spread()
    per_second = (
        f", per second min/median/max {spread[0]:.0f}/{spread[1]:.0f}/{spread[2]:.0f}"
        if spread is not None and len(stats.per_second) >= 5
        else ""
    )
    return (
        f"{stats.rate:9.1f}/s  ok {stats.successful}, failed {stats.failed} "
        f"({100 * stats.failure_ratio:.2f} %), retransmissions {stats.retransmissions}"
        f"{response}, over {stats.seconds:.1f} s{per_second}"
    )


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat, proc(5))."""
    with open("/proc/stat") as handle:
        fields = [int(v) for v in handle.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal [guest guest_nice, already in user]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


def measure_capacity(
    client: SippClient,
    *,
    seconds: int,
    server_cpu: Callable[[], float],
    log: Callable[[str], None],
    helper_cpu: Callable[[], float] = lambda: 0.0,
    start: int = 8,
    ceiling: int = 512,
) -> Capacity:
    probes: list[Probe] = []
    best: Probe | None = None
    concurrency = start
    while concurrency <= ceiling:
        probe = Probe(
            concurrency, client.run(concurrency=concurrency, seconds=PROBE_SECONDS, warmup=1.0)
        )
        probes.append(probe)
        log(f"    probe {concurrency:4d} in flight: {describe(probe.stats)}")
        if not _probe_healthy(probe.stats):
            break
        if best is not None and probe.stats.rate < best.stats.rate * MIN_GAIN:
            break  # no real gain: keep the lower concurrency (shorter queues)
        best = probe
        concurrency *= 2
    if best is None:
        # Even the first probe overloaded the target: back off towards one call at a time.
        concurrency = start // 2
        while concurrency >= 1:
            probe = Probe(
                concurrency, client.run(concurrency=concurrency, seconds=PROBE_SECONDS, warmup=1.0)
            )
            probes.append(probe)
            log(f"    probe {concurrency:4d} in flight: {describe(probe.stats)}")
            if _probe_healthy(probe.stats) or concurrency == 1:
                best = probe
                break
            concurrency //= 2
    assert best is not None
    cpu_before, helper_before, machine_before = server_cpu(), helper_cpu(), machine_busy_seconds()
    began = time.monotonic()
    final = client.run(concurrency=best.concurrency, seconds=seconds, warmup=2.0)
    wall = time.monotonic() - began
    cpu_used = server_cpu() - cpu_before
    others = (
        machine_busy_seconds()
        - machine_before
        - cpu_used
        - (helper_cpu() - helper_before)
        - final.sipp_cpu_seconds
    )
    log(f"    run   {best.concurrency:4d} in flight: {describe(final)}")
    return Capacity(best.concurrency, tuple(probes), final, wall, cpu_used, max(others, 0.0))
