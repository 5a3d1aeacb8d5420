"""Benchmark 3: concurrent bridged G.711 calls carried with < 1 % lost or late packets.

Rows (each a capacity in calls, and the target's CPU per call):
- plain: caller and callee both PCMU, the media engine's no-decode fast path;
- transcoding: the caller offers PCMU only, the callee answers PCMA: decode, 20 ms tick,
  encode on both legs;
- recording: PCMU both sides, the call recorded (two-channel 16-bit WAV by default).

Targets: pbxd itself over SIP for plain and transcoding (benchmarks/sip_ua.py sets the calls
up: REGISTER, INVITE with digest auth); for recording, which pbxd cannot switch on through
SIP or its API yet, the media-engine harness (media_harness.py: pbxd's MediaEngine and
MediaFactory in a process of their own, same SDP path, same loop). Peer: rtpengine from
Debian, userspace only, driven over its ng protocol (rtpengine.py); it records with its pcap
method (raw RTP to pcap files, no decoding).

Load: rtp_load.py, in its own process, sends 20 ms packets both ways on every call (one
socket per leg) and decodes what comes back (see there for how lost and late are counted).

Method, the same for every target and row: N calls up, then a run of `warmup` + `seconds`
(figures from the measured part only), for N = 50, 100, 200, 400, 800 (up to --media-max-
calls) while the step passes: lost + late < 1 % of the packets sent in the measured part,
over all legs, and no packet delivered to the wrong call. After the first failure, up to two
steps halving the interval between the last pass and the failure (multiples of 25). Calls
stay up from one step to the next (new ones are added, surplus ones hung up). CPU is the
target's process group's, over the measured part, in % of one core. A step whose failure
comes with the generator sending late (p99 > 5 ms), or with the two cores busy, gives a lower
bound, and the output says so.
"""

from __future__ import annotations

import json
import math
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.accounts import make_accounts
from benchmarks.capacity import machine_busy_seconds
from benchmarks.pbxd import Pbxd, pbxd_version
from benchmarks.procs import (
    LOOPBACK,
    Daemon,
    ProcessError,
    free_port,
    free_port_range,
    group_cpu_seconds,
)
from benchmarks.rtpengine import NgError, Rtpengine, rtpengine_codecs, rtpengine_version
from benchmarks.settings import Settings
from benchmarks.sip_ua import Call, SipUa, SipUaError, sdp_body, sdp_media

ROWS = ("plain", "transcoding", "recording")
LADDER = (50, 100, 200, 400, 800, 1600)
MAX_LOSS_RATIO = 0.01
GENERATOR_LAG_LIMIT_MS = 5.0  # p99 send lateness beyond this: the generator is the limit
GENERATOR_CPU_LIMIT = 90.0
MAX_REFINEMENTS = 2
OTHER_CPU_WARNING = 20.0  # % of one core used by other processes: the figures are disturbed
PARTIES = 20  # caller and callee extensions; calls spread over them
REPO = Path(__file__).resolve().parents[1]
PCMU, PCMA = 0, 8


@dataclass(frozen=True)
class MediaOptions:
    seconds: float = 4.0  # measured part of each step
    warmup: float = 1.0
    drain: float = 0.4
    max_calls: int = 800
    late_ms: float = 60.0
    record_format: str = "wav-pcm16"
    record_channels: int = 2

    def __post_init__(self) -> None:
        if self.seconds < 1 or self.warmup < 0.5:
            raise ValueError("--media-seconds must be >= 1 (warm-up 0.5 s at least)")
        if not 10 <= self.max_calls <= 2000:
            raise ValueError("--media-max-calls must lie within 10..2000")


@dataclass(frozen=True)
class Leg:
    port: int  # the generator's
    remote: tuple[str, int]  # the target's
    pt: int


@dataclass(frozen=True)
class CallLegs:
    caller: Leg
    callee: Leg


def generator_ports(base: int, index: int) -> tuple[int, int]:
    """The generator's caller and callee ports of call `index` (even ports only: the odd
    ones above stay free, where targets send RTCP)."""
    return base + 4 * index, base + 4 * index + 2


# -- targets ----------------------------------------------------------------------------------


