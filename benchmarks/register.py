"""Benchmark 1: REGISTER with digest authentication, pbxd against Kamailio.

Every registration is REGISTER -> 401 (challenge) -> REGISTER with Authorization -> 200,
each from the next account of the injection file, all with the same Contact host:port.
"""

from __future__ import annotations

from benchmarks.accounts import make_accounts, write_register_csv
from benchmarks.capacity import measure_capacity
from benchmarks.kamailio import KamailioRegistrar, kamailio_version
from benchmarks.pbxd import Pbxd, pbxd_version
from benchmarks.procs import ProcessError, free_port, free_port_range
from benchmarks.report import Comparison, TargetResult, log_target
from benchmarks.settings import Settings
from benchmarks.sipp import SippClient, SippError

SCENARIO = "register_uac.xml"


def run(settings: Settings) -> Comparison:
    log = settings.log
    accounts = make_accounts(settings.users)
    users_csv = write_register_csv(settings.workdir / "register-users.csv", accounts)
    log(
        f"== register_rate: REGISTER with digest auth (401 + retry), {len(accounts)} accounts "
        f"{accounts[0].number}..{accounts[-1].number}, sipp scenario {SCENARIO}"
    )

    peer = None
    if settings.run_peer:
        label = f"kamailio {kamailio_version()} (children={settings.kamailio_children})"
        log(f"-- peer: {label}, auth_db on db_text, usrloc in memory")
        registrar = KamailioRegistrar(
            settings.workdir,
            accounts,
            port=free_port(),
            children=settings.kamailio_children,
        )
        try:
            registrar.start()
            client = SippClient(SCENARIO, registrar.port, users_csv, settings.workdir)
            capacity = measure_capacity(
                client, seconds=settings.duration, server_cpu=registrar.cpu_seconds, log=log
            )
            peer = TargetResult(label, capacity)
        except (ProcessError, SippError) as exc:
            peer = TargetResult(label, error=str(exc))
        finally:
            registrar.stop()
        log_target(peer, "kamailio", "registrations", log)

    ours = None
    if settings.run_pbxd:
        label = f"pbxd {pbxd_version()}"
        log(f"-- pbxd: {label}")
        pbxd = Pbxd(
            settings.workdir / "register",
            sip_port=free_port(tcp=True),
            http_port=free_port(tcp=True),
            rtp_ports=free_port_range(200),
            command=settings.pbxd_command,
            digest_algorithms=settings.pbxd_digest_algorithms,
        )
        try:
            pbxd.start()
            seconds = pbxd.create_extensions(accounts)
            log(f"    created {len(accounts)} extensions over the REST API in {seconds:.1f} s")
            client = SippClient(SCENARIO, pbxd.sip_port, users_csv, settings.workdir)
            capacity = measure_capacity(
                client, seconds=settings.duration, server_cpu=pbxd.cpu_seconds, log=log
            )
            ours = TargetResult(label, capacity)
        except (ProcessError, SippError) as exc:
            ours = TargetResult(label, error=str(exc))
        finally:
            pbxd.stop()
        log_target(ours, "pbxd", "registrations", log)

    return Comparison("register_rate", "reg/s", ours, peer)
