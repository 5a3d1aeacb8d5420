"""`python -m benchmarks` (what `make bench` runs): pbxd side by side with reference peers.

Prints, per benchmark, the probe and measured runs of every target, then the lines
`RESULT <name> <value> <unit> peer=<peer value> ratio=<ours/peer>` (rate, then work per
CPU-second of the target; for media: calls carried per row, then CPU per call). Exit status
0 only if every target that was run gave a valid figure. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import agent_page, calls, media, register
from benchmarks.capacity import PROBE_SECONDS
from benchmarks.procs import cpu_count
from benchmarks.report import Comparison
from benchmarks.settings import Settings
from benchmarks.sipp import SippError, sipp_version

SUITES = {
    "register": register.run,
    "calls": calls.run,
    "media": media.run,
    "agent": agent_page.run,  # screen pop and WebRTC setup in Chromium (issue 7)
}
SIPP_SUITES = ("register", "calls")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmarks of pbxd against Kamailio (REGISTER), sippy (calls) and "
        "rtpengine (media).",
    )
    parser.add_argument(
        "--only",
        choices=sorted(SUITES),
        action="append",
        help="run only this benchmark (repeatable); default: all",
    )
    parser.add_argument(
        "--duration",
        type=int,
        default=20,
        help=f"seconds of the measured run per target, after {PROBE_SECONDS} s probes (default 20)",
    )
    parser.add_argument(
        "--users", type=int, default=500, help="accounts for the REGISTER benchmark (default 500)"
    )
    parser.add_argument(
        "--call-parties",
        type=int,
        default=10,
        help="callers, and as many callees, for the call benchmark (default 10)",
    )
    parser.add_argument(
        "--hold-ms", type=int, default=0, help="pause between ACK and BYE in ms (default 0)"
    )
    parser.add_argument(
        "--kamailio-children",
        type=int,
        default=None,
        help="Kamailio UDP worker processes (default: number of cores)",
    )
    parser.add_argument(
        "--pbxd-cmd",
        default=None,
        help="command that starts pbxd (default: the venv's pbxd script)",
    )
    parser.add_argument(
        "--pbxd-digest-algorithms",
        default="MD5",
        metavar="LIST",
        help="pbxd --digest-algorithms (default MD5: sipp 3.6 only does MD5 and reads the first "
        "challenge; Kamailio offers one MD5 challenge); '' to leave the option out",
    )
    parser.add_argument(
        "--media-seconds",
        type=float,
        default=4.0,
        help="measured seconds of each media step, after 1 s warm-up (default 4)",
    )
    parser.add_argument(
        "--media-max-calls",
        type=int,
        default=800,
        help="largest number of concurrent calls a media step tries (default 800)",
    )
    parser.add_argument(
        "--media-record-format",
        default="wav-pcm16",
        choices=("wav-pcm16", "wav-pcmu", "wav-pcma", "wav-gsm"),
        help="pbxd's recording format in the media benchmark (default wav-pcm16, 2 channels; "
        "wav-gsm is recorded mono)",
    )
    parser.add_argument(
        "--agent-calls",
        type=int,
        default=30,
        help="calls to the agent page for the pop and WebRTC set-up figures (default 30)",
    )
    parser.add_argument("--no-peer", action="store_true", help="measure pbxd only")
    parser.add_argument("--no-pbxd", action="store_true", help="measure the peers only")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the work directory (logs, configs, sipp statistics)",
    )
    return parser.parse_args(argv)


def log(line: str) -> None:
    print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="coocenter-bench-"))
    cores = cpu_count()
    try:
        settings = Settings(
            workdir=workdir,
            duration=args.duration,
            users=args.users,
            call_parties=args.call_parties,
            hold_ms=args.hold_ms,
            kamailio_children=args.kamailio_children or cores,
            pbxd_command=tuple(shlex.split(args.pbxd_cmd)) if args.pbxd_cmd else None,
            pbxd_digest_algorithms=args.pbxd_digest_algorithms or None,
            run_peer=not args.no_peer,
            run_pbxd=not args.no_pbxd,
            log=log,
        )
        media_options = media.MediaOptions(
            seconds=args.media_seconds,
            max_calls=args.media_max_calls,
            record_format=args.media_record_format,
            record_channels=1 if args.media_record_format == "wav-gsm" else 2,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    suites = args.only or list(SUITES)
    uses_sipp = any(name in SIPP_SUITES for name in suites)

    sipp = "not used"
    if uses_sipp:
        try:
            sipp = sipp_version()
        except SippError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    log(
        f"host: {platform.node()} {platform.machine()}, {cores} cores usable "
        f"(os.cpu_count {os.cpu_count()}), load average {os.getloadavg()[0]:.2f}; "
        f"python {platform.python_version()}; sipp {sipp}"
    )
    if uses_sipp:
        log(
            "method: closed loop on 127.0.0.1/UDP; sipp keeps N calls in flight, N doubled "
            f"from 8 in {PROBE_SECONDS} s probes while the rate grows > 5 % with < 1 % failed "
            f"and < 0.1 % retransmitted; then a {settings.duration} s run at the best N (first "
            "2 s warm-up), valid with < 1 % failed and < 1 % retransmitted. sipp and the target "
            "share the cores."
        )
    log(f"work directory: {workdir}")

    began = time.monotonic()
    results: list[Comparison | media.MediaComparison | agent_page.AgentPageResult] = []
    for name in suites:
        if name == "media":
            comparison = media.run(settings, media_options)
        elif name == "agent":
            comparison = agent_page.run(args.agent_calls, log=log)
        else:
            comparison = SUITES[name](settings)
        results.append(comparison)
        for line in comparison.result_lines():
            log(line)
        log("")
    log(f"total time {time.monotonic() - began:.0f} s")

    ok = all(comparison.ok for comparison in results)
    if ok and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        log(f"logs kept in {workdir}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