class Target:
    """What a ramp needs from pbxd, the harness or rtpengine."""

    label = ""
    server = ""  # short name in the step lines
    threads = 1  # 1: one core is the ceiling
    row = "plain"

    def start(self) -> None:
        raise NotImplementedError

    def begin_row(self, row: str) -> None:
        self.row = row

    def set_calls(self, count: int) -> list[CallLegs]:
        """Exactly `count` calls up (adding or hanging up); their legs."""
        raise NotImplementedError

    def end_row(self) -> None:
        self.set_calls(0)

    def cpu_seconds(self) -> float:
        raise NotImplementedError

    def counters(self) -> dict[str, float]:
        return {}

    def unsupported(self, row: str) -> str | None:
        """Why this target cannot run `row` (its figure is then n/a, not an error)."""
        return None

    def row_note(self, row: str) -> str | None:
        """What this target does in `row`, when it is not obvious."""
        return None

    def stop(self) -> None:
        raise NotImplementedError


class PbxdTarget(Target):
    server = "pbxd"

    def __init__(self, settings: Settings, workdir: Path, gen_base: int, rtp_ports):
        self.label = f"pbxd {pbxd_version()} over SIP"
        self.gen_base = gen_base
        self.pbxd = Pbxd(
            workdir,
            sip_port=free_port(tcp=True),
            http_port=free_port(tcp=True),
            rtp_ports=rtp_ports,
            command=settings.pbxd_command,
            digest_algorithms=settings.pbxd_digest_algorithms,
        )
        self.callees = make_accounts(PARTIES, first=200000)
        self.callers = make_accounts(PARTIES, first=200000 + PARTIES)
        self.ua: SipUa | None = None
        self.calls: list[Call] = []

    def start(self) -> None:
        self.pbxd.start()
        self.pbxd.create_extensions([*self.callees, *self.callers])
        self.ua = SipUa(self.pbxd.sip_port)
        self.ua.register(self.callees)

    def set_calls(self, count: int) -> list[CallLegs]:
        assert self.ua is not None
        if count < len(self.calls):
            self.ua.hang_up(self.calls[count:])
            del self.calls[count:]
        elif count > len(self.calls):
            callee_pt = PCMA if self.row == "transcoding" else PCMU
            new = []
            for i in range(len(self.calls), count):
                caller_port, callee_port = generator_ports(self.gen_base, i)
                new.append(
                    Call(
                        i,
                        self.callers[i % PARTIES],
                        self.callees[i % PARTIES],
                        caller_port,
                        callee_port,
                        callee_pt,
                    )
                )
            self.calls += new
            self.ua.setup(new, in_flight=PARTIES)
        return [
            CallLegs(
                Leg(c.caller_port, c.caller_remote, c.caller_pt),  # type: ignore[arg-type]
                Leg(c.callee_port, c.callee_remote, c.callee_pt),  # type: ignore[arg-type]
            )
            for c in self.calls
        ]

    def end_row(self) -> None:
        if self.ua is not None and self.calls:
            self.ua.hang_up(self.calls)
        self.calls = []

    def cpu_seconds(self) -> float:
        return self.pbxd.cpu_seconds()

    def row_note(self, row: str) -> str | None:
        if row == "transcoding":
            return "the caller offers PCMU only, the callee answers PCMA"
        return None

    def counters(self) -> dict[str, float]:
        try:
            status, body = self.pbxd._request("GET", "/api/v1/system/status", timeout=5)
        except OSError:
            return {}
        media = body.get("media", {}) if status == 200 else {}
        return {
            "late_ticks": media.get("late_ticks", 0),
            "calls": media.get("calls", 0),
            "rtp_in": media.get("rtp_packets_received", 0),
        }

    def stop(self) -> None:
        if self.ua is not None:
            self.ua.close()
        self.pbxd.stop()


