"""Run sipp (Debian package sip-tester) and read its per-second statistics.

A client run is closed-loop: sipp keeps at most `concurrency` calls open (`-l`) and starts
a new one as soon as one ends (`-r` far above what any target can do), for a fixed time
(`-timeout`). The rate is then what the target sustains with that many calls in flight,
measured from sipp's statistics file (`-trace_stat -fd 1`) after a warm-up second or two.
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import signal
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.procs import LOOPBACK, Daemon, ProcessError, free_port

SCENARIOS = Path(__file__).resolve().parent / "scenarios"

# Far above any target: the call limit (-l), not the rate, bounds the load.
UNBOUNDED_RATE = 100_000
# A call waiting longer than this for an answer fails (and is counted) inside the run,
# instead of hanging until sipp exits. Covers the first four UDP retransmissions.
RECV_TIMEOUT_MS = 4000
# sipp's default UDP socket buffer is 64 KiB: with a hundred answers in flight it overflows
# and the losses show up as retransmissions. The kernel caps it at net.core.rmem_max.
SOCKET_BUFFER = 1 << 20
# sipp's fatal exit codes (man sipp): -1 fatal error, -2 cannot bind a socket.
_FATAL_EXIT_CODES = {255, 254, -1, -2}


class SippError(RuntimeError):
    """sipp could not run the scenario at all (bad scenario, port in use, not installed)."""


@dataclass(frozen=True)
class SippStats:
    """Counts over the measured window of one sipp client run."""

    successful: int
    failed: int
    retransmissions: int
    seconds: float
    mean_response_ms: float | None
    sipp_cpu_seconds: float
    per_second: tuple[float, ...] = ()  # rate in each ~1 s sample of the window
    total_successful: int = 0  # over the whole run, warm-up included

    def __post_init__(self) -> None:
        if self.seconds <= 0:
            raise ValueError(f"measured window must be positive, got {self.seconds}")

    @property
    def rate(self) -> float:
        return self.successful / self.seconds

    def spread(self) -> tuple[float, float, float] | None:
        """Lowest, median and highest per-second rate of the window."""
        if not self.per_second:
            return None
        ordered = sorted(self.per_second)
        return ordered[0], statistics.median(ordered), ordered[-1]

    @property
    def attempted(self) -> int:
        return self.successful + self.failed

    @property
    def failure_ratio(self) -> float:
        return self.failed / self.attempted if self.attempted else 1.0

    @property
    def retransmission_ratio(self) -> float:
        return self.retransmissions / self.attempted if self.attempted else 0.0


def sipp_binary() -> str:
    path = shutil.which("sipp")
    if path is None:
        raise SippError("sipp not found: install the Debian package sip-tester (make deps-bench)")
    return path


def sipp_version() -> str:
    out = subprocess.run(
        [sipp_binary(), "-v"], capture_output=True, text=True, timeout=10, check=False
    ).stdout
    for line in out.splitlines():
        if "SIPp v" in line:
            return line.strip().split()[1].split("-")[0]
    return "unknown"


def _epoch(cell: str) -> float:
    # sipp writes times as "date<TAB>time<TAB>epoch".
    return float(cell.split("\t")[-1])


def _duration_ms(cell: str) -> float:
    # "HH:MM:SS:uuuuuu"
    hours, minutes, seconds, micros = (int(part) for part in cell.split(":"))
    return ((hours * 60 + minutes) * 60 + seconds) * 1000.0 + micros / 1000.0


def read_window(stat_file: Path, *, warmup: float, sipp_cpu_seconds: float) -> SippStats:
    """Counts between the first sample after `warmup` seconds and the last sample."""
    try:
        with open(stat_file, newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter=";"))
    except OSError as exc:
        raise SippError(f"sipp wrote no statistics: {exc}") from exc
    if len(rows) < 2:
        raise SippError(f"sipp wrote fewer than two samples to {stat_file}")
    start = _epoch(rows[0]["StartTime"])
    inside = [row for row in rows if _epoch(row["CurrentTime"]) - start >= warmup]
    first = rows[0] if len(inside) < 2 else inside[0]
    last = rows[-1]
    window = [row for row in rows if _epoch(row["CurrentTime"]) > _epoch(first["CurrentTime"])]

    def delta(column: str) -> int:
        return int(last[column]) - int(first[column])

    weighted = [
        (_duration_ms(row["ResponseTime1(P)"]), int(row["SuccessfulCall(P)"]))
        for row in window
        if "ResponseTime1(P)" in row and int(row["SuccessfulCall(P)"]) > 0
    ]
    samples = []
    for previous, row in zip([first, *window], window, strict=False):
        interval = _epoch(row["CurrentTime"]) - _epoch(previous["CurrentTime"])
        if interval >= 0.5:  # the dump at exit may cover a sliver of a second
            samples.append(int(row["SuccessfulCall(P)"]) / interval)
    calls = sum(n for _, n in weighted)
    mean_ms = sum(ms * n for ms, n in weighted) / calls if calls else None
    seconds = _epoch(last["CurrentTime"]) - _epoch(first["CurrentTime"])
    return SippStats(
        successful=delta("SuccessfulCall(C)"),
        failed=delta("FailedCall(C)"),
        retransmissions=delta("Retransmissions(C)"),
        seconds=max(seconds, 1e-3),
        mean_response_ms=mean_ms,
        sipp_cpu_seconds=sipp_cpu_seconds,
        per_second=tuple(samples),
        total_successful=int(last["SuccessfulCall(C)"]),
    )


@dataclass(frozen=True)
class SippClient:
    """How to drive one target with one client scenario."""

    scenario: str  # file name in benchmarks/scenarios
    target_port: int
    injection_file: Path
    workdir: Path
    hold_ms: int = 0  # the scenario's <pause/> (-d)
    local_port: int | None = None  # None: any free port

    def run(self, *, concurrency: int, seconds: int, warmup: float) -> SippStats:
        """Closed loop with `concurrency` calls for `seconds`; stats after `warmup`."""
        tag = f"{Path(self.scenario).stem}-l{concurrency}-{time.monotonic_ns()}"
        stat_file = self.workdir / f"{tag}.csv"
        argv = [
            *self._base_argv(tag),
            "-r", str(UNBOUNDED_RATE), "-rp", "1000",
            "-l", str(concurrency),
            "-timeout", f"{seconds}s",
            "-trace_stat", "-stf", str(stat_file), "-fd", "1",
        ]  # fmt: skip
        cpu = _run_to_end(argv, self.workdir / f"{tag}.out", limit=seconds + 20)
        return read_window(stat_file, warmup=warmup, sipp_cpu_seconds=cpu)

    def run_calls(self, calls: int, *, rate: int = 200) -> tuple[int, int]:
        """Exactly `calls` calls (used to REGISTER contacts); returns (successful, failed)."""
        tag = f"{Path(self.scenario).stem}-m{calls}-{time.monotonic_ns()}"
        stat_file = self.workdir / f"{tag}.csv"
        argv = [
            *self._base_argv(tag),
            "-r", str(rate), "-m", str(calls),
            "-trace_stat", "-stf", str(stat_file), "-fd", "1",
        ]  # fmt: skip
        _run_to_end(argv, self.workdir / f"{tag}.out", limit=30 + calls / rate)
        try:
            with open(stat_file, newline="") as handle:
                rows = list(csv.DictReader(handle, delimiter=";"))
        except OSError as exc:
            raise SippError(f"sipp wrote no statistics: {exc}") from exc
        if not rows:
            raise SippError(f"sipp wrote no statistics to {stat_file}")
        return int(rows[-1]["SuccessfulCall(C)"]), int(rows[-1]["FailedCall(C)"])

    def _base_argv(self, tag: str) -> list[str]:
        return [
            sipp_binary(),
            "-sf", str(SCENARIOS / self.scenario),
            "-inf", str(self.injection_file),
            "-i", LOOPBACK,
            "-p", str(self.local_port or free_port()),
            "-mp", str(free_port()),
            "-cp", str(free_port()),
            "-d", str(self.hold_ms),
            "-recv_timeout", str(RECV_TIMEOUT_MS),
            "-buff_size", str(SOCKET_BUFFER),
            "-nostdin",
            "-trace_err", "-error_file", str(self.workdir / f"{tag}-errors.log"),
            "-ringbuffer_files", "1", "-ringbuffer_size", "2000000",
            f"{LOOPBACK}:{self.target_port}",
        ]  # fmt: skip


def _run_to_end(argv: list[str], out_path: Path, *, limit: float) -> float:
    """Run sipp in the foreground; return its CPU seconds. SippError on a fatal exit."""
    with open(out_path, "wb") as out:
        try:
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
        except OSError as exc:
            raise SippError(f"cannot run sipp: {exc}") from exc
        deadline = time.monotonic() + limit
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() > deadline:
                proc.send_signal(signal.SIGUSR1)  # soft stop, then hard
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(5)
                proc.kill()
                proc.wait()
                raise SippError(f"sipp did not finish within {limit:.0f} s: {' '.join(argv)}")
            time.sleep(0.05)
    if proc.returncode in _FATAL_EXIT_CODES:
        tail = out_path.read_bytes().decode(errors="replace").strip().splitlines()[-15:]
        errors = _error_log_tail(argv)
        hint = (
            "\n    hint: sipp 3.6 answers only the first challenge and only with MD5"
            if "must use MD5" in errors
            else ""
        )
        raise SippError(
            f"sipp failed (exit {proc.returncode}): {' '.join(argv)}\n    "
            + "\n    ".join(tail)
            + (f"\n    sipp error log:\n    {errors}" if errors else "")
            + hint
        )
    return usage.ru_utime + usage.ru_stime


def _error_log_tail(argv: list[str], lines: int = 5) -> str:
    try:
        path = Path(argv[argv.index("-error_file") + 1])
        text = path.read_bytes().decode(errors="replace")
    except (ValueError, IndexError, OSError):
        return ""
    return "\n    ".join(line[:300] for line in text.strip().splitlines()[-lines:])


def start_uas(scenario: str, *, port: int, workdir: Path) -> Daemon:
    """A sipp UAS answering calls on 127.0.0.1:`port` until stopped."""
    tag = Path(scenario).stem
    argv = [
        sipp_binary(),
        "-sf", str(SCENARIOS / scenario),
        "-i", LOOPBACK,
        "-p", str(port),
        "-mp", str(free_port()),
        "-cp", str(free_port()),
        "-aa",  # answer stray OPTIONS/NOTIFY/INFO/UPDATE with 200
        "-recv_timeout", "10000",
        "-buff_size", str(SOCKET_BUFFER),
        "-nostdin",
        "-trace_err", "-error_file", str(workdir / f"{tag}-uas-errors.log"),
        "-ringbuffer_files", "1", "-ringbuffer_size", "2000000",
    ]  # fmt: skip
    uas = Daemon("sipp UAS", argv, log_path=workdir / f"{tag}-uas.out")
    uas.start()
    # Give sipp time to bind; it exits at once (with a message) if it cannot.
    time.sleep(0.5)
    if uas.exit_code() is not None:
        raise ProcessError(f"sipp UAS exited with status {uas.exit_code()}:\n{uas.log_tail()}")
    return uas
