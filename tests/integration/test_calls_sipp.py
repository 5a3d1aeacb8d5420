"""Calls between two sipp peers through pbxd, and the CDR row each call leaves.

The callee registers first (register scenario), then a UAS scenario listens on the same port;
the caller runs a UAC scenario with digest credentials. Every test uses fresh extensions, so
no binding or CDR row of another test can interfere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .pbxd_process import PbxdProcess, check_cdr_row, to_epoch
from .sipp import SippCall, SippProcess, SippResult, free_port, run_sipp, start_sipp

pytestmark = pytest.mark.peer

# sipp 3.6 answers only the first challenge, and only MD5: offer it first (both offered)
PBXD_ARGS = ["--digest-algorithms", "MD5,SHA-256"]

TALK_MS = 1500  # how long answered calls last before the BYE


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

    def start(scenario: str) -> Callee:
        number, secret = new_extension()
        port = free_port()
        registration = run_sipp(
            SippCall(
                "register",
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


def place_call(
    pbxd: PbxdProcess,
    workdir: Path,
    caller: tuple[str, str],
    callee_number: str,
    scenario: str,
    transport: str = "udp",
) -> SippResult:
    number, secret = caller
    return run_sipp(
        SippCall(
            scenario,
            workdir,
            free_port(),
            remote=(pbxd.host, pbxd.sip_port),
            transport=transport,
            user=number,
            password=secret,
            service=callee_number,
            duration_ms=TALK_MS,
            name=f"caller-{scenario}",
            timeout=20,
        )
    )


def requests_seen(result: SippResult) -> list[str]:
    return [m.method for m in result.received() if not m.is_response]


def assert_answered_cdr(pbxd: PbxdProcess, caller: str, callee: str, hangup_side: str) -> None:
    row = pbxd.wait_call_cdr(caller, callee)
    check_cdr_row(row)
    assert row["disposition"] == "ANSWERED", row
    assert row["hangup_side"] == hangup_side, row
    # billsec runs from the answer to the BYE: the TALK_MS the scenarios wait in between
    assert abs(float(row["billsec"]) - TALK_MS / 1000) <= 1.0, row
    assert to_epoch(row["answer"]) - to_epoch(row["start"]) < 3.0, row


@pytest.mark.parametrize("caller_transport", ["udp", "tcp"])
def test_answered_call_hung_up_by_the_caller(
    pbxd: PbxdProcess, new_extension, start_callee, tmp_path: Path, caller_transport: str
) -> None:
    caller = new_extension()
    callee = start_callee("uas_answer")

    a = place_call(pbxd, tmp_path, caller, callee.number, "uac_call", caller_transport)
    b = callee.result()

    assert a.ok, a.report()
    assert b.ok, b.report()
    assert a.final_status("INVITE") == 200
    assert a.final_status("BYE") == 200
    assert requests_seen(b) == ["INVITE", "ACK", "BYE"], b.report()
    assert_answered_cdr(pbxd, caller[0], callee.number, hangup_side="caller")


def test_answered_call_hung_up_by_the_callee(
    pbxd: PbxdProcess, new_extension, start_callee, tmp_path: Path
) -> None:
    caller = new_extension()
    callee = start_callee("uas_answer_bye")

    a = place_call(pbxd, tmp_path, caller, callee.number, "uac_call_wait_bye")
    b = callee.result()

    assert a.ok, a.report()
    assert b.ok, b.report()
    assert "BYE" in requests_seen(a), a.report()
    assert b.final_status("BYE") == 200, b.report()
    assert_answered_cdr(pbxd, caller[0], callee.number, hangup_side="callee")


def test_caller_cancels_while_the_callee_rings(
    pbxd: PbxdProcess, new_extension, start_callee, tmp_path: Path
) -> None:
    caller = new_extension()
    callee = start_callee("uas_ring_cancel")

    a = place_call(pbxd, tmp_path, caller, callee.number, "uac_cancel")
    b = callee.result()

    assert a.ok, a.report()
    assert a.final_status("INVITE") == 487, a.report()
    assert a.final_status("CANCEL") == 200, a.report()
    # the CANCEL reached the callee leg, which ended with its own 487 and ACK
    assert b.ok, b.report()
    assert requests_seen(b) == ["INVITE", "CANCEL", "ACK"], b.report()

    row = pbxd.wait_call_cdr(caller[0], callee.number)
    check_cdr_row(row)
    assert row["disposition"] == "CANCELLED", row
    assert row["hangup_side"] == "caller", row


def test_busy_callee_gives_486_to_the_caller(
    pbxd: PbxdProcess, new_extension, start_callee, tmp_path: Path
) -> None:
    caller = new_extension()
    callee = start_callee("uas_busy")

    a = place_call(pbxd, tmp_path, caller, callee.number, "uac_rejected")
    b = callee.result()

    assert a.ok, a.report()
    assert a.final_status("INVITE") == 486, a.report()
    assert b.ok, b.report()

    row = pbxd.wait_call_cdr(caller[0], callee.number)
    check_cdr_row(row)
    assert row["disposition"] == "BUSY", row
    assert row["hangup_side"] == "callee", row


def test_call_to_an_unknown_number_gets_404(
    pbxd: PbxdProcess, new_extension, unused_number: str, tmp_path: Path
) -> None:
    caller = new_extension()

    a = place_call(pbxd, tmp_path, caller, unused_number, "uac_rejected")

    assert a.ok, a.report()
    assert a.final_status("INVITE") == 404, a.report()
    row = pbxd.wait_call_cdr(caller[0], unused_number)
    check_cdr_row(row)
    assert row["disposition"] == "FAILED", row
    assert row["hangup_side"] == "system", row


def test_call_to_an_unregistered_extension_gets_480(
    pbxd: PbxdProcess, new_extension, tmp_path: Path
) -> None:
    caller = new_extension()
    offline, _ = new_extension()  # exists, never registered

    a = place_call(pbxd, tmp_path, caller, offline, "uac_rejected")

    assert a.ok, a.report()
    assert a.final_status("INVITE") == 480, a.report()
    row = pbxd.wait_call_cdr(caller[0], offline)
    check_cdr_row(row)
    assert row["disposition"] == "FAILED", row
    assert row["hangup_side"] == "system", row