class HarnessTarget(Target):
    """pbxd's media engine in media_harness.py, for the recording row."""

    server = "harness"

    def __init__(self, workdir: Path, gen_base: int, rtp_ports, options: MediaOptions):
        self.label = (
            f"pbxd {pbxd_version()} media engine in the harness, recording "
            f"{options.record_format} x{options.record_channels}"
        )
        self.gen_base = gen_base
        self.port = free_port(tcp=True)
        self.record_dir = workdir / "harness-recordings"
        argv = [
            sys.executable, "-m", "benchmarks.media_harness",
            "--control-port", str(self.port),
            "--rtp-ports", f"{rtp_ports[0]}-{rtp_ports[1]}",
            "--record-dir", str(self.record_dir),
            "--format", options.record_format,
            "--channels", str(options.record_channels),
        ]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        workdir.mkdir(parents=True, exist_ok=True)
        self.daemon = Daemon(
            "media harness", argv, log_path=workdir / "harness.log", env=env, cwd=REPO
        )
        self.sock: socket.socket | None = None
        self.ids: list[int] = []
        self.legs: list[CallLegs] = []

    def start(self) -> None:
        self.daemon.start()
        self.daemon.wait_ready(self._connect, timeout=30, what="listening")

    def _connect(self) -> bool:
        try:
            self.sock = socket.create_connection((LOOPBACK, self.port), timeout=60)
        except OSError:
            return False
        self.reader = self.sock.makefile("rb")
        return True

    def _request(self, request: dict) -> dict:
        assert self.sock is not None
        self.sock.sendall(json.dumps(request).encode() + b"\n")
        line = self.reader.readline()
        if not line:
            raise ProcessError(
                f"the media harness closed the connection:\n{self.daemon.log_tail()}"
            )
        reply = json.loads(line)
        if "error" in reply:
            raise ProcessError(f"media harness: {reply['error']}")
        return reply

    def set_calls(self, count: int) -> list[CallLegs]:
        if count < len(self.ids):
            self._request({"op": "drop", "ids": self.ids[count:]})
            del self.ids[count:], self.legs[count:]
        specs = []
        for i in range(len(self.ids), count):
            caller_port, callee_port = generator_ports(self.gen_base, i)
            specs.append(
                {
                    "caller_sdp": sdp_body(caller_port, [PCMU], 1000 + i).decode(),
                    "callee_sdp": sdp_body(callee_port, [PCMU], 2000 + i).decode(),
                }
            )
        for start in range(0, len(specs), 100):
            reply = self._request(
                {"op": "add", "calls": specs[start : start + 100], "record": True}
            )
            for made in reply["calls"]:
                i = len(self.ids)
                caller_port, callee_port = generator_ports(self.gen_base, i)
                caller_remote, caller_pts = sdp_media(made["caller_answer"].encode())
                callee_remote, _ = sdp_media(made["callee_offer"].encode())
                self.ids.append(made["id"])
                self.legs.append(
                    CallLegs(
                        Leg(caller_port, caller_remote, caller_pts[0]),
                        Leg(callee_port, callee_remote, PCMU),
                    )
                )
        return list(self.legs)

    def cpu_seconds(self) -> float:
        return self.daemon.cpu_seconds()

    def counters(self) -> dict[str, float]:
        try:
            status = self._request({"op": "status"})
        except (OSError, ProcessError, ValueError):
            return {}
        return {"late_ticks": status["late_ticks"], "recorded_bytes": status["recorded_bytes"]}

    def stop(self) -> None:
        if self.sock is not None:
            try:
                self._request({"op": "quit"})
            except (OSError, ProcessError, ValueError):
                pass
            self.sock.close()
        self.daemon.stop(grace=10.0)


