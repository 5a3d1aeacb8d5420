"""Options shared by the benchmarks (from the command line)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    workdir: Path
    duration: int  # seconds of the measured run per target (probes come on top)
    users: int  # accounts for the REGISTER benchmark
    call_parties: int  # callers and as many callees for the call benchmark
    hold_ms: int  # pause between ACK and BYE
    kamailio_children: int
    pbxd_command: tuple[str, ...] | None
    pbxd_digest_algorithms: str | None
    run_peer: bool
    run_pbxd: bool
    log: Callable[[str], None]

    def __post_init__(self) -> None:
        if self.duration < 5:
            raise ValueError("--duration must be at least 5 s (2 s of it are warm-up)")
        if self.users < 1 or self.call_parties < 1:
            raise ValueError("--users and --call-parties must be positive")
