"""Benchmark 2: call setups per second through a B2BUA, pbxd against the sippy B2BUA.

sipp UAC -> B2BUA -> sipp UAS. Each call: INVITE with a PCMU offer, 100/180/200 with a
PCMU answer, ACK, a hold time (0 by default), BYE, 200. No RTP is sent: this measures
signalling, but both B2BUAs allocate relay ports and rewrite SDP (media anchoring).

pbxd challenges every INVITE (407, ACK, INVITE with Proxy-Authorization) and routes
sip:<ext>@host to the contact that the UAS registered for <ext>. sippy's B2BUA can only
authenticate through RADIUS, so it runs without authentication and with a static route
to the UAS: it does less work per call than pbxd, which the output says.
"""

from __future__ import annotations

from benchmarks.accounts import FIRST_NUMBER, make_accounts, write_call_csv, write_register_csv
from benchmarks.capacity import measure_capacity
from benchmarks.pbxd import Pbxd, pbxd_version
from benchmarks.procs import ProcessError, free_port, free_port_range
from benchmarks.report import Comparison, TargetResult, log_target
from benchmarks.settings import Settings
from benchmarks.sipp import SippClient, SippError, start_uas
from benchmarks.sippy_b2bua import SippyB2bua, rtp_io_version, sippy_version

UAS_SCENARIO = "call_uas.xml"
UAC_SCENARIO_AUTH = "call_uac_auth.xml"
UAC_SCENARIO_PLAIN = "call_uac.xml"
REGISTER_SCENARIO = "register_uac.xml"
# Relay ports: two per call leg pair at most, room for the largest probe (512 calls).
RTP_RANGE_SIZE = 4000


def run(settings: Settings) -> Comparison:
    log = settings.log
    callees = make_accounts(settings.call_parties, first=FIRST_NUMBER)
    callers = make_accounts(settings.call_parties, first=FIRST_NUMBER + settings.call_parties)
    calls_csv = write_call_csv(settings.workdir / "calls.csv", callers, callees)
    log(
        f"== call_setup_rate: INVITE/100/180/200/ACK, hold {settings.hold_ms} ms, BYE/200; "
        f"PCMU offer and answer, no RTP sent; {len(callers)} callers x {len(callees)} callees"
    )
    peer = _run_sippy(settings, calls_csv) if settings.run_peer else None
    ours = _run_pbxd(settings, calls_csv, callers, callees) if settings.run_pbxd else None
    return Comparison("call_setup_rate", "calls/s", ours, peer)


def _run_sippy(settings: Settings, calls_csv) -> TargetResult:
    log = settings.log
    label = f"sippy b2bua {sippy_version()}"
    uas_port = free_port()
    b2bua = SippyB2bua(
        settings.workdir,
        port=free_port(),
        next_hop_port=uas_port,
        rtp_ports=free_port_range(RTP_RANGE_SIZE),
    )
    notes = ["no authentication (sippy does digest auth only through RADIUS)"]
    if b2bua.anchors_rtp:
        notes.append(f"RTP anchored by the embedded rtpproxy of rtp-io {rtp_io_version()}")
    else:
        notes.append("RTP NOT anchored: PyPI package rtp-io missing (pip install rtp-io)")
    notes.append("static route to the UAS (no registrar lookup)")
    log(f"-- peer: {label}")
    uas = None
    try:
        uas = start_uas(UAS_SCENARIO, port=uas_port, workdir=settings.workdir)
        b2bua.start()
        client = SippClient(
            UAC_SCENARIO_PLAIN, b2bua.port, calls_csv, settings.workdir, settings.hold_ms
        )
        capacity = measure_capacity(
            client,
            seconds=settings.duration,
            server_cpu=b2bua.cpu_seconds,
            helper_cpu=uas.cpu_seconds,
            log=log,
        )
        result = TargetResult(label, capacity, notes=tuple(notes))
    except (ProcessError, SippError) as exc:
        result = TargetResult(label, error=str(exc))
    finally:
        b2bua.stop()
        if uas is not None:
            uas.stop()
    log_target(result, "sippy b2bua", "calls", log)
    return result


def _run_pbxd(settings: Settings, calls_csv, callers, callees) -> TargetResult:
    log = settings.log
    label = f"pbxd {pbxd_version()}"
    notes = (
        "every INVITE challenged (407, ACK, INVITE with Proxy-Authorization)",
        "callee found in the registrar (contacts registered by the UAS)",
    )
    log(f"-- pbxd: {label}")
    workdir = settings.workdir / "calls"
    pbxd = Pbxd(
        workdir,
        sip_port=free_port(tcp=True),
        http_port=free_port(tcp=True),
        rtp_ports=free_port_range(RTP_RANGE_SIZE),
        command=settings.pbxd_command,
    )
    uas = None
    try:
        pbxd.start()
        seconds = pbxd.create_extensions([*callees, *callers])
        log(f"    created {len(callees) + len(callers)} extensions in {seconds:.1f} s")
        # The UAS registers every callee with its own address as the contact, from the
        # port it will then answer on.
        uas_port = free_port()
        callee_csv = write_register_csv(settings.workdir / "callees.csv", callees)
        registrar = SippClient(
            REGISTER_SCENARIO, pbxd.sip_port, callee_csv, settings.workdir, local_port=uas_port
        )
        ok, failed = registrar.run_calls(len(callees))
        if ok != len(callees):
            raise SippError(
                f"only {ok} of {len(callees)} callee REGISTERs succeeded ({failed} failed); "
                f"see {settings.workdir}/register_uac-m*-errors.log"
            )
        log(f"    registered {ok} callees at udp:127.0.0.1:{uas_port}")
        uas = start_uas(UAS_SCENARIO, port=uas_port, workdir=settings.workdir)
        client = SippClient(
            UAC_SCENARIO_AUTH, pbxd.sip_port, calls_csv, settings.workdir, settings.hold_ms
        )
        capacity = measure_capacity(
            client,
            seconds=settings.duration,
            server_cpu=pbxd.cpu_seconds,
            helper_cpu=uas.cpu_seconds,
            log=log,
        )
        result = TargetResult(label, capacity, notes=notes)
    except (ProcessError, SippError) as exc:
        result = TargetResult(label, error=str(exc))
    finally:
        if uas is not None:
            uas.stop()
        pbxd.stop()
    log_target(result, "pbxd", "calls", log)
    return result