class RtpengineTarget(Target):
    server = "rtpengine"

    def __init__(self, workdir: Path, gen_base: int, rtp_ports):
        self.gen_base = gen_base
        self.recording_dir = workdir / "rtpengine-recordings"
        self.rtpengine = Rtpengine(
            workdir,
            ng_port=free_port(),
            rtp_ports=rtp_ports,
            recording_dir=self.recording_dir,
        )
        self.label = f"rtpengine {rtpengine_version()} (Debian, userspace, table=-1)"
        self.legs: list[CallLegs] = []
        self.call_ids: list[str] = []
        self._serial = 0

    def start(self) -> None:
        self.rtpengine.start()
        self.threads = self.rtpengine.threads or 1

    def row_note(self, row: str) -> str | None:
        if row == "transcoding":
            return "offer with codec transcode PCMA; the callee answers PCMA"
        if row == "recording":
            return (
                "rtpengine records with its pcap method: the raw RTP into pcap files, no "
                "decoding (pbxd decodes both legs and writes WAV)"
            )
        return None

    def unsupported(self, row: str) -> str | None:
        if row != "transcoding":
            return None
        codecs = rtpengine_codecs()
        missing = [c for c in ("PCMU", "PCMA") if codecs.get(c) != "fully supported"]
        if missing:
            return (
                f"this rtpengine build cannot transcode {'/'.join(missing)} "
                f"(rtpengine --codecs: {[codecs.get(c, 'absent') for c in missing]})"
            )
        return None

    def set_calls(self, count: int) -> list[CallLegs]:
        ng = self.rtpengine.ng
        assert ng is not None
        while len(self.call_ids) > count:
            ng.command("delete", call_id=self.call_ids.pop(), from_tag="caller")
            self.legs.pop()
        for i in range(len(self.call_ids), count):
            caller_port, callee_port = generator_ports(self.gen_base, i)
            self._serial += 1
            call_id = f"bench-{self._serial}"
            extra: dict = {}
            callee_pt = PCMU
            if self.row == "transcoding":
                extra["codec"] = {"transcode": ["PCMA"]}
                callee_pt = PCMA
            elif self.row == "recording":
                extra["record call"] = "yes"
            offer = ng.command(
                "offer",
                call_id=call_id,
                from_tag="caller",
                sdp=sdp_body(caller_port, [PCMU], 1000 + i).decode(),
                **extra,
            )
            callee_remote, offered = sdp_media(offer["sdp"].encode())
            if callee_pt not in offered:
                raise NgError(f"rtpengine's offer lacks payload type {callee_pt}: {offered}")
            answer = ng.command(
                "answer",
                call_id=call_id,
                from_tag="caller",
                to_tag="callee",
                sdp=sdp_body(callee_port, [callee_pt], 2000 + i).decode(),
            )
            caller_remote, answered = sdp_media(answer["sdp"].encode())
            self.call_ids.append(call_id)
            self.legs.append(
                CallLegs(
                    Leg(caller_port, caller_remote, answered[0]),
                    Leg(callee_port, callee_remote, callee_pt),
                )
            )
        return list(self.legs)

    def end_row(self) -> None:
        self.set_calls(0)

    def cpu_seconds(self) -> float:
        return self.rtpengine.cpu_seconds()

    def counters(self) -> dict[str, float]:
        size = sum(p.stat().st_size for p in self.recording_dir.rglob("*") if p.is_file())
        return {"recorded_bytes": size}

    def stop(self) -> None:
        # No call may be left at shutdown (rtpengine.py: a recording one crashes it).
        try:
            if self.rtpengine.ng is not None:
                self.set_calls(0)
        except (NgError, OSError):
            pass
        self.rtpengine.stop()


# -- one step ---------------------------------------------------------------------------------


@dataclass
class Step:
    calls: int
    expected: int = 0
    lost: int = 0
    late: int = 0
    crossed: int = 0
    duplicates: int = 0
    bad_calls: int = 0  # calls with >= 1 % lost + late
    worst_call: float = 0.0
    delay_p50: float = math.nan  # ms, median leg
    delay_p99: float = math.nan  # ms, median of the legs' p99
    delay_max: float = math.nan  # ms, worst packet
    target_cpu: float = 0.0  # % of one core
    generator_cpu: float = 0.0
    generator_lag_p99: float = 0.0  # ms
    other_cpu: float = 0.0
    udp_drops: int = 0  # machine-wide receive-buffer drops during the run
    sent: int = 0  # packets the generator sent in the whole run (warm-up included)
    setup_seconds: float = 0.0
    counters: dict = field(default_factory=dict)
    error: str | None = None

    @property
    def bad_ratio(self) -> float:
        return (self.lost + self.late) / self.expected if self.expected else 1.0

    @property
    def passed(self) -> bool:
        return (
            self.error is None
            and self.expected > 0
            and self.bad_ratio < MAX_LOSS_RATIO
            and self.crossed == 0
        )

    @property
    def generator_limited(self) -> bool:
        return (
            self.generator_lag_p99 > GENERATOR_LAG_LIMIT_MS
            or self.generator_cpu > GENERATOR_CPU_LIMIT
        )

    @property
    def cpu_per_call(self) -> float:
        return self.target_cpu / self.calls if self.calls else math.nan


def _udp_receive_errors() -> int:
    """RcvbufErrors of /proc/net/snmp (all UDP sockets of the machine)."""
    lines = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines()]
    udp = [fields for fields in lines if fields and fields[0] == "Udp:"]
    if len(udp) < 2:
        return 0
    return int(dict(zip(udp[0][1:], udp[1][1:], strict=False)).get("RcvbufErrors", 0))


