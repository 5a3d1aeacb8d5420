"""Fixtures for end-to-end tests against a real pbxd process and real SIP peers."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .pbxd_process import PbxdProcess
from .sipp import TALK_MS, SippCall, SippProcess, SippResult, free_port, run_sipp, start_sipp

# Extension numbers unique across the session, so that a binding or CDR row left by one test
# can never be mistaken for another's.
_numbers = itertools.count(2001)


@pytest.fixture(scope="module")
def pbxd(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PbxdProcess]:
    """One daemon per test module: fresh data directory, free ports, admin logged in.

    A module may set PBXD_ARGS (a list) for options its peers need, e.g. the digest
    algorithm order for phones that only read the first challenge.
    """
    extra_args = list(getattr(request.module, "PBXD_ARGS", []))
    daemon = PbxdProcess(tmp_path_factory.mktemp("pbxd"), extra_args=extra_args).start()
    try:
        yield daemon
    finally:
        code = daemon.stop()
    # a crash during the module, or an unclean stop, is a failure of its own
    if code != 0:
        pytest.fail(f"pbxd ended with exit status {code} on SIGTERM\n{daemon.log_tail()}")


@pytest.fixture
def new_extension(pbxd: PbxdProcess) -> Callable[[], tuple[str, str]]:
    """Factory: new_extension() creates an extension and returns (number, secret)."""

    def create() -> tuple[str, str]:
        number = str(next(_numbers))
        secret = f"Pw{number}secret"
        pbxd.create_extension(number, secret, f"Test {number}")
        return number, secret

    return create


@pytest.fixture
def unused_number() -> str:
    """A number that no extension has."""
    return str(next(_numbers) + 5000)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    """Attach the daemon's log to every failed test that used it."""
    report = yield
    if report.failed:
        daemon = getattr(item, "funcargs", {}).get("pbxd")
        if isinstance(daemon, PbxdProcess):
            report.sections.append(("pbxd log", daemon.log_tail(20000)))
    return report


@dataclass
class Callee:
    number: str
    uas: SippProcess

    def result(self) -> SippResult:
        return self.uas.wait(timeout=15)


@pytest.fixture
def start_callee(
    pbxd: PbxdProcess, new_extension, tmp_path: Path
) -> Iterator[Callable[[str], Callee]]:
    """Factory: start_callee(scenario) registers a fresh extension from a fresh port, then starts
    the UAS `scenario` on that port. UAS processes still running at teardown are stopped."""
    started: list[SippProcess] = []

    def start(scenario: str, register: str = "register") -> Callee:
        number, secret = new_extension()
        port = free_port()
        registration = run_sipp(
            SippCall(
                register,
                tmp_path,
                port,
                remote=(pbxd.host, pbxd.sip_port),
                user=number,
                password=secret,
                name="callee-register",
                timeout=10,
            )
        )
        assert registration.ok, registration.report()
        uas = start_sipp(
            SippCall(
                scenario,
                tmp_path,
                port,
                user=number,
                password=secret,
                duration_ms=TALK_MS,
                name=f"callee-{scenario}",
                timeout=20,
            )
        )
        started.append(uas)
        return Callee(number, uas.wait_listening())

    yield start
    for uas in started:
        if uas.proc.poll() is None:
            uas.stop()