def run_generator(
    workdir: Path,
    legs: Sequence[CallLegs],
    options: MediaOptions,
    salt: int,
    sample: Callable[[], tuple[float, float]],
) -> tuple[dict, tuple[float, float, float], tuple[float, float, float]]:
    """Run rtp_load.py; returns its result and (target CPU, generator CPU, time) samples at
    the start and end of the measured part. `sample()` gives (target CPU, busy CPU)."""
    spec = {
        "legs": [
            {"port": leg.port, "remote": list(leg.remote), "pt": leg.pt}
            for call in legs
            for leg in (call.caller, call.callee)
        ],
        "warmup": options.warmup,
        "seconds": options.seconds,
        "drain": options.drain,
        "late_ms": options.late_ms,
        "salt": salt,
    }
    spec_path, out_path = workdir / "rtp_load-spec.json", workdir / "rtp_load-out.json"
    spec_path.write_text(json.dumps(spec))
    out_path.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with open(workdir / "rtp_load.log", "ab") as errors:
        proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.rtp_load", str(spec_path), str(out_path)],
            stdout=subprocess.PIPE,
            stderr=errors,
            cwd=REPO,
            env=env,
            start_new_session=True,
        )
    marks: dict[str, tuple[float, float, float, float]] = {}
    deadline = time.monotonic() + options.warmup + options.seconds + options.drain + 60
    try:
        assert proc.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ)
        while True:
            if not selector.select(timeout=max(deadline - time.monotonic(), 0)):
                raise ProcessError("the RTP load generator did not finish in time")
            line = proc.stdout.readline().strip().decode()
            if not line:
                break
            if line in ("MEASURE", "SENT"):
                target, busy = sample()
                marks[line] = (target, group_cpu_seconds(proc.pid), busy, time.monotonic())
        selector.close()
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if code != 0 or not out_path.exists():
        tail = (workdir / "rtp_load.log").read_text(errors="replace")[-2000:]
        raise ProcessError(f"the RTP load generator failed (status {code}):\n{tail}")
    if set(marks) != {"MEASURE", "SENT"}:
        raise ProcessError("the RTP load generator did not report its measured part")
    return json.loads(out_path.read_text()), marks["MEASURE"], marks["SENT"]


def measure_step(
    target: Target, count: int, options: MediaOptions, workdir: Path, salt: int
) -> Step:
    step = Step(count)
    began = time.monotonic()
    try:
        legs = target.set_calls(count)
    except (ProcessError, SipUaError, NgError, OSError, ValueError) as exc:
        step.error = f"setting up {count} calls failed: {exc}"
        return step
    step.setup_seconds = time.monotonic() - began
    before = target.counters()
    drops_before = _udp_receive_errors()
    try:
        result, start, end = run_generator(
            workdir, legs, options, salt, lambda: (target.cpu_seconds(), machine_busy_seconds())
        )
    except (ProcessError, OSError, ValueError) as exc:
        step.error = str(exc)
        return step
    step.udp_drops = _udp_receive_errors() - drops_before
    after = target.counters()
    step.counters = {k: after[k] - before.get(k, 0) for k in after if k != "calls"}
    if "calls" in after:
        step.counters["calls"] = after["calls"]
    wall = end[3] - start[3]
    step.target_cpu = 100 * (end[0] - start[0]) / wall
    step.generator_cpu = 100 * (end[1] - start[1]) / wall
    step.other_cpu = max(
        0.0, 100 * ((end[2] - start[2]) - (end[0] - start[0]) - (end[1] - start[1])) / wall
    )
    generator = result["generator"]
    step.generator_lag_p99 = generator["lag_ms_p99"]
    step.sent = generator["sent"]
    per_leg = result["legs"]
    step.expected = sum(leg["expected"] for leg in per_leg)
    step.lost = sum(leg["lost"] for leg in per_leg)
    step.late = sum(leg["late"] for leg in per_leg)
    step.crossed = sum(leg["crossed"] for leg in per_leg)
    step.duplicates = sum(leg["duplicates"] for leg in per_leg)
    call_ratios = [
        (a["lost"] + a["late"] + b["lost"] + b["late"]) / max(a["expected"] + b["expected"], 1)
        for a, b in zip(per_leg[0::2], per_leg[1::2], strict=True)
    ]
    step.bad_calls = sum(ratio >= MAX_LOSS_RATIO for ratio in call_ratios)
    step.worst_call = max(call_ratios, default=0.0)
    delays = [leg["delay_ms"] for leg in per_leg if leg["delay_ms"]["p50"] is not None]
    if delays:
        step.delay_p50 = float(np.median([d["p50"] for d in delays]))
        step.delay_p99 = float(np.median([d["p99"] for d in delays]))
        step.delay_max = max(d["max"] for d in delays)
    if generator["send_errors"]:
        step.error = f"{generator['send_errors']} sends refused (ICMP unreachable: target gone?)"
    return step


def describe(step: Step, server: str) -> str:
    if step.error is not None and not step.expected:
        return f"{step.calls:5d} calls: ERROR {step.error}"
    verdict = "ok" if step.passed else "FAIL"
    counters = "".join(
        f", {name.replace('_', ' ')} {value:.0f}"
        for name, value in step.counters.items()
        if name in ("late_ticks",) and value
    )
    text = (
        f"{step.calls:5d} calls: lost {100 * step.lost / max(step.expected, 1):.2f} %, "
        f"late {100 * step.late / max(step.expected, 1):.2f} % of {step.expected} packets, "
        f"{step.bad_calls} calls >= 1 % (worst {100 * step.worst_call:.1f} %); "
        f"delay p50/p99/max {step.delay_p50:.1f}/{step.delay_p99:.1f}/{step.delay_max:.0f} ms; "
        f"{server} CPU {step.target_cpu:.0f} % ({step.cpu_per_call:.3f} %/call); "
        f"generator CPU {step.generator_cpu:.0f} %, lag p99 {step.generator_lag_p99:.1f} ms; "
        f"other {step.other_cpu:.0f} %{counters}"
    )
    recorded = step.counters.get("recorded_bytes")
    if recorded:
        text += f"; recorded {recorded / 1e6:.1f} MB"
    taken_in = step.counters.get("rtp_in")
    if taken_in is not None and step.sent and taken_in < 0.9995 * step.sent:
        text += f"; {server} took in {100 * taken_in / step.sent:.2f} % of the packets sent"
    if step.udp_drops:
        text += f"; UDP receive-buffer drops {step.udp_drops} (machine-wide)"
    if step.crossed:
        text += f"; {step.crossed} PACKETS DELIVERED TO THE WRONG CALL"
    text += f"; setup {step.setup_seconds:.1f} s  {verdict}"
    if step.error:
        text += f" ({step.error})"
    if step.other_cpu > OTHER_CPU_WARNING:
        text += " [WARNING: other processes busy: disturbed]"
    return text


# -- a ramp: one target, one row -----------------------------------------------------------------


@dataclass
class Ramp:
    label: str
    server: str
    steps: list[Step] = field(default_factory=list)
    error: str | None = None
    unsupported: str | None = None  # why this row has no figure for this target (not an error)
    limit: str = ""

    @property
    def best(self) -> Step | None:
        passed = [s for s in self.steps if s.passed]
        return max(passed, key=lambda s: s.calls) if passed else None

    @property
    def capacity(self) -> int | None:
        best = self.best
        return None if best is None else best.calls

    @property
    def valid(self) -> bool:
        return self.unsupported is not None or self.best is not None


def ramp(
    target: Target,
    row: str,
    options: MediaOptions,
    workdir: Path,
    log: Callable[[str], None],
    salt: list[int],
) -> Ramp:
    result = Ramp(target.label, target.server)
    target.begin_row(row)
    ladder = _ladder(options)

    def run(count: int) -> Step:
        salt[0] += 1
        step = measure_step(target, count, options, workdir, salt[0])
        result.steps.append(step)
        log(f"    {row:11s} {describe(step, target.server)}")
        return step

    failed: Step | None = None
    for count in ladder:
        step = run(count)
        if not step.passed:
            failed = step
            break
    # A failure while other processes loaded the machine is repeated once.
    if failed is not None and failed.error is None and failed.other_cpu > OTHER_CPU_WARNING:
        step = run(failed.calls)
        failed = None if step.passed else step
        if failed is None:
            for count in [n for n in ladder if n > step.calls]:
                step = run(count)
                if not step.passed:
                    failed = step
                    break
    # Then halve the interval between the last pass and the first failure, twice at most (in
    # steps of 25 calls); when nothing passed, go down to 25 and 10 calls. Not after an error,
    # nor when the generator could not keep up (the figure is then a lower bound anyway).
    for _ in range(MAX_REFINEMENTS):
        if failed is None or failed.error is not None:
            break
        best = result.best
        if best is not None and failed.generator_limited:
            break
        if best is None:
            lower = [n for n in (25, 10) if n < failed.calls]
            if not lower:
                break
            step = run(lower[0])
        else:
            middle = round((best.calls + failed.calls) / 2 / 25) * 25
            if not best.calls < middle < failed.calls:
                break
            step = run(middle)
        if not step.passed:
            failed = step
    try:
        target.end_row()
    except (ProcessError, SipUaError, NgError, OSError) as exc:
        log(f"    note: tearing the calls down failed: {exc}")
    result.limit = _limit(result, failed, target)
    if result.best is None:
        result.error = failed.error if failed is not None and failed.error else "no step passed"
    return result


def _ladder(options: MediaOptions) -> list[int]:
    return [n for n in LADDER if n < options.max_calls] + [options.max_calls]


def _limit(result: Ramp, failed: Step | None, target: Target) -> str:
    if failed is None:
        best = result.best
        return f"not reached: {best.calls if best else 0} calls passed (--media-max-calls)"
    if failed.error and ("503" in failed.error or "MediaOverloaded" in failed.error):
        return (
            f"admission control: {target.server} refused calls on the way to {failed.calls} "
            "(503: its one media thread was above 85 % of a core)"
        )
    if failed.error:
        return f"error at {failed.calls} calls: {failed.error}"
    if failed.crossed:
        return f"packets delivered to the wrong call at {failed.calls} calls (a bug)"
    why = (
        f"{100 * failed.bad_ratio:.1f} % lost+late at {failed.calls} calls "
        f"({100 * failed.lost / failed.expected:.1f} % lost, "
        f"{100 * failed.late / failed.expected:.1f} % late)"
    )
    shares = (
        f"{failed.target_cpu:.0f} % {target.server}, {failed.generator_cpu:.0f} % generator, "
        f"{failed.other_cpu:.0f} % other processes"
    )
    if target.threads <= 1 and failed.target_cpu >= 85:
        return f"{target.server}'s single core ({shares}): {why}"
    if failed.other_cpu > OTHER_CPU_WARNING:
        return (
            f"other processes on the machine ({shares}): {why}; the figure is disturbed, a "
            "lower bound"
        )
    if failed.generator_limited:
        return (
            f"the load generator's sending (send lag p99 {failed.generator_lag_p99:.1f} ms; "
            f"{shares}): {why}; the figure is a lower bound"
        )
    if failed.target_cpu + failed.generator_cpu + failed.other_cpu >= 170:
        return f"the machine's 2 cores ({shares}): {why}; the figure is a lower bound"
    ticks = failed.counters.get("late_ticks")
    tick_note = f", {ticks:.0f} media ticks restarted (> 200 ms behind)" if ticks else ""
    return (
        f"delay, not CPU ({failed.target_cpu:.0f} % {target.server}){tick_note}: {why}, "
        f"delay p99 {failed.delay_p99:.1f} ms, max {failed.delay_max:.0f} ms"
    )


# -- the benchmark ------------------------------------------------------------------------------


@dataclass
class MediaComparison:
    """Every row for pbxd and the peer, and the RESULT lines."""

    ours: dict[str, Ramp]
    peer: dict[str, Ramp]

    @property
    def ok(self) -> bool:
        return all(r.valid for r in (*self.ours.values(), *self.peer.values()))

    def result_lines(self) -> list[str]:
        lines = []
        for row in ROWS:
            ours, peer = self.ours.get(row), self.peer.get(row)
            a = ours.capacity if ours else None
            b = peer.capacity if peer else None
            lines.append(
                f"RESULT media_calls_{row} {_fmt(a)} calls peer={_fmt(b)} ratio={_fmt_ratio(a, b)}"
            )
        for row in ROWS:
            a, b = _cpu_per_call(self.ours.get(row), self.peer.get(row))
            name = "media_cpu_per_call" + ("" if row == "plain" else f"_{row}")
            lines.append(f"RESULT {name} {_fmt(a)} % peer={_fmt(b)} ratio={_fmt_ratio(a, b)}")
        return lines

    def cpu_notes(self) -> list[str]:
        notes = []
        for row in ROWS:
            ours, peer = self.ours.get(row), self.peer.get(row)
            count = _common_calls(ours, peer)
            if count is not None:
                notes.append(f"{row}: CPU per call compared at {count} calls (both passed)")
            elif (ours and ours.best) or (peer and peer.best):
                notes.append(f"{row}: CPU per call at each target's largest passing step")
        return notes


def _common_calls(ours: Ramp | None, peer: Ramp | None) -> int | None:
    if ours is None or peer is None:
        return None
    common = {s.calls for s in ours.steps if s.passed} & {s.calls for s in peer.steps if s.passed}
    return max(common) if common else None


def _cpu_per_call(ours: Ramp | None, peer: Ramp | None) -> tuple[float | None, float | None]:
    count = _common_calls(ours, peer)

    def at(r: Ramp | None) -> float | None:
        if r is None:
            return None
        if count is not None:
            step = next(s for s in r.steps if s.passed and s.calls == count)
        else:
            step = r.best
        return None if step is None else step.cpu_per_call

    return at(ours), at(peer)


def _fmt(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"


def _fmt_ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or not b or math.isnan(a) or math.isnan(b):
        return "n/a"
    return f"{a / b:.2f}" if a / b >= 0.1 else f"{a / b:.3f}"


def run(settings: Settings, options: MediaOptions | None = None) -> MediaComparison:
    options = options or MediaOptions()
    log = settings.log
    workdir = settings.workdir / "media"
    workdir.mkdir(parents=True, exist_ok=True)
    ports_needed = 4 * options.max_calls + 200
    gen_base = free_port_range(4 * options.max_calls, low=22000, high=32700)[0]
    log(
        f"== media: bridged calls, 2 RTP legs each, G.711 20 ms both ways, from rtp_load.py in "
        f"its own process; pass = lost + late < {100 * MAX_LOSS_RATIO:.0f} % of the packets "
        f"sent in {options.seconds:g} s (after {options.warmup:g} s warm-up), late = more than "
        f"{options.late_ms:g} ms after the leg's fastest packet; steps "
        f"{', '.join(str(n) for n in _ladder(options))} then up to two halving steps; CPU in "
        "% of one core"
    )
    salt = [0]
    peer: dict[str, Ramp] = {}
    ours: dict[str, Ramp] = {}

    def target_range() -> tuple[int, int]:
        return free_port_range(ports_needed, low=12000, high=22000)

    if settings.run_peer:
        peer = _run_target(
            lambda: RtpengineTarget(workdir / "rtpengine", gen_base, target_range()),
            "rtpengine",
            ROWS,
            options,
            workdir,
            log,
            salt,
        )
    if settings.run_pbxd:
        ours.update(
            _run_target(
                lambda: PbxdTarget(settings, workdir / "pbxd", gen_base, target_range()),
                "pbxd",
                ("plain", "transcoding"),
                options,
                workdir,
                log,
                salt,
            )
        )
        ours.update(
            _run_target(
                lambda: HarnessTarget(workdir / "harness", gen_base, target_range(), options),
                "pbxd media harness",
                ("recording",),
                options,
                workdir,
                log,
                salt,
            )
        )
    comparison = MediaComparison(ours, peer)
    for note in comparison.cpu_notes():
        log(f"    note: {note}")
    return comparison


def _run_target(
    make: Callable[[], Target],
    name: str,
    rows: Sequence[str],
    options: MediaOptions,
    workdir: Path,
    log: Callable[[str], None],
    salt: list[int],
) -> dict[str, Ramp]:
    ramps: dict[str, Ramp] = {}
    target: Target | None = None
    try:
        target = make()
        log(f"-- {target.label}")
        target.start()
        if target.threads > 1:
            log(f"    {target.server} runs {target.threads} threads")
        for row in rows:
            reason = target.unsupported(row)
            if reason is not None:
                ramps[row] = Ramp(target.label, target.server, unsupported=reason)
                log(f"    => {row}: n/a: {reason}")
                continue
            note = target.row_note(row)
            if note:
                log(f"    {row}: {note}")
            began = time.monotonic()
            ramps[row] = done = ramp(target, row, options, workdir, log, salt)
            best = done.best
            summary = (
                f"{best.calls} calls, {best.cpu_per_call:.3f} % CPU per call"
                if best
                else f"no figure ({done.error})"
            )
            log(f"    => {row}: {summary}; limit: {done.limit} [{time.monotonic() - began:.0f} s]")
            busiest = max((s.other_cpu for s in done.steps), default=0.0)
            if busiest > OTHER_CPU_WARNING:
                log(
                    f"    WARNING: other processes used up to {busiest:.0f} % of a core during "
                    "this ramp: the machine was not idle, the capacity is disturbed (CPU per "
                    "call less so)"
                )
    except (ProcessError, SipUaError, NgError, OSError) as exc:
        if target is None:
            log(f"-- {name}")
        log(f"    ERROR: {exc}")
        label = target.label if target is not None else name
        for row in rows:
            ramps.setdefault(row, Ramp(label, name, error=str(exc)))
    finally:
        if target is not None:
            target.stop()
    return ramps
